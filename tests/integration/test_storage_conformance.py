"""The eventsourcing library's own conformance cases, run against our recorders.

``SQLiteLedgerRecorder`` and ``PostgresLedgerRecorder`` must behave as the library's
application recorders do (DESIGN §2: storage on the library), and every event the library's
cases insert must get exactly one dense log index (DESIGN §5) — checked after each case by
reading the tables directly, not through the recorder under test. The library's timing
loop (``test_performance``) is left out: it measures and asserts nothing.
"""

from __future__ import annotations

import functools
import shutil
import sqlite3
import tempfile
import uuid
from pathlib import Path
from typing import Any, Literal
from unittest import TestCase

import psycopg
import pytest
from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    IntegrityError,
    ProcessRecorder,
    StoredEvent,
    TrackingRecorder,
)
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresDatastore,
    PostgresFactory,
    PostgresProcessRecorder,
    PostgresTrackingRecorder,
)
from eventsourcing.sqlite import (
    SQLiteAggregateRecorder,
    SQLiteDatastore,
    SQLiteFactory,
    SQLiteProcessRecorder,
    SQLiteTrackingRecorder,
)
from eventsourcing.tests import persistence as lib
from eventsourcing.utils import Environment

from ledger.application import Ledger
from ledger.errors import ConfigurationError
from ledger.storage import PostgresLedgerRecorder, SQLiteLedgerRecorder, library_environment
from tests.conftest import POSTGRES_URL, REQUIRE_POSTGRES, _postgres_unavailable

EVENTS_TABLE = "stored_events"


@functools.cache
def _postgres_reason() -> str | None:
    return _postgres_unavailable()


def require_postgres(case: TestCase) -> None:
    """Skip (or, with LEDGER_REQUIRE_POSTGRES=1, fail) when PostgreSQL does not answer."""
    reason = _postgres_reason()
    if reason:
        if REQUIRE_POSTGRES:
            case.fail(f"{reason} (LEDGER_REQUIRE_POSTGRES=1)")
        case.skipTest(reason)


def fresh_schema() -> str:
    return "t_" + uuid.uuid4().hex[:16]


def drop_schema(schema: str) -> None:
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def assert_dense_log(event_ids: list[int], log_rows: list[tuple[int, int]]) -> None:
    """One log row per stored event; indexes 0..n-1; index order is notification order.

    ``event_ids`` are the events table's notification ids, ``log_rows`` the log table's
    ``(log_index, notification_id)`` ordered by index.
    """
    assert event_ids, "the case stored no events: nothing was checked"
    indexes = [index for index, _ in log_rows]
    logged = [nid for _, nid in log_rows]
    assert indexes == list(range(len(log_rows))), "log indexes are not 0..n-1"
    assert len(set(logged)) == len(logged), "an event has several log rows"
    assert sorted(logged) == sorted(event_ids), "events and log rows differ"
    assert logged == sorted(logged), "index order is not notification-id order"


# --- SQLite ----------------------------------------------------------------------------------


class SQLiteSetup(TestCase):
    """A fresh SQLite file per test; our recorder on it."""

    __test__ = False
    originator_id_type: Literal["uuid", "text"] = "uuid"

    def setUp(self) -> None:
        super().setUp()
        self.tmp = Path(tempfile.mkdtemp(prefix="ledger-conformance-"))
        self.db_path = str(self.tmp / "events.db")
        self.datastores: list[SQLiteDatastore] = []

    def tearDown(self) -> None:
        for datastore in self.datastores:
            datastore.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
        super().tearDown()

    def create_recorder(self) -> SQLiteLedgerRecorder:
        datastore = SQLiteDatastore(
            db_name=self.db_path,
            pool_size=20,  # the library's concurrent cases use 10 writers and 2 readers
            originator_id_type=self.originator_id_type,
        )
        self.datastores.append(datastore)
        recorder = SQLiteLedgerRecorder(datastore, EVENTS_TABLE)
        recorder.create_table()
        return recorder

    def assert_log_dense(self) -> None:
        with sqlite3.connect(self.db_path) as conn:
            events = [r[0] for r in conn.execute(f"SELECT rowid FROM {EVENTS_TABLE}")]
            log = conn.execute(
                f"SELECT log_index, notification_id FROM {EVENTS_TABLE}_log ORDER BY log_index"
            ).fetchall()
        assert_dense_log(events, [(int(i), int(n)) for i, n in log])


class TextIds:
    """The ledger's own configuration: subjects as text originator ids."""

    originator_id_type: Literal["uuid", "text"] = "text"

    def new_originator_id(self) -> str:
        return "agency:test-" + uuid.uuid4().hex


