"""Fixtures shared by every test layer: databases (SQLite always, PostgreSQL when it
answers — or required with LEDGER_REQUIRE_POSTGRES=1) and a running ledger node."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ledger.crypto import SigningKey
from ledger.datadir import initialise, open_ledger
from ledger.rules import LATEST_RULES
from ledger.settings import Settings
from tests.world import (
    ORIGIN,
    REGISTRY_EPOCH,
    ROOT_ID,
    Actor,
    Node,
    TokenAuth,
    Tokens,
    World,
)

POSTGRES_URL = os.environ.get(
    "LEDGER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("LEDGER_REQUIRE_POSTGRES") == "1"


# Under CI (LEDGER_FORBID_SKIPS=1) a skipped test is a check that did not run: the session
# fails and names it, so a new skip cannot hide among the passes (issue 18).
FORBID_SKIPS = os.environ.get("LEDGER_FORBID_SKIPS") == "1"
_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # An expected failure (``xfail(strict=True)``) is reported as skipped; it ran.
    if report.skipped and not hasattr(report, "wasxfail"):
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if FORBID_SKIPS and _skipped and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FORBID_SKIPS and _skipped:
        terminalreporter.section("skipped tests are failures here (LEDGER_FORBID_SKIPS=1)")
        for nodeid in _skipped:
            terminalreporter.write_line(f"SKIPPED {nodeid}")


def _postgres_unavailable() -> str | None:
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as e:
        return f"PostgreSQL at {POSTGRES_URL} is unreachable: {e}"
    return None


@pytest.fixture(scope="session")
def postgres_base_url() -> str:
    reason = _postgres_unavailable()
    if reason:
        if REQUIRE_POSTGRES:
            pytest.fail(f"{reason} (LEDGER_REQUIRE_POSTGRES=1)")
        pytest.skip(reason)
    return POSTGRES_URL


def drop_schema(base_url: str, schema: str) -> None:
    """Drop ``schema`` and its projections' schemas (``<schema>_p_<name>``)."""
    with psycopg.connect(base_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT schema_name FROM information_schema.schemata "
            "WHERE schema_name = %s OR schema_name LIKE %s",
            (schema, schema + "\\_p\\_%"),
        ).fetchall()
        for (name,) in rows:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture
def pg_url(postgres_base_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL schema for one test, dropped afterwards."""
    schema = "t_" + uuid.uuid4().hex[:16]
    yield f"{postgres_base_url}?schema={schema}"
    drop_schema(postgres_base_url, schema)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@contextlib.contextmanager
def running_node(
    settings: Settings,
    *,
    integrate: bool | None = None,
    project: bool = False,
    rules: int | None = LATEST_RULES,
) -> Iterator[Node]:
    """Initialise a ledger for ``settings`` and run its API in-process (TestClient), with a
    token for every role and each request carrying the one an agency's system would use.
    Projections run only when ``project`` is set; tests bring them up to date with
    ``World.project()`` so that what they read is exactly what they wrote."""
    initialise(
        settings,
        origin=ORIGIN,
        root_id=ROOT_ID,
        root_name="Sở Nội vụ",
        root_valid_from=REGISTRY_EPOCH,
        rules=rules,
    )
    ledger, _ = open_ledger(settings)
    app = create_app(settings, ledger_=ledger, integrate=integrate, project=project)
    try:
        root = Actor(ROOT_ID, SigningKey.load(settings.root_key_path))
        tokens = Tokens(ledger)
        with TestClient(app, raise_server_exceptions=False) as http:
            http.auth = TokenAuth(tokens)
            yield Node(settings, ledger, http, root, tokens)
    finally:
        ledger.close()


@pytest.fixture
def node(database_url: str, tmp_path: Path) -> Iterator[Node]:
    """An initialised ledger and its API in-process, integrating in the background."""
    with running_node(Settings.load(tmp_path / "data", database_url=database_url)) as running:
        yield running


@pytest.fixture
def world(node: Node) -> World:
    return World(node)


@pytest.fixture
def old_world(database_url: str, tmp_path: Path) -> Iterator[World]:
    """A world on a ledger as releases before DESIGN v4 made them: its genesis names no
    rules version, so it is judged by version 3 until a root adopts a later one."""
    settings = Settings.load(tmp_path / "data", database_url=database_url)
    with running_node(settings, rules=None) as running:
        yield World(running)
