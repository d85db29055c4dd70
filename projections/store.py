"""Where a read model lives: one SQLite file or one PostgreSQL schema per projection.

The eventsourcing library's tracking table has a fixed name (``tracking`` on SQLite; here
also on PostgreSQL), so each projection gets a database of its own: its rows, the library's
tracking record (the last notification id it processed) and the log index that id stands
for, all written in one transaction. A rebuild fills a fresh file or schema and swaps it
in; a writer notices (the position it expects is not the stored one) and starts over.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder

from ledger.errors import ConfigurationError
from ledger.storage import file_lock, library_environment

APPLICATION_NAME = "ledger"  # the upstream the tracking records follow
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class Resync(Exception):
    """The stored position is not the one this writer expected (a rebuild was swapped in)."""


@dataclass(frozen=True)
class Position:
    notification_id: int | None
    log_index: int  # -1 before the first entry


# The shape of each view's rows. A release that changes what a view stores bumps its shape:
# the view then lives in a database (SQLite slot or PostgreSQL schema) of a new name, which
# the server builds from index 0 at start-up like any empty view, so an upgraded ledger
# never reads rows of an older shape and needs no manual step (DESIGN §4 v4). The old
# database is left as it was; `docs/upgrading.md` says when it may be removed.
SHAPES: dict[str, int] = {
    "matters": 2,  # 2: what each statement did to custody (lead_to, support_to, closes, …)
}


def projection_url(ledger_url: str, name: str, *, suffix: str = "") -> str:
    """The database of projection ``name`` beside the ledger at ``ledger_url``."""
    shape = SHAPES.get(name, 1)
    if shape > 1:
        name = f"{name}_v{shape}"
    parts = urlsplit(ledger_url)
    if parts.scheme == "sqlite":
        # A slot: ``<slot>.current`` names the generation file in use (``<slot>.<n>.db``).
        path = Path(ledger_url[len("sqlite:///") :])
        return f"sqlite:///{path.parent / 'projections' / name}"
    base = parse_qs(parts.query).get("schema", ["public"])[0]
    schema = f"{base}_p_{name}{suffix}"
    if not _SCHEMA.match(schema):
        raise ConfigurationError(f"projection schema {schema!r} is too long or not a plain name")
    return _with_schema(ledger_url, schema)


class ProjectionDB:
    """One projection's database: DDL, transactions, reads and the tracked position."""

    def __init__(self, url: str, ddl: Sequence[str], *, generation: int | None = None) -> None:
        self.url = url
        self.ddl = list(ddl)
        env = library_environment(url)
        self.is_postgres = env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
        self.recorder: PostgresTrackingRecorder | SQLiteTrackingRecorder
        # A SQLite database opened at a given generation is a rebuild's target: it does not
        # follow the pointer, so another generation being current is no news to it.
        self.follows_pointer = generation is None
        if self.is_postgres:
            self.schema = env["POSTGRES_SCHEMA"]
            self._pg = PostgresDatastore(
                env["POSTGRES_DBNAME"],
                env["POSTGRES_HOST"],
                env["POSTGRES_PORT"],
                env["POSTGRES_USER"],
                env["POSTGRES_PASSWORD"],
                schema=self.schema,
                pool_size=2,
                max_overflow=2,
            )
            self.recorder = PostgresTrackingRecorder(self._pg, tracking_table_name="tracking")
            self.path: Path | None = None
        else:
            self.slot = Path(env["SQLITE_DBNAME"])
            self.slot.parent.mkdir(parents=True, exist_ok=True)
            if generation is None:
                with file_lock(f"{self.slot}#pointer"):
                    generation = current_generation(self.slot)
                    if generation is None:
                        generation = 1
                        _point(self.slot, generation)
            self.generation = generation
            self.path = generation_path(self.slot, generation)
            self._sqlite = SQLiteDatastore(str(self.path), lock_timeout=30)
            self.recorder = SQLiteTrackingRecorder(self._sqlite)
        self.create()

    # --- set-up ---------------------------------------------------------------------------

    def create(self) -> None:
        """Create the tables once, however many processes and threads open this at once:
        ``CREATE … IF NOT EXISTS`` races on PostgreSQL, and the library's tracking table
        records its migration row only if it believes it made the table."""
        if self.is_postgres:
            # A session advisory lock on a connection of its own, held across the library's
            # create_table (which uses connections of its own).
            with self._pg.get_connection() as lock_conn:
                lock_conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (self.schema,))
                try:
                    with lock_conn.transaction(), lock_conn.cursor() as c:
                        c.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
                        c.execute(f'SET LOCAL search_path TO "{self.schema}"')
                        for statement in self._all_ddl():
                            c.execute(statement)
                    self.recorder.create_table()
                finally:
                    lock_conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (self.schema,))
        else:
            assert self.path is not None
            with file_lock(f"{self.path}#create"):
                self.recorder.create_table()
                with self._sqlite.transaction(commit=True) as c:
                    for statement in self._all_ddl():
                        c.execute(statement)

    def _all_ddl(self) -> list[str]:
        return [
            *self.ddl,
            "CREATE TABLE IF NOT EXISTS projection_position "
            "(id INTEGER PRIMARY KEY CHECK (id = 1), log_index BIGINT NOT NULL)",
        ]

    def close(self) -> None:
        if self.is_postgres:
            self._pg.close()
        else:
            self._sqlite.close()

    def swapped(self) -> bool:
        """Whether a rebuild swapped another SQLite generation in since this live one opened
        (never for a rebuild's target: a runner filling it would otherwise reopen it, and
        replay the log up to its position, at every page)."""
        return (
            not self.is_postgres
            and self.follows_pointer
            and current_generation(self.slot) != self.generation
        )

    # --- SQL ------------------------------------------------------------------------------

    def sql(self, text: str) -> str:
        if not self.is_postgres:
            return text
        return text.replace("?", "%s")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Any]:
        if self.is_postgres:
            with self._pg.get_connection() as conn, conn.transaction(), conn.cursor() as c:
                c.execute(f'SET LOCAL search_path TO "{self.schema}"')
                yield c
        else:
            with self._sqlite.transaction(commit=True) as c:
                yield c

    def read(self, text: str, params: Sequence[Any] = ()) -> list[Any]:
        if self.is_postgres:
            with self._pg.get_connection() as conn, conn.transaction(), conn.cursor() as c:
                c.execute(f'SET LOCAL search_path TO "{self.schema}"')
                c.execute(self.sql(text), tuple(params))
                return list(c.fetchall())
        with self._sqlite.transaction(commit=False) as c:
            c.execute(text, tuple(params))
            return list(c.fetchall())

    # --- position -------------------------------------------------------------------------

    def position(self) -> Position:
        rows = self.read("SELECT log_index FROM projection_position WHERE id = 1")
        index = int(rows[0]["log_index"]) if rows else -1
        return Position(self.recorder.max_tracking_id(APPLICATION_NAME), index)

    def advance(self, cursor: Any, expected: Position, new: Position) -> None:
        """Inside the writing transaction: check the stored position, then record ``new``."""
        cursor.execute("SELECT log_index FROM projection_position WHERE id = 1")
        row = cursor.fetchone()
        stored = int(row["log_index"]) if row else -1
        if stored != expected.log_index:
            raise Resync(f"{self.url}: stored position {stored}, expected {expected.log_index}")
        cursor.execute(
            self.sql(
                "INSERT INTO projection_position (id, log_index) VALUES (1, ?) "
                "ON CONFLICT (id) DO UPDATE SET log_index = excluded.log_index"
            ),
            (new.log_index,),
        )
        assert new.notification_id is not None
        self.recorder._insert_tracking(cursor, Tracking(APPLICATION_NAME, new.notification_id))


