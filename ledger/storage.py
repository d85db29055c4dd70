"""Storage on the eventsourcing library, with a dense log index (DESIGN §5).

Each accepted entry is one stored event of the library: ``originator_id`` is the subject,
``originator_version`` is ``seq``, ``topic`` is the statement type and ``state`` is the
entry's exact bytes. Beside the library's events table, a log table gives every stored
event its **log index** 0, 1, 2, … — assigned inside the transaction that stores the event
and under the library's own write lock, so indexes are dense even where the library's
notification ids have gaps (PostgreSQL), and the index order is the commit order.

The recorders subclass the library's application recorders and pass its conformance
tests; the dense index is assigned in the one method every insert goes through.
``append`` adds what the ledger needs on top: it takes the write lock first, lets the
caller read everything committed before it (catch-up, idempotency) and decide what to
store, all in the same transaction.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from eventsourcing.persistence import ApplicationRecorder, StoredEvent
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresDatastore,
)
from eventsourcing.sqlite import (
    SQLiteApplicationRecorder,
    SQLiteCursor,
    SQLiteDatastore,
    SQLiteTransaction,
)
from psycopg.errors import DuplicateObject
from psycopg.sql import SQL, Identifier

from ledger import merkle
from ledger.errors import ConfigurationError, IntegrityError
from ledger.merkle import NodeId

# pg_advisory_lock key serialising table creation across processes ("ledger" in ASCII).
_CREATE_TABLE_LOCK = 0x6C6564676572
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

_COLUMNS = (
    "l.log_index, l.notification_id, l.event_id, l.subject, l.seq, l.leaf_hash, "
    "l.envelope_hash, l.recorded_at"
)


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One stored entry and its place in the log."""

    index: int
    event_id: str
    subject: str
    seq: int
    leaf_hash: bytes
    envelope_hash: bytes
    recorded_at: str
    entry: bytes


@dataclass(frozen=True, slots=True)
class NewEntry:
    """An entry to store: its bytes and what the log table indexes it by."""

    event_id: str
    type: str
    subject: str
    seq: int
    leaf_hash: bytes
    envelope_hash: bytes
    recorded_at: str
    entry: bytes


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    """A signed checkpoint as kept: its size, root and the whole signed note."""

    size: int
    root: bytes
    note: str
    signed_at: str


def _checkpoint(row: Any) -> StoredCheckpoint:
    return StoredCheckpoint(
        int(row["tree_size"]), bytes(row["root"]), str(row["note"]), str(row["signed_at"])
    )


class WriteSession(Protocol):
    """What a writer sees inside the storing transaction, after taking the write lock."""

    @property
    def last_index(self) -> int: ...

    @property
    def last_recorded_at(self) -> str | None: ...

    def records_after(self, index: int) -> Iterator[LogRecord]: ...

    def find_event(self, event_id: str) -> LogRecord | None: ...

    def find_events(self, event_ids: Sequence[str]) -> dict[str, LogRecord]: ...


Builder = Callable[[WriteSession], Sequence[NewEntry]]


def _numbered(row: Any) -> tuple[int, LogRecord]:
    """A row of ``SELECT {_COLUMNS}, e.state``: its notification id and its record.

    By position, not by name (every replayed entry comes through here, and a lookup by
    name costs more than the rest): a ``sqlite3.Row`` is a sequence, a psycopg dict row
    keeps the query's column order in ``values()``.
    """
    values = row.values() if isinstance(row, dict) else row
    index, notification_id, event_id, subject, seq, leaf, envelope, recorded_at, state = values
    record = LogRecord(
        index, event_id, subject, seq, bytes(leaf), bytes(envelope), recorded_at, bytes(state)
    )
    return int(notification_id), record


def _record(row: Any) -> LogRecord:
    return _numbered(row)[1]