class ApplicationRecorderChecks(lib.ApplicationRecorderTestCase[Any]):
    """The library's application-recorder cases, each followed by the dense-log check."""

    __test__ = False

    def assert_log_dense(self) -> None:
        raise NotImplementedError

    def test_insert_select(self) -> None:
        super().test_insert_select()
        self.assert_log_dense()

    def test_performance(self) -> None:
        """Left out: the library's timing loop times 110 inserts, prints a rate and asserts
        nothing that ``test_insert_select`` and the concurrent cases do not."""

    test_performance.__test__ = False  # type: ignore[attr-defined]  # pytest collects it not

    def test_concurrent_no_conflicts(self, initial_position: int = 0) -> None:
        super().test_concurrent_no_conflicts(initial_position)
        self.assert_log_dense()

    def test_concurrent_throughput(self) -> None:
        super().test_concurrent_throughput()
        self.assert_log_dense()

    def test_a_failed_insert_leaves_no_log_row_and_no_index_gap(self) -> None:
        recorder = self.create_recorder()
        first = StoredEvent(self.new_originator_id(), 1, "topic", b"{}")
        recorder.insert_events([first])
        with pytest.raises(IntegrityError):
            recorder.insert_events([StoredEvent(self.new_originator_id(), 1, "t", b"{}"), first])
        recorder.insert_events([StoredEvent(self.new_originator_id(), 1, "topic", b"{}")])
        self.assert_log_dense()


class NonInterleavingChecks(lib.NonInterleavingNotificationIDsBaseCase):
    __test__ = False

    def assert_log_dense(self) -> None:
        raise NotImplementedError

    def test(self) -> None:
        super().test()
        self.assert_log_dense()


class TestSQLiteLedgerRecorderConformance(SQLiteSetup, ApplicationRecorderChecks):
    __test__ = True


class TestSQLiteLedgerRecorderConformanceWithTextIds(
    TextIds, SQLiteSetup, ApplicationRecorderChecks
):
    __test__ = True


class TestSQLiteLedgerRecorderNonInterleaving(TextIds, SQLiteSetup, NonInterleavingChecks):
    __test__ = True


class TestSQLiteLedgerRecorderFactory(lib.InfrastructureFactoryTestCase[SQLiteFactory]):
    """The factory, configured as the ledger configures it, builds our recorder."""

    def setUp(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="ledger-factory-"))
        self.url = f"sqlite:///{self.tmp / 'factory.db'}"
        self.env = Environment("TestCase", library_environment(self.url))
        super().setUp()

    def tearDown(self) -> None:
        super().tearDown()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def expected_factory_class(self) -> type[SQLiteFactory]:
        return SQLiteFactory

    def expected_aggregate_recorder_class(self) -> type[AggregateRecorder]:
        return SQLiteAggregateRecorder

    def expected_application_recorder_class(self) -> type[ApplicationRecorder]:
        return SQLiteLedgerRecorder

    def expected_tracking_recorder_class(self) -> type[TrackingRecorder]:
        return SQLiteTrackingRecorder

    class TrackingSubclass(SQLiteTrackingRecorder):
        pass

    def tracking_recorder_subclass(self) -> type[TrackingRecorder]:
        return self.TrackingSubclass

    def expected_process_recorder_class(self) -> type[ProcessRecorder]:
        return SQLiteProcessRecorder

    def test_the_factory_creates_the_log_table_beside_the_events_table(self) -> None:
        self.factory.application_recorder()
        with sqlite3.connect(self.tmp / "factory.db") as conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert {EVENTS_TABLE, f"{EVENTS_TABLE}_log"} <= tables

    def test_a_ledger_on_a_sqlite_url_stores_through_our_recorder(self) -> None:
        ledger = Ledger(self.url)
        try:
            assert type(ledger.recorder) is SQLiteLedgerRecorder
        finally:
            ledger.close()


# --- PostgreSQL ------------------------------------------------------------------------------


class PostgresSetup(TestCase):
    """A fresh PostgreSQL schema per test (created by our recorder); our recorder on it."""

    __test__ = False
    originator_id_type: Literal["uuid", "text"] = "uuid"
    # The library's PostgreSQL cases start on a pool of one connection and grow it to 12
    # for their concurrent cases; an overflow of 12 does both.
    pool_size = 1
    max_overflow = 12
    connect_timeout = 5.0

    def setUp(self) -> None:
        require_postgres(self)
        super().setUp()
        self.schema = fresh_schema()
        self.datastores: list[PostgresDatastore] = []

    def tearDown(self) -> None:
        for datastore in self.datastores:
            datastore.close()
        drop_schema(self.schema)
        super().tearDown()

    def create_recorder(self) -> PostgresLedgerRecorder:
        env = library_environment(f"{POSTGRES_URL}?schema={self.schema}")
        datastore = PostgresDatastore(
            env["POSTGRES_DBNAME"],
            env["POSTGRES_HOST"],
            env["POSTGRES_PORT"],
            env["POSTGRES_USER"],
            env["POSTGRES_PASSWORD"],
            pool_size=self.pool_size,
            max_overflow=self.max_overflow,
            connect_timeout=self.connect_timeout,
            schema=self.schema,
            originator_id_type=self.originator_id_type,
        )
        self.datastores.append(datastore)
        recorder = PostgresLedgerRecorder(datastore, events_table_name=EVENTS_TABLE)
        recorder.create_table()
        return recorder

    def assert_log_dense(self) -> None:
        with psycopg.connect(POSTGRES_URL) as conn:
            events = [
                r[0]
                for r in conn.execute(
                    f'SELECT notification_id FROM "{self.schema}"."{EVENTS_TABLE}"'
                )
            ]
            log = conn.execute(
                f"SELECT log_index, notification_id "
                f'FROM "{self.schema}"."{EVENTS_TABLE}_log" ORDER BY log_index'
            ).fetchall()
        assert_dense_log(events, [(int(i), int(n)) for i, n in log])


