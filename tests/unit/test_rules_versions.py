"""Rules versions (DESIGN §4 v4) and the values version 4 refuses at the door (§3 v4).

A ledger written by an earlier release (version 3) keeps its entries valid forever: a
replay judges each entry by the version in force at its index. Version 4 refuses what
would poison every read that touches it — absurd instants and working days, identifiers
with a trailing newline, control and bidirectional characters — once a ledger is under it:
new ledgers start there, older ones adopt it with ``ledger.rules_adopted``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from ledger.replay import verify_signature
from ledger.state import LedgerState
from ledger.statements import Envelope
from tests.unit.rules_world import Office, RulesWorld, matter_body
from tests.world import Actor

MATTER = "matter:H10.15-260302-0001"

# Values version 3 accepted and version 4 refuses: (type, body change, field named).
ABSURD: list[tuple[str, dict[str, Any], str]] = [
    ("deadline.extended", {"new_due_at": "9999-12-31T23:59:59-01:00"}, "new_due_at"),
    ("deadline.extended", {"new_due_at": "2100-01-01T00:00:00+00:00"}, "new_due_at"),
    ("deadline.extended", {"new_due_at": "1999-12-31T16:59:59+07:00"}, "new_due_at"),
    ("deadline.extended", {"reason": "Gia hạn\u202e"}, "reason"),
    ("deadline.extended", {"reason": "Gia hạn\u200b"}, "reason"),
    ("deadline.extended", {"reason": "Gia hạn\x85"}, "reason"),  # a C1 control (NEL)
    ("deadline.extended", {"reason": "Gia hạn\r\nlần hai"}, "reason"),  # CR in free text
    ("deadline.extended", {"apology_document": "04/CV\ufeff"}, "apology_document"),
    ("consultation.requested", {"reply_due_at": "0001-01-01T00:00:00+01:00"}, "reply_due_at"),
]


def _extension(**change: Any) -> dict[str, Any]:
    return {"new_due_at": "2026-04-30T17:00:00+07:00", "reason": "Chờ kết quả đo đạc", **change}


def _body(type_: str, office: Office, change: dict[str, Any]) -> dict[str, Any]:
    if type_ == "deadline.extended":
        return _extension(**change)
    return {"to": office.chief.id, "question": "Xin ý kiến về ranh giới", **change}


@pytest.mark.parametrize(("type_", "change", "field"), ABSURD)
def test_version_4_refuses_what_would_poison_reads_and_names_the_field(
    type_: str, change: dict[str, Any], field: str
) -> None:
    office = Office()
    world = office.world
    assert world.state.rules_version == 4
    world.open_matter("H10.15-260302-0001", office.clerk)
    error = world.reject(
        type_, MATTER, office.clerk, _body(type_, office, change), "invalid-statement"
    )
    assert f"statement.body.{field}" in error.detail
    assert "rules version 4" in error.detail


@pytest.mark.parametrize(("type_", "change", "field"), ABSURD)
def test_version_3_accepted_the_same_values(type_: str, change: dict[str, Any], field: str) -> None:
    office = Office(RulesWorld(rules=None))
    world = office.world
    world.open_matter("H10.15-260302-0001", office.clerk)
    world.ok(type_, MATTER, office.clerk, _body(type_, office, change))


@pytest.mark.parametrize("days", [0, 1001, 2**53 - 1])
def test_version_4_refuses_deadlines_outside_1_to_1000_working_days(days: int) -> None:
    office = Office()
    body = {**matter_body(), "deadline_working_days": days}
    error = office.world.reject("matter.opened", MATTER, office.clerk, body, "invalid-statement")
    assert "deadline_working_days" in error.detail


def test_the_edges_of_version_4s_ranges_are_accepted() -> None:
    office = Office()
    world = office.world
    world.ok(
        "matter.opened", MATTER, office.clerk, {**matter_body(), "deadline_working_days": 1000}
    )
    world.ok(
        "deadline.extended", MATTER, office.clerk, _extension(new_due_at="2099-12-31T23:59:59Z")
    )
    world.ok("deadline.extended", MATTER, office.clerk, _extension(reason="Dòng một\n\tdòng hai"))


@pytest.mark.parametrize(
    ("subject", "field"),
    [
        ("official:ta.cong.nam\n", "statement.subject"),
        ("official:ta.cong.nam\u202e", "statement.subject"),
    ],
)
def test_version_4_refuses_an_official_id_with_a_trailing_newline_or_a_control(
    subject: str, field: str
) -> None:
    office = Office()
    world = office.world
    body = {
        "full_name": "Tạ Công Nam",
        "agency_id": "H10",
        "unit_id": "lanh-dao",
        "position": "Chuyên viên",
        "is_head": False,
    }
    error = world.reject(
        "official.registered", subject, office.registrar, body, "invalid-statement"
    )
    assert field in error.detail or "subject" in error.detail


@pytest.mark.parametrize(
    "change",
    [{"procedure_code": "1.004227\n"}, {"agency_id": "H10\n"}, {"title": "Cấp giấy\u202e"}],
)
def test_version_4_refuses_codes_and_names_with_a_newline_or_a_bidi_control(
    change: dict[str, Any],
) -> None:
    office = Office()
    (name,) = change
    error = office.world.reject(
        "matter.opened", MATTER, office.clerk, {**matter_body(), **change}, "invalid-statement"
    )
    assert f"statement.body.{name}" in error.detail


def test_version_4_refuses_an_event_id_with_a_trailing_newline() -> None:
    office = Office()
    world = office.world
    error = world.reject(
        "matter.opened",
        MATTER,
        office.clerk,
        matter_body(),
        "invalid-statement",
        event_id="4b0c1d2e-0000-4000-8000-000000000001\n",
    )
    assert "statement.event_id" in error.detail


def test_a_name_ending_in_a_bidi_control_is_refused_in_a_registration() -> None:
    office = Office()
    body = {
        "full_name": "Phạm Đức Tuấn\u202e",
        "agency_id": "H10",
        "unit_id": "lanh-dao",
        "position": "Chuyên viên",
        "is_head": False,
    }
    error = office.world.reject(
        "official.registered", "official:naut.cud.mahp", office.registrar, body, "invalid-statement"
    )
    assert "statement.body.full_name" in error.detail


def test_a_correction_cannot_smuggle_what_version_4_refuses() -> None:
    office = Office()
    world = office.world
    world.open_matter("H10.15-260302-0001", office.clerk)
    world.ok("deadline.extended", MATTER, office.clerk, _extension())
    target = world.last_event_id
    body = {
        "target_event_id": target,
        "reason": "Đính chính",
        "corrections": {"new_due_at": "9999-12-31T23:59:59-01:00"},
    }
    world.reject("correction.recorded", MATTER, office.clerk, body, "invalid-statement")


# --- a version-3 ledger adopts version 4 ----------------------------------------------------


class Recording(RulesWorld):
    """A world that keeps the log it admitted, to replay it into a fresh state."""

    def __init__(self, **kw: Any) -> None:
        self.log: list[tuple[Envelope, datetime]] = []
        super().__init__(**kw)

    def admit(self, env: Envelope, *, recorded_at: datetime | None = None) -> Any:
        recorded = recorded_at or self.next_recorded_at()
        assessment = super().admit(env, recorded_at=recorded)
        self.log.append((env, recorded))
        return assessment


def _replay(log: list[tuple[Envelope, datetime]]) -> list[Any]:
    """Every verdict again, in a fresh state, as the audit and a bundle verifier do."""
    state = LedgerState()
    verdicts = []
    for index, (env, recorded_at) in enumerate(log):
        verdicts.append(
            state.admit(env, index=index, recorded_at=recorded_at, check_signature=verify_signature)
        )
        state.commit()
    return verdicts


def test_an_old_ledger_keeps_its_entries_and_judges_new_ones_by_the_version_it_adopts() -> None:
    world = Recording(rules=None)
    office = Office(world)
    clerk: Actor = office.clerk
    world.open_matter("H10.15-260302-0001", clerk)
    # Under version 3 the absurd value is accepted and stored, forever.
    world.ok("deadline.extended", MATTER, clerk, _extension(new_due_at="9999-12-31T23:59:59-01:00"))

    world.ok("ledger.rules_adopted", "ledger", office.root, {"version": 4})

    # From then on the same value is refused …
    world.reject(
        "deadline.extended",
        MATTER,
        clerk,
        _extension(new_due_at="9999-12-31T23:59:59-01:00"),
        "invalid-statement",
    )
    # … a sensible one is accepted …
    world.ok("deadline.extended", MATTER, clerk, _extension())
    # … and a replay of the whole log, as the audit makes it, gives the same verdicts.
    assert len(_replay(world.log)) == len(world.log) == world.state.last_index + 1
    replayed = LedgerState()
    for index, (env, recorded_at) in enumerate(world.log):
        replayed.admit(env, index=index, recorded_at=recorded_at, check_signature=verify_signature)
        replayed.commit()
    assert replayed.rules_version == 4
    assert replayed.heads == world.state.heads


def test_the_old_value_would_be_refused_had_it_come_after_the_adoption() -> None:
    world = Recording(rules=None)
    office = Office(world)
    world.ok("ledger.rules_adopted", "ledger", office.root, {"version": 4})
    world.open_matter("H10.15-260302-0001", office.clerk)
    error = world.reject(
        "deadline.extended",
        MATTER,
        office.clerk,
        _extension(new_due_at="9999-12-31T23:59:59-01:00"),
        "invalid-statement",
    )
    assert "rules version 4" in error.detail