class _Session:
    def __init__(self, recorder: LedgerRecorder, cursor: Any, *, head_read: bool = False) -> None:
        """``head_read``: the caller has just run ``sql_last`` on ``cursor``."""
        self._recorder = recorder
        self._cursor = cursor
        if not head_read:
            cursor.execute(recorder.sql_last)
        row = cursor.fetchone()
        self.last_index: int = -1 if row is None else row["log_index"]
        self.last_recorded_at: str | None = None if row is None else row["recorded_at"]

    def records_after(self, index: int) -> Iterator[LogRecord]:
        self._cursor.execute(self._recorder.sql_after, (index, self.last_index + 1))
        for row in self._cursor.fetchall():
            yield _record(row)

    def find_event(self, event_id: str) -> LogRecord | None:
        self._cursor.execute(self._recorder.sql_by_event_id, (event_id,))
        row = self._cursor.fetchone()
        return None if row is None else _record(row)

    def find_events(self, event_ids: Sequence[str]) -> dict[str, LogRecord]:
        found: dict[str, LogRecord] = {}
        wanted = sorted(set(event_ids))
        p = self._recorder.placeholder
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            self._cursor.execute(
                self._recorder.sql_by_event_ids + f"({', '.join([p] * len(chunk))})", chunk
            )
            for row in self._cursor.fetchall():
                record = _record(row)
                found[record.event_id] = record
        return found


