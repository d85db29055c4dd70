"""The stored read models: ``matters``, ``custody`` and ``timeline`` (DESIGN §7).

Each is an eventsourcing ``Projection`` over a view with the library's tracking: a page of
entries' rows and the new tracking position are written in one transaction, so a crash
leaves every view at a page boundary it can resume from. Rows are facts from the log only;
what depends on the clock is computed when read.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import fields
from operator import attrgetter
from typing import Any, ClassVar

from eventsourcing.persistence import Tracking, TrackingRecorder
from eventsourcing.projection import Projection

from projections import custody
from projections.facts import PARTS, EntryFacts, MatterEventRow
from projections.store import Position, ProjectionDB

MATTER_EVENT_COLUMNS = (
    "matter_id, seq, idx, event_id, type, actor, occurred_at, recorded_at, direction, "
    "flags, competence, delegation_id, counterpart, holder_competence, body, lead_to, "
    "support_to, closes, pending_offer"
)
TIMELINE_COLUMNS = (
    "official_id, idx, event_id, matter_id, type, role, counterpart, direction, flags, "
    "occurred_at, recorded_at"
)
CUSTODY_COLUMNS = (
    "matter_id, official_id, role, from_at, started_by, started_seq, started_idx, "
    "competence, to_at, ended_by, ended_seq, ended_idx"
)


_GETTERS: dict[type, Callable[[Any], tuple[Any, ...]]] = {}


def _row(obj: Any) -> tuple[Any, ...]:
    """A dataclass's fields as a tuple, shallowly (``astuple`` deep-copies every value)."""
    cls = type(obj)
    getter = _GETTERS.get(cls)
    if getter is None:
        # One C call per row (every row of a rebuild goes through here).
        getter = _GETTERS[cls] = attrgetter(*(f.name for f in fields(cls)))
    return getter(obj)


def _placeholders(columns: str) -> str:
    return ", ".join("?" for _ in columns.split(","))


class ReadModel(Projection[TrackingRecorder]):
    """A projection whose rows live in one ``ProjectionDB``."""

    name: str = ""
    ddl: ClassVar[tuple[str, ...]] = ()
    facts: ClassVar[frozenset[str]] = PARTS  # the parts of ``EntryFacts`` ``write`` reads

    def __init__(self, db: ProjectionDB) -> None:
        super().__init__(db.recorder)
        self.db = db
        self.position = db.position()

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Process one entry's facts (the library's projection interface)."""
        assert isinstance(domain_event, EntryFacts)
        self.process_page([domain_event])

    def process_page(self, page: Sequence[EntryFacts]) -> None:
        """Write the rows of ``page`` and the position after it in one transaction."""
        todo = [f for f in page if f.index > self.position.log_index]
        if not todo:
            return
        new = Position(todo[-1].notification_id, todo[-1].index)
        with self.db.transaction() as cursor:
            self.db.advance(cursor, self.position, new)
            self.write(cursor, todo)
        self.after_commit(todo)
        self.position = new

    @abstractmethod
    def write(self, cursor: Any, page: Sequence[EntryFacts]) -> None:
        """Insert or update this view's rows for ``page`` (inside the transaction)."""

    def after_commit(self, page: Sequence[EntryFacts]) -> None:
        """Update in-memory state once the page is durable."""


