"""Following the log: one runner feeds every read model, resumably, exactly once per entry.

Each entry is admitted again into a ``LedgerState`` (``apply_trusted``: bytes and
signatures the log accepted are not re-checked; ``ledgerctl verify`` re-checks them) to
learn what the registry said at its ``occurred_at`` — direction, competence findings,
flags — and the facts go to every view whose position is before it. At start-up the state
is rebuilt by replaying the log up to the lowest view position. The library's SQLite
recorder has no subscriptions, so on SQLite the runner polls; on PostgreSQL it LISTENs on
the channel the library NOTIFYs on, with a watchdog timeout so a lost notification
(eventsourcing issue #305) costs at most one interval, never a stalled projection.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg

from ledger.replay import apply_trusted, collector_paused
from ledger.state import LedgerState
from ledger.storage import LedgerRecorder, LogRecord, PostgresLedgerRecorder
from projections.facts import EntryFacts, facts_of
from projections.store import (
    ProjectionDB,
    Resync,
    discard,
    fresh_database,
    projection_url,
    swap_in,
)
from projections.views import VIEWS, ReadModel

log = logging.getLogger("ledger.projections")

PAGE = 1000


@dataclass
class ViewStatus:
    name: str
    log_index: int
    notification_id: int | None
    lag: int


class ProjectionRunner:
    """Keeps the named views in step with the ledger's log."""

    def __init__(
        self,
        recorder: LedgerRecorder,
        ledger_url: str,
        *,
        names: Iterable[str] = tuple(VIEWS),
        databases: dict[str, ProjectionDB] | None = None,
        page: int = PAGE,
        poll: float = 0.2,
        watchdog: float = 1.0,
    ) -> None:
        self.recorder = recorder
        self.ledger_url = ledger_url
        self.names = tuple(names)
        unknown = set(self.names) - set(VIEWS)
        if unknown:
            raise ValueError(f"unknown projection(s) {sorted(unknown)}; known: {sorted(VIEWS)}")
        self.parts = frozenset[str]().union(*(VIEWS[name].facts for name in self.names))
        self.page = page
        self.poll = poll
        self.watchdog = watchdog
        self._given = databases
        self.views: dict[str, ReadModel] = {}
        self.state = LedgerState()
        self.last_progress = time.monotonic()

    def _open(self) -> None:
        for view in self.views.values():
            if self._given is None:
                view.db.close()
        self.views = {}
        for name in self.names:
            db = (self._given or {}).get(name) or ProjectionDB(
                projection_url(self.ledger_url, name), VIEWS[name].ddl
            )
            self.views[name] = VIEWS[name](db)
        self.state = LedgerState()
        target = min(v.position.log_index for v in self.views.values())
        for _, record in self._records(0, target + 1):
            apply_trusted(self.state, record)

    def close(self) -> None:
        if self._given is None:
            for view in self.views.values():
                view.db.close()

    def _discard(self) -> None:
        """Forget the views and the state; the next ``step`` reopens from stored positions."""
        self.close()
        self.views = {}
        self.state = LedgerState()

    def _records(self, start: int, end: int) -> Iterator[tuple[int, LogRecord]]:
        while start < end:
            batch = self.recorder.numbered_records(start, min(end, start + self.page))
            yield from batch
            if not batch:
                return
            start = batch[-1][1].index + 1

    # --- processing ----------------------------------------------------------------------

    def step(self) -> int:
        """Process at most one page of new entries; how many entries were processed."""
        if not self.views:
            self._open()
        if any(view.db.swapped() for view in self.views.values()):
            log.info("a rebuilt projection was swapped in; starting over from its position")
            self._open()
        start = self.state.last_index + 1
        batch = self.recorder.numbered_records(start, start + self.page)
        if not batch:
            return 0
        try:
            page: list[EntryFacts] = []
            for notification_id, record in batch:
                verdict = apply_trusted(self.state, record)
                page.append(facts_of(verdict, self.state, notification_id, self.parts))
            for view in self.views.values():
                view.process_page(page)
        except Resync as e:
            log.warning("projection position moved under this runner (%s); reopening", e)
            self._open()
            return 0
        except BaseException:
            # The state is past this page but a view may not be: start over from the
            # stored positions on the next step, never skip what a view did not write.
            self._discard()
            raise
        self.last_progress = time.monotonic()
        return len(batch)

    def catch_up(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Process every entry stored now; ``progress(done, total)`` after each page."""
        total = self.recorder.size()
        done = 0
        while True:
            n = self.step()
            done += n
            if progress is not None:
                progress(min(self.state.last_index + 1, total), total)
            if n == 0:
                return done

    @staticmethod
    def positions(recorder: LedgerRecorder, ledger_url: str) -> dict[str, int]:
        """Each projection's stored position (log index), without running anything."""
        out: dict[str, int] = {}
        for name, view in VIEWS.items():
            db = ProjectionDB(projection_url(ledger_url, name), view.ddl)
            try:
                out[name] = db.position().log_index
            finally:
                db.close()
        return out

    def status(self) -> list[ViewStatus]:
        if not self.views:
            self._open()
        size = self.recorder.size()
        return [
            ViewStatus(
                name,
                view.position.log_index,
                view.position.notification_id,
                size - 1 - view.position.log_index,
            )
            for name, view in self.views.items()
        ]

    # --- following -----------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Follow the log until ``stop`` is set."""
        with self._wake_ups(self.watchdog) as wait:
            while not stop.is_set():
                try:
                    if self.step():
                        continue
                except Exception:  # the loop must survive a database hiccup, loudly
                    log.exception("projection round failed; retrying")
                    stop.wait(1.0)
                    continue
                wait(stop, self.poll)

    @contextlib.contextmanager
    def _wake_ups(self, watchdog: float) -> Iterator[Callable[[threading.Event, float], None]]:
        if not isinstance(self.recorder, PostgresLedgerRecorder):

            def sleep(stop: threading.Event, poll: float) -> None:
                stop.wait(poll)

            yield sleep
            return
        params: dict[str, Any] = dict(self.recorder.datastore.pool.kwargs or {})  # type: ignore[arg-type]
        conn = psycopg.connect(
            **{k: params[k] for k in ("dbname", "host", "port", "user", "password")},
            autocommit=True,
        )
        try:
            conn.execute(f'LISTEN "{self.recorder.channel_name}"')

            def listen(stop: threading.Event, poll: float) -> None:
                # Wakes on NOTIFY; the timeout is the watchdog against a lost notification.
                for _ in conn.notifies(timeout=min(watchdog, 1.0), stop_after=1):
                    break

            yield listen
        finally:
            conn.close()

    def run_or_stand_by(self, stop: threading.Event, *, standby: float = 2.0) -> None:
        """Run while this process holds the projections lock; else stand by and take over."""
        standing_by = False
        while not stop.is_set():
            with self.recorder.role_lock("projections") as held:
                if held:
                    log.info("running projections %s", ", ".join(self.names))
                    standing_by = False
                    self._open()
                    self.run(stop)
                    continue
            if not standing_by:
                log.info("another process runs the projections; standing by")
            standing_by = True
            stop.wait(standby)


@dataclass(frozen=True)
class RebuildResult:
    name: str
    entries: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.entries / self.seconds if self.seconds > 0 else float("inf")


def rebuild(
    recorder: LedgerRecorder,
    ledger_url: str,
    name: str,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> RebuildResult:
    """Build projection ``name`` from index 0 into a fresh database, then swap it in."""
    if name not in VIEWS:
        raise ValueError(f"unknown projection {name!r}; known: {', '.join(VIEWS)}")
    live = projection_url(ledger_url, name)
    fresh = fresh_database(live, VIEWS[name].ddl)
    started = time.perf_counter()
    try:
        runner = ProjectionRunner(recorder, ledger_url, names=[name], databases={name: fresh})
        with collector_paused():
            entries = runner.catch_up(progress)
    except BaseException:
        discard(fresh)
        raise
    seconds = time.perf_counter() - started
    swap_in(fresh, live)
    return RebuildResult(name, entries, seconds)