class LedgerRecorder(ApplicationRecorder):
    """The ledger's reads and writes on top of a library application recorder.

    Side tables, named after the library's events table ``<events>``:
    ``<events>_log`` (the dense index), ``<events>_tree`` (every full subtree of the
    Merkle tree, by level and index), ``<events>_tree_size`` (how many leaves are
    integrated), ``<events>_checkpoints`` (every signed checkpoint) and
    ``<events>_cosignatures`` (witnesses' lines, by checkpoint size and key name) and
    ``<events>_tokens`` (API tokens, as hashes).
    """

    log_table: str
    placeholder: str

    def _define(
        self, events: str, name: Callable[[str], str], join: str, p: str, integer: str, blob: str
    ) -> list[str]:
        """Define the queries over the side tables; return their DDL."""
        self.placeholder = p
        log, tree, tree_size = name("log"), name("tree"), name("tree_size")
        checkpoints, cosignatures = name("checkpoints"), name("cosignatures")
        base = f"SELECT {_COLUMNS}, e.state FROM {log} l JOIN {events} e ON {join} "
        self.sql_last = f"SELECT log_index, recorded_at FROM {log} ORDER BY log_index DESC LIMIT 1"
        self.sql_after = (
            base + f"WHERE l.log_index > {p} AND l.log_index < {p} ORDER BY l.log_index"
        )
        self.sql_by_event_id = base + f"WHERE l.event_id = {p}"
        self.sql_by_event_ids = base + "WHERE l.event_id IN "
        self.sql_by_leaf_hash = base + f"WHERE l.leaf_hash = {p}"
        self.sql_head = base + f"WHERE l.subject = {p} ORDER BY l.seq DESC LIMIT 1"
        self.sql_head_below = (
            base + f"WHERE l.subject = {p} AND l.log_index < {p} ORDER BY l.seq DESC LIMIT 1"
        )
        self.sql_subject = base + f"WHERE l.subject = {p} AND l.seq > {p} ORDER BY l.seq LIMIT {p}"
        self.sql_registry = (
            base + f"WHERE l.log_index < {p} AND l.subject NOT LIKE {p} ORDER BY l.log_index"
        )
        self.sql_range = (
            base + f"WHERE l.log_index >= {p} AND l.log_index < {p} ORDER BY l.log_index"
        )
        self.sql_size = f"SELECT COALESCE(MAX(log_index), -1) + 1 AS size FROM {log}"
        self.sql_max_index = f"SELECT COALESCE(MAX(log_index), -1) AS last FROM {log}"
        self.sql_index_recorded_by = (
            f"SELECT COALESCE(MAX(log_index), -1) AS last FROM {log} WHERE recorded_at <= {p}"
        )
        self.sql_insert_log = (
            f"INSERT INTO {log} (log_index, notification_id, event_id, subject, seq, "
            f"leaf_hash, envelope_hash, recorded_at) VALUES ({', '.join([p] * 8)})"
        )
        self.sql_leaves = (
            f"SELECT log_index, leaf_hash FROM {log} WHERE log_index >= {p} "
            f"AND log_index < {p} ORDER BY log_index"
        )
        self.sql_nodes_at = f"SELECT level, idx, hash FROM {tree} WHERE "
        self.sql_nodes_range = (
            f"SELECT level, idx, hash FROM {tree} WHERE level = {p} AND idx >= {p} "
            f"AND idx < {p} ORDER BY idx"
        )
        self.sql_insert_node = f"INSERT INTO {tree} (level, idx, hash) VALUES ({p}, {p}, {p})"
        self.sql_tree_size = f"SELECT size FROM {tree_size} WHERE id = 1"
        self.sql_set_tree_size = (
            f"INSERT INTO {tree_size} (id, size) VALUES (1, {p}) "
            "ON CONFLICT (id) DO UPDATE SET size = excluded.size"
        )
        self.sql_insert_checkpoint = (
            f"INSERT INTO {checkpoints} (tree_size, root, note, signed_at) "
            f"VALUES ({p}, {p}, {p}, {p}) ON CONFLICT (tree_size) DO NOTHING"
        )
        cp = f"SELECT tree_size, root, note, signed_at FROM {checkpoints} "
        self.sql_latest_checkpoint = cp + "ORDER BY tree_size DESC LIMIT 1"
        self.sql_checkpoint = cp + f"WHERE tree_size = {p}"
        self.sql_checkpoint_covering = cp + f"WHERE tree_size >= {p} ORDER BY tree_size LIMIT 1"
        self.sql_checkpoint_within = cp + f"WHERE tree_size <= {p} ORDER BY tree_size DESC LIMIT 1"
        self.sql_checkpoints = cp + f"WHERE tree_size > {p} ORDER BY tree_size LIMIT {p}"
        self.sql_insert_cosignature = (
            f"INSERT INTO {cosignatures} (tree_size, key_name, line, cosigned_at) "
            f"VALUES ({p}, {p}, {p}, {p}) ON CONFLICT (tree_size, key_name) DO NOTHING"
        )
        self.sql_cosignatures = (
            f"SELECT key_name, line, cosigned_at FROM {cosignatures} WHERE tree_size = {p} "
            "ORDER BY key_name"
        )
        self.sql_latest_cosigned = f"SELECT MAX(tree_size) AS size FROM {cosignatures}"
        tokens = name("tokens")
        token_columns = "token_id, role, agency_id, label, created_at, revoked_at"  # noqa: S105
        self.sql_insert_token = (
            f"INSERT INTO {tokens} (token_id, token_hash, role, agency_id, label, created_at) "
            f"VALUES ({p}, {p}, {p}, {p}, {p}, {p})"
        )
        self.sql_token_by_hash = f"SELECT {token_columns} FROM {tokens} WHERE token_hash = {p}"
        self.sql_token_by_id = f"SELECT {token_columns} FROM {tokens} WHERE token_id = {p}"
        self.sql_tokens = f"SELECT {token_columns} FROM {tokens} ORDER BY created_at, token_id"
        self.sql_revoke_token = (
            f"UPDATE {tokens} SET revoked_at = {p} WHERE token_id = {p} AND revoked_at IS NULL"
        )
        return [
            f"CREATE TABLE IF NOT EXISTS {log} ("
            f"log_index {integer} PRIMARY KEY, "
            f"notification_id {integer} NOT NULL UNIQUE, "
            "event_id TEXT UNIQUE, "
            "subject TEXT, "
            f"seq {integer}, "
            f"leaf_hash {blob} UNIQUE, "
            f"envelope_hash {blob}, "
            "recorded_at TEXT)",
            f'CREATE UNIQUE INDEX IF NOT EXISTS "{self.log_table}_subject_seq" '
            f"ON {log} (subject, seq)",
            f'CREATE INDEX IF NOT EXISTS "{self.log_table}_recorded_at" ON {log} (recorded_at)',
            f"CREATE TABLE IF NOT EXISTS {tree} (level INTEGER NOT NULL, idx {integer} NOT NULL, "
            f"hash {blob} NOT NULL, PRIMARY KEY (level, idx))",
            f"CREATE TABLE IF NOT EXISTS {tree_size} (id INTEGER PRIMARY KEY CHECK (id = 1), "
            f"size {integer} NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {checkpoints} (tree_size {integer} PRIMARY KEY, "
            f"root {blob} NOT NULL, note TEXT NOT NULL, signed_at TEXT NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {cosignatures} (tree_size {integer} NOT NULL, "
            f"key_name TEXT NOT NULL, line TEXT NOT NULL, cosigned_at {integer} NOT NULL, "
            "PRIMARY KEY (tree_size, key_name))",
            f"CREATE TABLE IF NOT EXISTS {tokens} (token_id TEXT PRIMARY KEY, "
            f"token_hash {blob} NOT NULL UNIQUE, role TEXT NOT NULL, agency_id TEXT, "
            "label TEXT NOT NULL, created_at TEXT NOT NULL, revoked_at TEXT)",
        ]

    def _index(
        self,
        cursor: Any,
        notification_ids: Sequence[int],
        entries: Sequence[NewEntry] | None,
        first: int | None = None,
    ) -> None:
        """Give the events just inserted the next dense indexes (the caller holds the lock;
        ``first`` is the next index when the caller read it under that lock)."""
        rows = self._log_rows(cursor, notification_ids, entries, first)
        cursor.executemany(self.sql_insert_log, rows)

    def _log_rows(
        self,
        cursor: Any,
        notification_ids: Sequence[int],
        entries: Sequence[NewEntry] | None,
        first: int | None,
    ) -> list[tuple[Any, ...]]:
        """Rows for the log table: the next dense indexes, in insertion order."""
        if first is None:
            cursor.execute(self.sql_max_index)
            first = cursor.fetchone()["last"] + 1
        rows: list[tuple[Any, ...]] = []
        for i, notification_id in enumerate(notification_ids):
            if entries is None:
                rows.append((first + i, notification_id, None, None, None, None, None, None))
            else:
                e = entries[i]
                rows.append(
                    (
                        first + i,
                        notification_id,
                        e.event_id,
                        e.subject,
                        e.seq,
                        e.leaf_hash,
                        e.envelope_hash,
                        e.recorded_at,
                    )
                )
        return rows

    # Reads ---------------------------------------------------------------------------

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        raise NotImplementedError

    def record_by_event_id(self, event_id: str) -> LogRecord | None:
        rows = self._read(self.sql_by_event_id, (event_id,))
        return _record(rows[0]) if rows else None

    def record_by_leaf_hash(self, leaf_hash: bytes) -> LogRecord | None:
        rows = self._read(self.sql_by_leaf_hash, (leaf_hash,))
        return _record(rows[0]) if rows else None

    def head(self, subject: str) -> LogRecord | None:
        rows = self._read(self.sql_head, (subject,))
        return _record(rows[0]) if rows else None

    def subject_records(self, subject: str, after_seq: int, limit: int) -> list[LogRecord]:
        return [_record(r) for r in self._read(self.sql_subject, (subject, after_seq, limit))]

    def records(self, start: int, end: int) -> list[LogRecord]:
        """Entries with ``start ≤ index < end``."""
        return [_record(r) for r in self._read(self.sql_range, (start, end))]

    def iter_records(self, start: int = 0, *, page: int = 1000) -> Iterator[LogRecord]:
        """Every entry from ``start`` on, a page at a time (memory flat in the log's size)."""
        while True:
            batch = self.records(start, start + page)
            yield from batch
            if len(batch) < page:
                return
            start += page

    def numbered_records(self, start: int, end: int) -> list[tuple[int, LogRecord]]:
        """Entries with ``start ≤ index < end`` and their library notification ids."""
        return [_numbered(r) for r in self._read(self.sql_range, (start, end))]

    def index_recorded_by(self, recorded_at: str) -> int:
        """The last index recorded at or before ``recorded_at`` (-1 for none)."""
        rows = self._read(self.sql_index_recorded_by, (recorded_at,))
        return int(rows[0]["last"])

    def size(self) -> int:
        return int(self._read(self.sql_size)[0]["size"])

    def append(self, build: Builder) -> list[LogRecord]:
        """Take the write lock, let ``build`` decide what to store, store it; one transaction."""
        raise NotImplementedError

    def _write(self) -> contextlib.AbstractContextManager[Any]:
        """A write transaction's cursor (SQLite: holding the write lock from the start)."""
        raise NotImplementedError

    def integrator_lock(self) -> contextlib.AbstractContextManager[bool]:
        """Held by the one process that integrates this log (``False`` if another does)."""
        return self.role_lock("integrator")

    def role_lock(self, role: str) -> contextlib.AbstractContextManager[bool]:
        """Try to become the one process with ``role`` on this log; yields whether it is."""
        raise NotImplementedError

    def _lock_tree(self, cursor: Any) -> None:
        """Serialise tree writes within the transaction (beyond the integrator lock, for a
        one-off ``step`` beside a running integrator)."""

    # The Merkle tree ---------------------------------------------------------------------

    def _nodes(self, cursor: Any, ids: Iterable[NodeId]) -> dict[NodeId, bytes]:
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        p = self.placeholder
        condition = " OR ".join([f"(level = {p} AND idx = {p})"] * len(wanted))
        cursor.execute(self.sql_nodes_at + condition, [v for node in wanted for v in node])
        found = {(row["level"], row["idx"]): bytes(row["hash"]) for row in cursor.fetchall()}
        missing = [node for node in wanted if node not in found]
        if missing:
            raise IntegrityError(f"tree nodes {missing[:3]} are missing from the stored tree")
        return found

    def _tree_size(self, cursor: Any) -> int:
        cursor.execute(self.sql_tree_size)
        row = cursor.fetchone()
        return 0 if row is None else int(row["size"])

    def tree_size(self) -> int:
        """How many leaves the stored tree holds (integrated entries)."""
        rows = self._read(self.sql_tree_size)
        return int(rows[0]["size"]) if rows else 0

    def read_nodes(self, ids: Iterable[NodeId]) -> dict[NodeId, bytes]:
        with self._read_cursor() as cursor:
            return self._nodes(cursor, ids)

    def nodes_in_range(self, level: int, start: int, end: int) -> dict[int, bytes]:
        """Stored nodes of ``level`` with ``start ≤ idx < end`` (the audit's comparison)."""
        rows = self._read(self.sql_nodes_range, (level, start, end))
        return {int(r["idx"]): bytes(r["hash"]) for r in rows}

    def _read_cursor(self) -> contextlib.AbstractContextManager[Any]:
        raise NotImplementedError

    def integrate(self, max_leaves: int) -> tuple[int, int]:
        """Add up to ``max_leaves`` stored entries to the tree; (size before, size after).

        One transaction: the new full subtrees and the new size are stored together, so a
        crash resumes where it stopped and no entry is integrated twice.
        """
        with self._write() as c:
            self._lock_tree(c)
            size = self._tree_size(c)
            c.execute(self.sql_leaves, (size, size + max_leaves))
            rows = c.fetchall()
            if not rows:
                return size, size
            nodes = self._nodes(c, merkle.root_plan(size))
            created: list[tuple[int, int, bytes]] = []
            for offset, row in enumerate(rows):
                index = size + offset
                if row["log_index"] != index:
                    raise IntegrityError("the log index has a gap", index=index)
                for (level, idx), value in merkle.new_nodes(index, bytes(row["leaf_hash"]), nodes):
                    nodes[(level, idx)] = value
                    created.append((level, idx, value))
            c.executemany(self.sql_insert_node, created)
            c.execute(self.sql_set_tree_size, (size + len(rows),))
            return size, size + len(rows)

    def sign_checkpoint(
        self, sign: Callable[[int, bytes], str], signed_at: str
    ) -> StoredCheckpoint | None:
        """Sign and keep a checkpoint of the integrated tree, unless it is already signed."""
        with self._write() as c:
            self._lock_tree(c)
            size = self._tree_size(c)
            c.execute(self.sql_latest_checkpoint)
            latest = c.fetchone()
            if size == 0 or (latest is not None and latest["tree_size"] >= size):
                return None
            root = merkle.root_from(size, self._nodes(c, merkle.root_plan(size)))
            note = sign(size, root)
            c.execute(self.sql_insert_checkpoint, (size, root, note, signed_at))
            return StoredCheckpoint(size, root, note, signed_at)

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        rows = self._read(self.sql_latest_checkpoint)
        return _checkpoint(rows[0]) if rows else None

    def checkpoint(self, size: int) -> StoredCheckpoint | None:
        rows = self._read(self.sql_checkpoint, (size,))
        return _checkpoint(rows[0]) if rows else None

    def iter_checkpoints(self, *, page: int = 1000) -> Iterator[StoredCheckpoint]:
        after = -1
        while True:
            rows = self._read(self.sql_checkpoints, (after, page))
            yield from (_checkpoint(r) for r in rows)
            if len(rows) < page:
                return
            after = int(rows[-1]["tree_size"])

    def add_cosignature(self, size: int, key_name: str, line: str, cosigned_at: int) -> None:
        with self._write() as c:
            c.execute(self.sql_insert_cosignature, (size, key_name, line, cosigned_at))

    def cosignature_lines(self, size: int) -> list[str]:
        return [str(r["line"]) for r in self._read(self.sql_cosignatures, (size,))]

    def latest_cosigned_size(self) -> int | None:
        rows = self._read(self.sql_latest_cosigned)
        value = rows[0]["size"] if rows else None
        return None if value is None else int(value)

    # API tokens (stored as SHA-256 hashes only) -------------------------------------------

    def insert_token(self, row: tuple[Any, ...]) -> None:
        with self._write() as c:
            c.execute(self.sql_insert_token, row)

    def token_by_hash(self, token_hash: bytes) -> Any | None:
        rows = self._read(self.sql_token_by_hash, (token_hash,))
        return rows[0] if rows else None

    def token_by_id(self, token_id: str) -> Any | None:
        rows = self._read(self.sql_token_by_id, (token_id,))
        return rows[0] if rows else None

    def tokens(self) -> list[Any]:
        return self._read(self.sql_tokens)

    def revoke_token(self, token_id: str, revoked_at: str) -> None:
        with self._write() as c:
            c.execute(self.sql_revoke_token, (revoked_at, token_id))

    def checkpoint_covering(self, size: int) -> StoredCheckpoint | None:
        """The smallest signed checkpoint of at least ``size`` leaves."""
        rows = self._read(self.sql_checkpoint_covering, (size,))
        return _checkpoint(rows[0]) if rows else None

    def checkpoint_within(self, size: int) -> StoredCheckpoint | None:
        """The largest signed checkpoint of at most ``size`` leaves."""
        rows = self._read(self.sql_checkpoint_within, (size,))
        return _checkpoint(rows[0]) if rows else None

    def registry_records(self, end: int) -> list[LogRecord]:
        """Every entry below index ``end`` that is not a matter's (genesis, roots, agencies,
        officials, the calendar): what checking signatures and competence needs."""
        return [_record(r) for r in self._read(self.sql_registry, (end, "matter:%"))]

    def head_below(self, subject: str, tree_size: int) -> LogRecord | None:
        """The subject's last entry with an index below ``tree_size``."""
        rows = self._read(self.sql_head_below, (subject, tree_size))
        return _record(rows[0]) if rows else None


