"""The whole-ledger audit (``ledgerctl verify``): everything re-derived from stored entries.

Streaming over the log in index order, the audit checks each entry's index (dense), leaf
hash and envelope hash against its bytes, that the log table names the entry it holds,
every signature and every verdict against the registry as of the entry's ``occurred_at``
(``ledger.replay``), every subject's ``seq``/``prev`` chain; it recomputes the Merkle tree
(a compact range: memory stays O(log n)) and holds every stored subtree and every stored
checkpoint to it — a checkpoint's signature, its root at its size, and so each one's
consistency with the next. It stops at the first failure and names it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from ledger import merkle
from ledger.entries import leaf_hash
from ledger.errors import IntegrityError
from ledger.merkle import NodeId
from ledger.note import NoteError, Verifier, open_checkpoint, parse_verifier
from ledger.replay import apply_record, verify_signature
from ledger.state import LedgerState
from ledger.statements import LedgerGenesis
from ledger.storage import LogRecord, StoredCheckpoint

NodeReader = Callable[[int, int, int], dict[int, bytes]]  # level, start, end -> idx: hash


@dataclass(frozen=True)
class Failure:
    """The first thing found wrong, and where."""

    problem: str
    index: int | None = None
    subject: str | None = None
    seq: int | None = None
    event_id: str | None = None

    def describe(self) -> str:
        if self.index is None:
            return self.problem
        where = f"entry {self.index}"
        if self.subject is not None:
            where += f" ({self.subject} seq {self.seq}, event {self.event_id})"
        return f"{where}: {self.problem}"


@dataclass
class AuditReport:
    entries: int = 0
    checkpoints: int = 0
    nodes_checked: int = 0
    root: bytes | None = None
    failure: Failure | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failure is None

    def summary(self) -> str:
        if self.failure is not None:
            return f"FAILED: {self.failure.describe()}"
        root = self.root.hex() if self.root else merkle.EMPTY_ROOT.hex()
        return (
            f"OK: {self.entries} entries, {self.checkpoints} checkpoints and "
            f"{self.nodes_checked} stored subtrees verified; tree size {self.entries}, root {root}"
        )


class _CompactRange:
    """The right edge of the tree being rebuilt: O(log n) full subtrees."""

    def __init__(self) -> None:
        self.size = 0
        self.nodes: dict[NodeId, bytes] = {}

    def append(self, leaf: bytes) -> list[tuple[NodeId, bytes]]:
        created = merkle.new_nodes(self.size, leaf, self.nodes)
        self.nodes.update(created)
        self.size += 1
        self.nodes = {node: self.nodes[node] for node in merkle.root_plan(self.size)}
        return created

    def root(self) -> bytes:
        return merkle.root_from(self.size, self.nodes)


def _entry_failure(record: LogRecord, problem: str) -> Failure:
    return Failure(problem, record.index, record.subject, record.seq, record.event_id)


def audit(
    records: Iterable[LogRecord],
    checkpoints: Iterable[StoredCheckpoint],
    *,
    log_verifier: Verifier | None = None,
    stored_nodes: NodeReader | None = None,
    stored_tree_size: int | None = None,
    progress: Callable[[int], None] | None = None,
    page: int = 1024,
) -> AuditReport:
    """Verify a log; ``log_verifier`` defaults to the key the genesis names (self-asserted)."""
    report = AuditReport()
    state = LedgerState()
    tree = _CompactRange()
    pending: Iterator[StoredCheckpoint] = iter(checkpoints)
    next_checkpoint = next(pending, None)
    created: list[tuple[NodeId, bytes]] = []
    unchecked: dict[int, LogRecord] = {}  # entries whose stored leaves are not yet compared
    verifier = log_verifier

    def check_nodes() -> Failure | None:
        nonlocal created, unchecked
        entries, unchecked = unchecked, {}
        if stored_nodes is None or not created:
            created = []
            return None
        limit = tree.size if stored_tree_size is None else min(tree.size, stored_tree_size)
        by_level: dict[int, dict[int, bytes]] = {}
        for (level, idx), value in created:
            if (idx + 1) << level <= limit:
                by_level.setdefault(level, {})[idx] = value
        created = []
        for level, expected in sorted(by_level.items()):
            stored = stored_nodes(level, min(expected), max(expected) + 1)
            for idx, value in sorted(expected.items()):
                if stored.get(idx) != value:
                    what = "missing" if idx not in stored else "different"
                    if level == 0 and idx in entries:
                        return _entry_failure(
                            entries[idx],
                            f"stored tree node (level 0, index {idx}) is {what}: the tree "
                            "holds another leaf for this entry (it was changed, moved or "
                            "inserted, or an earlier one removed)",
                        )
                    return Failure(
                        f"stored tree node (level {level}, index {idx}) is {what}: the "
                        "entries hash to another subtree",
                        index=idx << level,
                    )
                report.nodes_checked += 1
        return None

    def check_checkpoint(checkpoint: StoredCheckpoint) -> Failure | None:
        nonlocal verifier
        assert verifier is not None
        try:
            opened, _ = open_checkpoint(checkpoint.note, verifier)
        except NoteError as e:
            return Failure(f"checkpoint of size {checkpoint.size}: {e}")
        if opened.size != checkpoint.size or opened.root != checkpoint.root:
            return Failure(
                f"checkpoint of size {checkpoint.size}: its note says size {opened.size}, "
                f"root {opened.root.hex()}, but it is stored as root {checkpoint.root.hex()}"
            )
        if tree.root() != checkpoint.root:
            return Failure(
                f"checkpoint of size {checkpoint.size} signs root {checkpoint.root.hex()}, "
                f"but the stored entries 0…{checkpoint.size - 1} hash to {tree.root().hex()}"
            )
        report.checkpoints += 1
        return None

    try:
        for record in records:
            try:
                _check_log_row(record)
                verdict = apply_record(state, record, verify_signature)
            except IntegrityError as e:
                problem = str(e).split(": ", 1)[1] if str(e).startswith("entry ") else str(e)
                # An earlier entry may already disagree with the stored tree: name that one.
                _stop_on(check_nodes() or _entry_failure(record, problem))
            if record.index == 0:
                body = verdict.entry.envelope.statement.body
                assert isinstance(body, LedgerGenesis)
                if verifier is None:
                    verifier = parse_verifier(body.log_vkey)
                    report.notes.append(
                        "trusted the log key the genesis names (self-asserted); pass the "
                        "log's vkey to verify against a key you hold"
                    )
                elif body.log_vkey != verifier.vkey:
                    _stop_on(
                        _entry_failure(
                            record,
                            f"the genesis names log key {body.log_vkey}, not {verifier.vkey}",
                        )
                    )
            created.extend(tree.append(leaf_hash(record.entry)))
            unchecked[record.index] = record
            report.entries += 1
            while next_checkpoint is not None and next_checkpoint.size == tree.size:
                # Entries first: a bad entry is named as such, not as a checkpoint mismatch.
                _stop_on(check_nodes() or check_checkpoint(next_checkpoint))
                next_checkpoint = next(pending, None)
            if next_checkpoint is not None and next_checkpoint.size < tree.size:
                _stop_on(Failure(f"checkpoint of size {next_checkpoint.size} is out of order"))
            if tree.size % page == 0:
                _stop_on(check_nodes())
                if progress is not None:
                    progress(tree.size)
        _stop_on(check_nodes())
        if progress is not None:
            progress(tree.size)
        if next_checkpoint is not None:
            _stop_on(
                Failure(
                    f"checkpoint of size {next_checkpoint.size} was signed, but the log holds "
                    f"only {tree.size} entries: entries were removed from the end"
                )
            )
        if stored_tree_size is not None and stored_tree_size > tree.size:
            _stop_on(
                Failure(
                    f"the stored tree holds {stored_tree_size} leaves but the log only "
                    f"{tree.size} entries"
                )
            )
    except _Stop as stop:
        report.failure = stop.failure
        return report
    report.root = tree.root() if tree.size else None
    return report


class _Stop(Exception):
    """Internal: the audit found its first failure."""

    def __init__(self, failure: Failure) -> None:
        self.failure = failure


def _stop_on(failure: Failure | None) -> None:
    if failure is not None:
        raise _Stop(failure)


def _check_log_row(record: LogRecord) -> None:
    """The log table's columns name the entry its bytes hold (a swap shows here)."""
    try:
        statement = json.loads(record.entry)["statement"]
        named = (statement["event_id"], statement["subject"], statement["seq"])
    except (ValueError, KeyError, TypeError):
        return  # the bytes are checked next, with a precise complaint
    if named != (record.event_id, record.subject, record.seq):
        raise IntegrityError(
            f"the log table indexes {record.subject} seq {record.seq} ({record.event_id}) "
            f"here, but the stored bytes are {named[1]} seq {named[2]} ({named[0]})",
            index=record.index,
        )
