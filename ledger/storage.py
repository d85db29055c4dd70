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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from eventsourcing.persistence import ApplicationRecorder, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import (
    SQLiteApplicationRecorder,
    SQLiteCursor,
    SQLiteDatastore,
    SQLiteTransaction,
)
from psycopg.errors import DuplicateObject
from psycopg.sql import SQL

from ledger.errors import ConfigurationError

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


class WriteSession(Protocol):
    """What a writer sees inside the storing transaction, after taking the write lock."""

    @property
    def last_index(self) -> int: ...

    @property
    def last_recorded_at(self) -> str | None: ...

    def records_after(self, index: int) -> Iterator[LogRecord]: ...

    def find_event(self, event_id: str) -> LogRecord | None: ...


Builder = Callable[[WriteSession], Sequence[NewEntry]]


def _record(row: Any) -> LogRecord:
    return LogRecord(
        index=row["log_index"],
        event_id=row["event_id"],
        subject=row["subject"],
        seq=row["seq"],
        leaf_hash=bytes(row["leaf_hash"]),
        envelope_hash=bytes(row["envelope_hash"]),
        recorded_at=row["recorded_at"],
        entry=bytes(row["state"]),
    )


class _Session:
    def __init__(self, recorder: LedgerRecorder, cursor: Any) -> None:
        self._recorder = recorder
        self._cursor = cursor
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


class LedgerRecorder(ApplicationRecorder):
    """The ledger's reads and writes on top of a library application recorder."""

    log_table: str
    sql_last: str
    sql_after: str
    sql_by_event_id: str
    sql_by_leaf_hash: str
    sql_head: str
    sql_subject: str
    sql_range: str
    sql_size: str
    sql_insert_log: str
    sql_max_index: str

    def _define_queries(self, events: str, log: str, join: str, p: str) -> None:
        base = f"SELECT {_COLUMNS}, e.state FROM {log} l JOIN {events} e ON {join} "
        self.sql_last = f"SELECT log_index, recorded_at FROM {log} ORDER BY log_index DESC LIMIT 1"
        self.sql_after = (
            base + f"WHERE l.log_index > {p} AND l.log_index < {p} ORDER BY l.log_index"
        )
        self.sql_by_event_id = base + f"WHERE l.event_id = {p}"
        self.sql_by_leaf_hash = base + f"WHERE l.leaf_hash = {p}"
        self.sql_head = base + f"WHERE l.subject = {p} ORDER BY l.seq DESC LIMIT 1"
        self.sql_subject = base + f"WHERE l.subject = {p} AND l.seq > {p} ORDER BY l.seq LIMIT {p}"
        self.sql_range = (
            base + f"WHERE l.log_index >= {p} AND l.log_index < {p} ORDER BY l.log_index"
        )
        self.sql_size = f"SELECT COALESCE(MAX(log_index), -1) + 1 AS size FROM {log}"
        self.sql_max_index = f"SELECT COALESCE(MAX(log_index), -1) AS last FROM {log}"
        self.sql_insert_log = (
            f"INSERT INTO {log} (log_index, notification_id, event_id, subject, seq, "
            f"leaf_hash, envelope_hash, recorded_at) VALUES ({', '.join([p] * 8)})"
        )

    def _log_rows(
        self, cursor: Any, notification_ids: Sequence[int], entries: Sequence[NewEntry] | None
    ) -> list[tuple[Any, ...]]:
        """Rows for the log table: the next dense indexes, in insertion order."""
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

    def size(self) -> int:
        return int(self._read(self.sql_size)[0]["size"])

    def append(self, build: Builder) -> list[LogRecord]:
        """Take the write lock, let ``build`` decide what to store, store it; one transaction."""
        raise NotImplementedError


class SQLiteLedgerRecorder(SQLiteApplicationRecorder, LedgerRecorder):
    """SQLite: notification id = rowid; the write lock is ``BEGIN IMMEDIATE``."""

    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        self.log_table = f"{events_table_name}_log"
        super().__init__(datastore, events_table_name)
        self._define_queries(events_table_name, self.log_table, "e.rowid = l.notification_id", "?")

    def create_table(self) -> None:
        # A fresh file is switched to WAL on the first connection, which fails at once
        # ("database is locked") when another process does the same: serialise it.
        with _file_lock(self.datastore.pool.db_name):
            super().create_table()

    def construct_create_table_statements(self) -> list[str]:
        statements = super().construct_create_table_statements()
        statements += [
            f"CREATE TABLE IF NOT EXISTS {self.log_table} ("
            "log_index INTEGER PRIMARY KEY, "
            "notification_id INTEGER NOT NULL UNIQUE, "
            "event_id TEXT UNIQUE, "
            "subject TEXT, "
            "seq INTEGER, "
            "leaf_hash BLOB UNIQUE, "
            "envelope_hash BLOB, "
            "recorded_at TEXT)",
            f"CREATE UNIQUE INDEX IF NOT EXISTS {self.log_table}_subject_seq "
            f"ON {self.log_table} (subject, seq)",
        ]
        return statements

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        # The INSERT above takes SQLite's write lock before the index is read below.
        notification_ids = super()._insert_events(c, stored_events, **kwargs)
        assert notification_ids is not None
        rows = self._log_rows(c, notification_ids, kwargs.get("ledger_entries"))
        c.executemany(self.sql_insert_log, rows)
        return notification_ids

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(sql, params)
            return list(c.fetchall())

    def append(self, build: Builder) -> list[LogRecord]:
        with (
            self.datastore.get_connection(commit=True) as conn,
            _ImmediateTransaction(conn, commit=True) as c,
        ):
            session = _Session(self, c)
            entries = build(session)
            if not entries:
                return []
            self._insert_events(c, _stored(entries), ledger_entries=entries)
            return _records(session.last_index, entries)


@contextlib.contextmanager
def _file_lock(db_name: str) -> Iterator[None]:
    """An exclusive lock between processes of this machine, named after the database."""
    name = hashlib.sha256(db_name.encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"accountability-ledger-{name}.lock"
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
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
        self.check_identifier_length(self.log_table + "_subject_seq")
        schema = f'"{datastore.schema}"'
        events = f'{schema}."{events_table_name}"'
        log = f'{schema}."{self.log_table}"'
        self._define_queries(events, log, "e.notification_id = l.notification_id", "%s")
        self.sql_create_statements += [
            SQL(
                f"CREATE TABLE IF NOT EXISTS {log} ("
                "log_index bigint PRIMARY KEY, "
                "notification_id bigint NOT NULL UNIQUE, "
                "event_id text UNIQUE, "
                "subject text, "
                "seq bigint, "
                "leaf_hash bytea UNIQUE, "
                "envelope_hash bytea, "
                "recorded_at text)"
            ).format(),
            SQL(
                f'CREATE UNIQUE INDEX IF NOT EXISTS "{self.log_table}_subject_seq" '
                f"ON {log} (subject, seq)"
            ).format(),
        ]

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

    def _fetch_ids_after_insert_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        notification_ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        assert notification_ids is not None
        # Still inside the transaction that holds the table lock: the index is dense.
        rows = self._log_rows(curs, notification_ids, kwargs.get("ledger_entries"))
        curs.executemany(self.sql_insert_log, rows)
        return notification_ids

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(sql, params)
            return list(curs.fetchall())

    def append(self, build: Builder) -> list[LogRecord]:
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            self._lock_table(curs)
            session = _Session(self, curs)
            entries = build(session)
            if not entries:
                return []
            stored = _stored(entries)
            self._insert_stored_events(curs, stored)
            self._fetch_ids_after_insert_events(curs, stored, ledger_entries=entries)
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