class SQLiteLedgerRecorder(SQLiteApplicationRecorder, LedgerRecorder):
    """SQLite: notification id = rowid; the write lock is ``BEGIN IMMEDIATE``."""

    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        self.log_table = f"{events_table_name}_log"
        super().__init__(datastore, events_table_name)

    def _side_tables(self) -> list[str]:
        return self._define(
            self.events_table_name,
            lambda suffix: f"{self.events_table_name}_{suffix}",
            "e.rowid = l.notification_id",
            "?",
            "INTEGER",
            "BLOB",
        )

    def create_table(self) -> None:
        # A fresh file is switched to WAL on the first connection, which fails at once
        # ("database is locked") when another process does the same: serialise it.
        with file_lock(self.datastore.pool.db_name):
            super().create_table()

    def construct_create_table_statements(self) -> list[str]:
        return super().construct_create_table_statements() + self._side_tables()

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        # The INSERT above takes SQLite's write lock before the index is read below.
        notification_ids = super()._insert_events(c, stored_events, **kwargs)
        assert notification_ids is not None
        self._index(c, notification_ids, kwargs.get("ledger_entries"), kwargs.get("first_index"))
        return notification_ids

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(sql, params)
            return list(c.fetchall())

    def _read_cursor(self) -> contextlib.AbstractContextManager[Any]:
        return self.datastore.transaction(commit=False)

    @contextlib.contextmanager
    def _write(self) -> Iterator[Any]:
        with (
            self.datastore.get_connection(commit=True) as conn,
            _ImmediateTransaction(conn, commit=True) as c,
        ):
            yield c

    @contextlib.contextmanager
    def role_lock(self, role: str) -> Iterator[bool]:
        with file_lock(f"{self.datastore.pool.db_name}#{role}", blocking=False) as held:
            yield held

    def append(self, build: Builder) -> list[LogRecord]:
        with (
            self.datastore.get_connection(commit=True) as conn,
            _ImmediateTransaction(conn, commit=True) as c,
        ):
            session = _Session(self, c)
            entries = build(session)
            if not entries:
                return []
            self._insert_events(
                c, _stored(entries), ledger_entries=entries, first_index=session.last_index + 1
            )
            return _records(session.last_index, entries)


