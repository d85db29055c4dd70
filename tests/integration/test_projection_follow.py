"""Following the log: polling on SQLite, NOTIFY plus a watchdog on PostgreSQL, and one
runner at a time per ledger."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from ledger.application import Ledger
from projections.runner import ProjectionRunner
from projections.store import ProjectionDB, projection_url
from projections.views import VIEWS
from tests.world import World


def _wait_for(condition: Callable[[], bool], timeout: float) -> float:
    """Seconds until ``condition`` held; fails after ``timeout``."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not reached within {timeout} s")
        time.sleep(0.02)
    return time.monotonic() - start


def _position(ledger: Ledger, name: str = "timeline") -> int:
    db = ProjectionDB(projection_url(ledger.database_url, name), VIEWS[name].ddl)
    try:
        return db.position().log_index
    finally:
        db.close()


@contextmanager
def _following(runner: ProjectionRunner, *, stand_by: bool = False) -> Iterator[threading.Thread]:
    stop = threading.Event()
    target = runner.run_or_stand_by if stand_by else runner.run
    thread = threading.Thread(target=target, args=(stop,), daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        stop.set()
        thread.join(timeout=10)
        runner.close()


def _runner(world: World, ledger: Ledger | None = None, **kw: float) -> ProjectionRunner:
    ledger = ledger or world.ledger
    return ProjectionRunner(ledger.recorder, ledger.database_url, **kw)


def _append_one(world: World) -> int:
    world.agency(f"A{time.monotonic_ns()}")
    return world.ledger.size() - 1


def test_a_following_runner_projects_what_is_appended_while_it_runs(world: World) -> None:
    with _following(_runner(world, poll=0.05, watchdog=0.5)):
        last = _append_one(world)
        _wait_for(lambda: _position(world.ledger) == last, timeout=10)
        last = _append_one(world)
        _wait_for(lambda: _position(world.ledger) == last, timeout=10)


@pytest.mark.postgres
def test_a_notify_wakes_the_runner_long_before_its_watchdog(pg_world: World) -> None:
    world = pg_world
    with _following(_runner(world, watchdog=30.0)):
        _wait_for(lambda: _position(world.ledger) == world.ledger.size() - 1, timeout=10)
        time.sleep(0.5)  # the runner is now waiting on LISTEN
        last = _append_one(world)
        waited = _wait_for(lambda: _position(world.ledger) == last, timeout=10)
    assert waited < 10  # far below the 30 s watchdog: the NOTIFY woke it


@pytest.mark.postgres
def test_a_lost_notification_costs_at_most_the_watchdog_interval(pg_world: World) -> None:
    world = pg_world
    # The runner reads through its own recorder whose channel never fires: every NOTIFY
    # is lost to it (eventsourcing issue #305), and only the watchdog can wake it.
    deaf = Ledger(world.ledger.database_url)
    deaf.recorder.channel_name = "nobody_notifies_this_channel"  # type: ignore[attr-defined]
    try:
        with _following(_runner(world, deaf, watchdog=0.5)):
            _wait_for(lambda: _position(world.ledger) == world.ledger.size() - 1, timeout=10)
            last = _append_one(world)
            _wait_for(lambda: _position(world.ledger) == last, timeout=10)
    finally:
        deaf.close()


def test_only_one_runner_projects_a_ledger_and_another_takes_over_when_it_stops(
    world: World,
) -> None:
    first, second = _runner(world, poll=0.05), _runner(world, poll=0.05)
    stop_first = threading.Event()
    thread = threading.Thread(target=first.run_or_stand_by, args=(stop_first,), daemon=True)
    thread.start()
    try:
        _wait_for(lambda: _position(world.ledger) == world.ledger.size() - 1, timeout=10)
        with _following(second, stand_by=True):
            time.sleep(0.3)
            assert not second.views, "the second runner must stand by while the first runs"
            stop_first.set()
            thread.join(timeout=10)
            last = _append_one(world)
            # The stand-by notices within its 2 s stand-by interval and takes over.
            _wait_for(lambda: _position(world.ledger) == last, timeout=15)
            assert second.views
    finally:
        stop_first.set()
        thread.join(timeout=10)
        first.close()


@pytest.fixture
def pg_world(pg_url: str, tmp_path: object) -> Iterator[World]:
    from pathlib import Path

    from ledger.settings import Settings
    from tests.conftest import running_node

    assert isinstance(tmp_path, Path)
    with running_node(Settings.load(tmp_path / "data", database_url=pg_url)) as node:
        yield World(node)


def test_readiness_fails_while_a_projection_leaves_an_entry_waiting_over_a_minute(
    world: World,
) -> None:
    from datetime import timedelta

    from api.observability import projection_stall
    from ledger.times import parse_instant, utc_now

    world.agency("SO-READY")
    positions = {name: _position(world.ledger, name) for name in VIEWS}
    waiting = world.ledger.records(positions["matters"] + 1, positions["matters"] + 2)[0]
    recorded = parse_instant(waiting.recorded_at)
    assert projection_stall(world.ledger, positions, now=recorded + timedelta(seconds=59)) is None
    stall = projection_stall(world.ledger, positions, now=recorded + timedelta(seconds=61))
    assert stall is not None
    assert f"entry {positions['matters'] + 1}" in stall
    world.project()
    caught_up = {name: _position(world.ledger, name) for name in VIEWS}
    assert projection_stall(world.ledger, caught_up, now=utc_now() + timedelta(days=1)) is None
    assert world.http.get("/readyz").status_code == 200


def test_many_threads_opening_a_fresh_projection_database_at_once_all_succeed(
    world: World,
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    url = projection_url(world.ledger.database_url, "timeline")

    def open_and_read(_: int) -> int:
        db = ProjectionDB(url, VIEWS["timeline"].ddl)
        try:
            return db.position().log_index
        finally:
            db.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(open_and_read, range(8))) == [-1] * 8
