"""An undo journal for the in-memory ledger state.

Every change to the state goes through a journal, so that a statement that fails a late
check, a batch group that is dropped, or a transaction that does not commit leaves the
state exactly as it was — the in-memory twin of "rejected data leaves no trace".

Each change is recorded as a plain tuple (what kind of change, its target, the key or
attribute, the old value) rather than a closure: a replay records a few per entry and
rolls back almost never, so recording is what has to be cheap.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

_SET_ITEM, _DELETE_ITEM, _SET_ATTR, _UNAPPEND = range(4)
_MISSING = object()


class Journal:
    """Records how to undo each change; ``rollback`` undoes back to a ``mark``."""

    __slots__ = ("_undo",)

    def __init__(self) -> None:
        self._undo: list[tuple[int, Any, Any, Any]] = []

    def set_item(self, mapping: MutableMapping[Any, Any], key: Any, value: Any) -> None:
        old = mapping.get(key, _MISSING)
        if old is _MISSING:
            self._undo.append((_DELETE_ITEM, mapping, key, None))
        else:
            self._undo.append((_SET_ITEM, mapping, key, old))
        mapping[key] = value

    def set_attr(self, obj: object, name: str, value: Any) -> None:
        self._undo.append((_SET_ATTR, obj, name, getattr(obj, name)))
        setattr(obj, name, value)

    def append(self, items: list[Any], item: Any) -> None:
        items.append(item)
        self._undo.append((_UNAPPEND, items, None, None))

    def mark(self) -> int:
        return len(self._undo)

    def rollback(self, mark: int = 0) -> None:
        """Undo every change made since ``mark``, newest first."""
        undo = self._undo
        while len(undo) > mark:
            kind, target, name, old = undo.pop()
            if kind == _SET_ITEM:
                target[name] = old
            elif kind == _DELETE_ITEM:
                del target[name]
            elif kind == _SET_ATTR:
                setattr(target, name, old)
            else:
                target.pop()

    def commit(self) -> None:
        """Forget the undo records: the changes are now the state."""
        self._undo.clear()
