"""An undo journal for the in-memory ledger state.

Every change to the state goes through a journal, so that a statement that fails a late
check, a batch group that is dropped, or a transaction that does not commit leaves the
state exactly as it was — the in-memory twin of "rejected data leaves no trace".
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any


class Journal:
    """Records how to undo each change; ``rollback`` undoes back to a ``mark``."""

    __slots__ = ("_undo",)

    def __init__(self) -> None:
        self._undo: list[Callable[[], Any]] = []

    def set_item(self, mapping: MutableMapping[Any, Any], key: Any, value: Any) -> None:
        if key in mapping:
            old = mapping[key]
            self._undo.append(lambda: mapping.__setitem__(key, old))
        else:
            self._undo.append(lambda: mapping.pop(key))
        mapping[key] = value

    def set_attr(self, obj: object, name: str, value: Any) -> None:
        old = getattr(obj, name)
        self._undo.append(lambda: setattr(obj, name, old))
        setattr(obj, name, value)

    def append(self, items: list[Any], item: Any) -> None:
        items.append(item)
        self._undo.append(items.pop)

    def mark(self) -> int:
        return len(self._undo)

    def rollback(self, mark: int = 0) -> None:
        """Undo every change made since ``mark``, newest first."""
        while len(self._undo) > mark:
            self._undo.pop()()

    def commit(self) -> None:
        """Forget the undo records: the changes are now the state."""
        self._undo.clear()