@pytest.mark.postgres
class TestPostgresLedgerRecorderConformance(PostgresSetup, ApplicationRecorderChecks):
    __test__ = True

    def test_a_failed_insert_leaves_no_log_row_and_no_index_gap(self) -> None:
        super().test_a_failed_insert_leaves_no_log_row_and_no_index_gap()
        # PostgreSQL consumed a notification id for the failed insert; the index did not.
        with psycopg.connect(POSTGRES_URL) as conn:
            row = conn.execute(
                f'SELECT max(notification_id), count(*) FROM "{self.schema}"."{EVENTS_TABLE}"'
            ).fetchone()
        assert row is not None
        assert row[0] > row[1], "expected a notification-id gap to index over"


@pytest.mark.postgres
class TestPostgresLedgerRecorderConformanceWithTextIds(
    TextIds, PostgresSetup, ApplicationRecorderChecks
):
    __test__ = True


@pytest.mark.postgres
class TestPostgresLedgerRecorderNonInterleaving(TextIds, PostgresSetup, NonInterleavingChecks):
    __test__ = True


@pytest.mark.postgres
class TestPostgresLedgerRecorderOnOneConnection(TextIds, PostgresSetup):
    """The library's own PostgreSQL setup: a pool of exactly one connection, no overflow."""

    __test__ = True
    max_overflow = 0
    connect_timeout = 2.0  # how long a second connection is waited for

    def test_our_recorder_creates_its_tables_and_stores_on_a_pool_of_one_connection(
        self,
    ) -> None:
        recorder = self.create_recorder()
        ids = recorder.insert_events([StoredEvent("agency:one", 0, "topic", b"{}")])
        assert ids == [1]
        assert [e.state for e in recorder.select_events("agency:one")] == [b"{}"]
        self.assert_log_dense()


@pytest.mark.postgres
class TestPostgresLedgerRecorderFactory(lib.InfrastructureFactoryTestCase[PostgresFactory]):
    """The factory, configured as the ledger configures it, builds our recorder."""

    def setUp(self) -> None:
        require_postgres(self)
        self.schema = fresh_schema()
        # The library's other recorders (aggregate, tracking, process) expect the schema.
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{self.schema}"')
        self.url = f"{POSTGRES_URL}?schema={self.schema}"
        self.env = Environment("TestCase", library_environment(self.url))
        super().setUp()

    def tearDown(self) -> None:
        super().tearDown()
        drop_schema(self.schema)

    def expected_factory_class(self) -> type[PostgresFactory]:
        return PostgresFactory

    def expected_aggregate_recorder_class(self) -> type[AggregateRecorder]:
        return PostgresAggregateRecorder

    def expected_application_recorder_class(self) -> type[ApplicationRecorder]:
        return PostgresLedgerRecorder

    def expected_tracking_recorder_class(self) -> type[TrackingRecorder]:
        return PostgresTrackingRecorder

    class TrackingSubclass(PostgresTrackingRecorder):
        pass

    def tracking_recorder_subclass(self) -> type[TrackingRecorder]:
        return self.TrackingSubclass

    def expected_process_recorder_class(self) -> type[ProcessRecorder]:
        return PostgresProcessRecorder

    def test_the_factory_creates_the_side_tables_in_the_configured_schema(self) -> None:
        self.factory.application_recorder()
        with psycopg.connect(POSTGRES_URL) as conn:
            tables = {
                r[0]
                for r in conn.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                    (self.schema,),
                )
            }
        side = {"log", "tree", "tree_size", "checkpoints", "cosignatures", "tokens"}
        assert tables == {"testcase_events"} | {f"testcase_events_{name}" for name in side}

    def test_a_ledger_on_a_postgres_url_stores_through_our_recorder(self) -> None:
        ledger = Ledger(self.url)
        try:
            assert type(ledger.recorder) is PostgresLedgerRecorder
        finally:
            ledger.close()

    def test_database_functions_are_refused_because_they_bypass_the_index(self) -> None:
        self.env["POSTGRES_ENABLE_DB_FUNCTIONS"] = "y"
        factory = PostgresFactory(self.env)
        try:
            with pytest.raises(ConfigurationError, match="POSTGRES_ENABLE_DB_FUNCTIONS"):
                factory.application_recorder()
        finally:
            factory.close()
