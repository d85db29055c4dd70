"""Version 1's rendering as first issued (commit 1b45e1c): without ``people``.

Version 1 was issued in two shapes. The first release's rendering held ``evaluated_at``,
``matters`` and ``calendar``. Commit e4c4dc2 ("names beside ids") added one member,
``people`` — the registered full name of each person the matters name — and changed
nothing else that version 1 derives: between 1b45e1c and the freeze in ``evidence.v1``
(4931941) the code behind a version-1 rendering changed only in speed (intervals built
directly, instants kept in UTC), never in what it yields. So the first shape is exactly the
frozen derivation without ``people``, compared value by value like the other.

The shape is told by the bundle itself (no ``people`` member: the first release). Nothing
looser follows: either shape is derived in full from the same signed entries, and a
bundle verified by the first shape's rules shows ids where the later one shows names.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from evidence.v1.rendering import rendering as rendering_named

if TYPE_CHECKING:
    from evidence.derive import Derived

# The member e4c4dc2 added to version 1's rendering; the first release derived none.
ADDED_BY_NAMES = "people"


def rendering(
    derived: Derived, matter_ids: Iterable[str], evaluated_at: datetime
) -> dict[str, Any]:
    """The rendering of the bundle's matters at E as the first version-1 release derived it."""
    named = rendering_named(derived, matter_ids, evaluated_at)
    return {key: value for key, value in named.items() if key != ADDED_BY_NAMES}