class MattersView(ReadModel):
    """Every matter statement with its findings, and the registry facts reads need."""

    name = "matters"
    facts = frozenset({"matter_event", "postings", "calendar", "retro"})
    ddl = (
        "CREATE TABLE IF NOT EXISTS matter_events (matter_id TEXT NOT NULL, seq BIGINT NOT NULL, "
        "idx BIGINT NOT NULL, event_id TEXT NOT NULL, type TEXT NOT NULL, actor TEXT NOT NULL, "
        "occurred_at TEXT NOT NULL, recorded_at TEXT NOT NULL, direction TEXT, "
        "flags TEXT NOT NULL, competence TEXT, delegation_id TEXT, counterpart TEXT, "
        "holder_competence TEXT, body TEXT NOT NULL, lead_to TEXT, support_to TEXT, "
        "closes BOOLEAN NOT NULL, pending_offer TEXT, PRIMARY KEY (matter_id, seq))",
        "CREATE INDEX IF NOT EXISTS matter_events_type ON matter_events (type, idx)",
        "CREATE TABLE IF NOT EXISTS postings (official_id TEXT NOT NULL, idx BIGINT NOT NULL, "
        "since TEXT NOT NULL, agency_id TEXT NOT NULL, unit_id TEXT NOT NULL, "
        "position TEXT NOT NULL, is_head INTEGER NOT NULL, full_name TEXT NOT NULL, "
        "PRIMARY KEY (official_id, idx))",
        "CREATE INDEX IF NOT EXISTS postings_agency ON postings (agency_id)",
        "CREATE TABLE IF NOT EXISTS calendar (day TEXT NOT NULL, idx BIGINT NOT NULL, "
        "kind TEXT NOT NULL, source_document TEXT NOT NULL, event_id TEXT NOT NULL, "
        "recorded_at TEXT NOT NULL, PRIMARY KEY (day, idx))",
        "CREATE TABLE IF NOT EXISTS retro (official_id TEXT NOT NULL, idx BIGINT NOT NULL, "
        "effective_at TEXT NOT NULL, event_id TEXT NOT NULL, type TEXT NOT NULL, "
        "PRIMARY KEY (official_id, idx))",
    )

    def write(self, cursor: Any, page: Sequence[EntryFacts]) -> None:
        sql = self.db.sql
        events = [_row(f.matter_event) for f in page if f.matter_event is not None]
        if events:
            cursor.executemany(
                sql(
                    f"INSERT INTO matter_events ({MATTER_EVENT_COLUMNS}) "
                    f"VALUES ({_placeholders(MATTER_EVENT_COLUMNS)})"
                ),
                events,
            )
        postings = [
            (
                p.official_id,
                p.idx,
                p.since,
                p.agency_id,
                p.unit_id,
                p.position,
                int(p.is_head),
                p.full_name,
            )
            for f in page
            for p in f.postings
        ]
        if postings:
            cursor.executemany(
                sql(
                    "INSERT INTO postings (official_id, idx, since, agency_id, unit_id, "
                    "position, is_head, full_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                ),
                postings,
            )
        calendar = [_row(f.calendar) for f in page if f.calendar is not None]
        if calendar:
            cursor.executemany(
                sql(
                    "INSERT INTO calendar (day, idx, kind, source_document, event_id, "
                    "recorded_at) VALUES (?, ?, ?, ?, ?, ?)"
                ),
                calendar,
            )
        retro = [_row(r) for f in page for r in f.retro]
        if retro:
            cursor.executemany(
                sql(
                    "INSERT INTO retro (official_id, idx, effective_at, event_id, type) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
                ),
                retro,
            )


class TimelineView(ReadModel):
    """One row per event an official is party to (DESIGN §7)."""

    name = "timeline"
    facts = frozenset({"timeline"})
    ddl = (
        "CREATE TABLE IF NOT EXISTS timeline (official_id TEXT NOT NULL, idx BIGINT NOT NULL, "
        "event_id TEXT NOT NULL, matter_id TEXT, type TEXT NOT NULL, role TEXT NOT NULL, "
        "counterpart TEXT, direction TEXT, flags TEXT NOT NULL, occurred_at TEXT NOT NULL, "
        "recorded_at TEXT NOT NULL, PRIMARY KEY (official_id, idx, role))",
    )

    def write(self, cursor: Any, page: Sequence[EntryFacts]) -> None:
        rows = [_row(r) for f in page for r in f.timeline]
        if rows:
            cursor.executemany(
                self.db.sql(
                    f"INSERT INTO timeline ({TIMELINE_COLUMNS}) "
                    f"VALUES ({_placeholders(TIMELINE_COLUMNS)})"
                ),
                rows,
            )


class CustodyView(ReadModel):
    """Custody intervals; the open ones are kept in memory between pages."""

    name = "custody"
    facts = frozenset({"matter_event"})
    ddl = (
        "CREATE TABLE IF NOT EXISTS custody (matter_id TEXT NOT NULL, official_id TEXT NOT NULL, "
        "role TEXT NOT NULL, from_at TEXT NOT NULL, started_by TEXT NOT NULL, "
        "started_seq BIGINT NOT NULL, started_idx BIGINT NOT NULL, competence TEXT, "
        "to_at TEXT, ended_by TEXT, ended_seq BIGINT, ended_idx BIGINT, "
        "PRIMARY KEY (matter_id, started_by, official_id))",
        "CREATE INDEX IF NOT EXISTS custody_official ON custody (official_id, started_idx)",
    )

    def __init__(self, db: ProjectionDB) -> None:
        super().__init__(db)
        self.open: dict[str, custody.OpenCustody] = {}
        for row in db.read(f"SELECT {CUSTODY_COLUMNS} FROM custody WHERE ended_by IS NULL"):
            interval = interval_of(row)
            state = self.open.setdefault(interval.matter_id, custody.OpenCustody())
            if interval.role == "lead":
                state.lead = interval
            else:
                state.support[interval.official_id] = interval
        self._pending: dict[str, custody.OpenCustody] = {}

    def write(self, cursor: Any, page: Sequence[EntryFacts]) -> None:
        sql = self.db.sql
        # Work on copies: the in-memory state changes only once the page commits.
        pending: dict[str, custody.OpenCustody] = {}
        inserts: list[tuple[Any, ...]] = []
        updates: list[tuple[Any, ...]] = []
        for facts in page:
            event: MatterEventRow | None = facts.matter_event
            if event is None:
                continue
            state = pending.get(event.matter_id)
            if state is None:
                current = self.open.get(event.matter_id, custody.OpenCustody())
                state = custody.OpenCustody(current.lead, dict(current.support))
                pending[event.matter_id] = state
            ended, started = custody.step(state, event)
            for interval in ended:
                updates.append(
                    (
                        interval.to_at,
                        interval.ended_by,
                        interval.ended_seq,
                        interval.ended_idx,
                        interval.matter_id,
                        interval.started_by,
                        interval.official_id,
                    )
                )
            inserts.extend(_row(interval) for interval in started)
        # Insert before updating: an interval may start and end within one page.
        if inserts:
            cursor.executemany(
                sql(
                    f"INSERT INTO custody ({CUSTODY_COLUMNS}) "
                    f"VALUES ({_placeholders(CUSTODY_COLUMNS)})"
                ),
                inserts,
            )
        if updates:
            cursor.executemany(
                sql(
                    "UPDATE custody SET to_at = ?, ended_by = ?, ended_seq = ?, ended_idx = ? "
                    "WHERE matter_id = ? AND started_by = ? AND official_id = ?"
                ),
                updates,
            )
        self._pending = pending

    def after_commit(self, page: Sequence[EntryFacts]) -> None:
        for matter_id, state in self._pending.items():
            if state.lead is None and not state.support:
                self.open.pop(matter_id, None)
            else:
                self.open[matter_id] = state
        self._pending = {}


def interval_of(row: Any) -> custody.Interval:
    return custody.Interval(
        matter_id=row["matter_id"],
        official_id=row["official_id"],
        role=row["role"],
        from_at=row["from_at"],
        started_by=row["started_by"],
        started_seq=int(row["started_seq"]),
        started_idx=int(row["started_idx"]),
        competence=row["competence"],
        to_at=row["to_at"],
        ended_by=row["ended_by"],
        ended_seq=None if row["ended_seq"] is None else int(row["ended_seq"]),
        ended_idx=None if row["ended_idx"] is None else int(row["ended_idx"]),
    )


VIEWS: dict[str, type[ReadModel]] = {
    view.name: view for view in (MattersView, CustodyView, TimelineView)
}