def current_generation(slot: Path) -> int | None:
    """The SQLite generation ``<slot>.current`` points to, if any."""
    try:
        return int(Path(f"{slot}.current").read_text().strip())
    except FileNotFoundError:
        return None


def generation_path(slot: Path, generation: int) -> Path:
    return Path(f"{slot}.{generation}.db")


def _point(slot: Path, generation: int) -> None:
    tmp = Path(f"{slot}.current.tmp-{uuid.uuid4().hex}")
    tmp.write_text(f"{generation}\n")
    os.replace(tmp, f"{slot}.current")


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(f"{path}{suffix}")


@contextlib.contextmanager
def _pg_cursor(env: dict[str, str]) -> Iterator[Any]:
    """A cursor in one transaction on a short-lived connection to the database of ``env``."""
    db = PostgresDatastore(
        env["POSTGRES_DBNAME"],
        env["POSTGRES_HOST"],
        env["POSTGRES_PORT"],
        env["POSTGRES_USER"],
        env["POSTGRES_PASSWORD"],
        schema=env["POSTGRES_SCHEMA"],
    )
    try:
        with db.get_connection() as conn, conn.transaction(), conn.cursor() as c:
            yield c
    finally:
        db.close()


def _with_schema(url: str, schema: str) -> str:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    query["schema"] = [schema]
    return urlunsplit(parts._replace(query=urlencode(query, doseq=True)))


def fresh_database(live_url: str, ddl: Sequence[str]) -> ProjectionDB:
    """An empty database to rebuild ``live_url``'s projection into, beside the live one."""
    env = library_environment(live_url)
    if env["PERSISTENCE_MODULE"] == "eventsourcing.postgres":
        fresh_schema = f"{env['POSTGRES_SCHEMA']}_rebuild"[:63]
        with _pg_cursor(env) as c:
            c.execute(f'DROP SCHEMA IF EXISTS "{fresh_schema}" CASCADE')
        return ProjectionDB(_with_schema(live_url, fresh_schema), ddl)
    slot = Path(env["SQLITE_DBNAME"])
    slot.parent.mkdir(parents=True, exist_ok=True)
    generation = (current_generation(slot) or 0) + 1
    while generation_path(slot, generation).exists():
        generation += 1
    return ProjectionDB(live_url, ddl, generation=generation)


def swap_in(fresh: ProjectionDB, live_url: str) -> None:
    """Make a freshly built projection database the live one, atomically."""
    env = library_environment(live_url)
    if fresh.is_postgres:
        live_schema = env["POSTGRES_SCHEMA"]
        old = f"{live_schema}_old"[:63]
        fresh.close()
        with _pg_cursor(env) as c:
            c.execute(f'DROP SCHEMA IF EXISTS "{old}" CASCADE')
            c.execute(
                "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s",
                (live_schema,),
            )
            if c.fetchone():
                c.execute(f'ALTER SCHEMA "{live_schema}" RENAME TO "{old}"')
            c.execute(f'ALTER SCHEMA "{fresh.schema}" RENAME TO "{live_schema}"')
            c.execute(f'DROP SCHEMA IF EXISTS "{old}" CASCADE')
        return
    slot = Path(env["SQLITE_DBNAME"])
    previous = current_generation(slot)
    fresh.close()
    _point(slot, fresh.generation)
    if previous is not None and previous != fresh.generation:
        _remove_sqlite(generation_path(slot, previous))


def discard(db: ProjectionDB) -> None:
    """Throw away an unfinished rebuild."""
    db.close()
    if db.is_postgres:
        with _pg_cursor(library_environment(db.url)) as c:
            c.execute(f'DROP SCHEMA IF EXISTS "{db.schema}" CASCADE')
    elif db.path is not None:
        _remove_sqlite(db.path)