@contextlib.contextmanager
def file_lock(db_name: str, *, blocking: bool = True) -> Iterator[bool]:
    """An exclusive lock between processes of this machine, named after the database;
    yields whether it is held (always, when blocking)."""
    name = hashlib.sha256(db_name.encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"accountability-ledger-{name}.lock"
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class _ImmediateTransaction(SQLiteTransaction):
    """The library's transaction, but taking SQLite's write lock at ``BEGIN``."""

    def __enter__(self) -> SQLiteCursor:
        cursor = self.connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        return cursor


class PostgresLedgerRecorder(PostgresApplicationRecorder, LedgerRecorder):
    """PostgreSQL: the write lock is the library's ``LOCK TABLE … IN EXCLUSIVE MODE``."""

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        if datastore.enable_db_functions:
            raise ConfigurationError(
                "POSTGRES_ENABLE_DB_FUNCTIONS inserts events without the dense log index; "
                "leave it off"
            )
        super().__init__(datastore, events_table_name=events_table_name)
        self.log_table = f"{events_table_name}_log"
        self.check_identifier_length(f"{events_table_name}_log_subject_seq")
        schema = f'"{datastore.schema}"'

        def name(suffix: str) -> str:
            return f'{schema}."{events_table_name}_{suffix}"'

        ddl = self._define(
            f'{schema}."{events_table_name}"',
            name,
            "e.notification_id = l.notification_id",
            "%s",
            "bigint",
            "bytea",
        )
        self.sql_create_statements += [SQL(statement).format() for statement in ddl]
        # No parameters, so PostgreSQL runs the statements in one simple-protocol round trip.
        self._sql_begin_append = SQL("; ").join(
            [
                *self.lock_table_statements,
                SQL("NOTIFY {0}").format(Identifier(self.channel_name)),
                SQL(self.sql_last),
            ]
        )

    def create_table(self) -> None:
        # CREATE … IF NOT EXISTS races between processes (pg_type unique violations), so
        # everything is created in one transaction holding an advisory lock, on one
        # connection (a pool of one must do).
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            curs.execute("SELECT pg_advisory_xact_lock(%s)", (_CREATE_TABLE_LOCK,))
            curs.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.datastore.schema}"')
            for statement in self.sql_create_statements:
                if "CREATE TYPE" in statement.as_string():
                    with contextlib.suppress(DuplicateObject), conn.transaction():
                        curs.execute(statement, prepare=False)
            self._create_table(curs)
        self.datastore.register_type_adapters()

    def _insert_stored_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        if not kwargs.pop("table_locked", False):
            super()._insert_stored_events(curs, stored_events, **kwargs)
            return
        # ``append`` took the table lock and queued the NOTIFY before reading the head:
        # doing either again costs round trips and changes nothing.
        PostgresAggregateRecorder._insert_stored_events(self, curs, stored_events, **kwargs)

    def _fetch_ids_after_insert_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        notification_ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        assert notification_ids is not None
        # Still inside the transaction that holds the table lock: the index is dense.
        self._index(curs, notification_ids, kwargs.get("ledger_entries"), kwargs.get("first_index"))
        return notification_ids

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(sql, params)
            return list(curs.fetchall())

    @contextlib.contextmanager
    def _read_cursor(self) -> Iterator[Any]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            yield curs

    @contextlib.contextmanager
    def _write(self) -> Iterator[Any]:
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            yield curs

    def _lock_tree(self, cursor: Any) -> None:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", (self._log_lock_key() + 1,))

    def _log_lock_key(self) -> int:
        digest = hashlib.sha256(f"{self.datastore.schema}.{self.log_table}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True) >> 1

    @contextlib.contextmanager
    def role_lock(self, role: str) -> Iterator[bool]:
        # A session advisory lock on a connection kept out of the pool for as long as this
        # process holds the role: if the process dies, PostgreSQL releases the lock.
        key = self._log_lock_key()
        if role != "integrator":
            digest = hashlib.sha256(f"{key}#{role}".encode()).digest()
            key = int.from_bytes(digest[:8], "big", signed=True) >> 1
        self.datastore.pool.open()  # idempotent; getconn waits for a connection
        conn = self.datastore.pool.getconn()
        try:
            row = conn.execute("SELECT pg_try_advisory_lock(%s) AS held", (key,)).fetchone()
            held = bool(row and row["held"])
            try:
                yield held
            finally:
                if held:
                    conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
        finally:
            self.datastore.pool.putconn(conn)

    def append(self, build: Builder) -> list[LogRecord]:
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            # One round trip: the table lock, the NOTIFY (sent at commit; a wake-up with
            # nothing new, after a replay, costs a listener one empty read) and the head.
            curs.execute(self._sql_begin_append)
            while curs.nextset():
                pass
            session = _Session(self, curs, head_read=True)
            entries = build(session)
            if not entries:
                return []
            stored = _stored(entries)
            self._insert_stored_events(curs, stored, table_locked=True)
            self._fetch_ids_after_insert_events(
                curs, stored, ledger_entries=entries, first_index=session.last_index + 1
            )
            return _records(session.last_index, entries)


def _stored(entries: Sequence[NewEntry]) -> list[StoredEvent]:
    return [
        StoredEvent(originator_id=e.subject, originator_version=e.seq, topic=e.type, state=e.entry)
        for e in entries
    ]


def _records(last_index: int, entries: Sequence[NewEntry]) -> list[LogRecord]:
    return [
        LogRecord(
            last_index + 1 + i,
            e.event_id,
            e.subject,
            e.seq,
            e.leaf_hash,
            e.envelope_hash,
            e.recorded_at,
            e.entry,
        )
        for i, e in enumerate(entries)
    ]


def library_environment(database_url: str) -> dict[str, str]:
    """The eventsourcing library's environment for ``sqlite:///…`` or ``postgresql://…``.

    A PostgreSQL URL may name a schema with ``?schema=NAME`` (default ``public``).
    """
    parts = urlsplit(database_url)
    if parts.scheme == "sqlite":
        path = unquote(parts.path)
        if database_url.startswith("sqlite:///"):
            path = database_url[len("sqlite:///") :]
        if not path:
            raise ConfigurationError(f"{database_url!r}: sqlite URLs look like sqlite:///path.db")
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": "30",
            "APPLICATION_RECORDER_TOPIC": "ledger.storage:SQLiteLedgerRecorder",
            "ORIGINATOR_ID_TYPE": "text",
        }
    if parts.scheme in ("postgresql", "postgres"):
        query = parse_qs(parts.query)
        schema = query.get("schema", ["public"])[0]
        if not _SCHEMA.match(schema):
            raise ConfigurationError(
                f"schema {schema!r} must match {_SCHEMA.pattern} (lowercase, digits, _)"
            )
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": unquote(parts.path.lstrip("/")) or "postgres",
            "POSTGRES_HOST": parts.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
            "POSTGRES_SCHEMA": schema,
            "POSTGRES_POOL_SIZE": "5",
            "POSTGRES_LOCK_TIMEOUT": "30",
            "APPLICATION_RECORDER_TOPIC": "ledger.storage:PostgresLedgerRecorder",
            "ORIGINATOR_ID_TYPE": "text",
        }
    raise ConfigurationError(
        f"unsupported database URL {database_url!r}: use sqlite:///path.db or "
        "postgresql://user@host:port/db"
    )
