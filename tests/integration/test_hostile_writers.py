"""Hostile writers (issue 13): each attack sent as reported, and a variant of it.

Every test asserts what the attacker gets (a 4xx problem, or the affected matter reported
in its place), that the log is unchanged by what was refused, and that ``/healthz`` still
answers promptly afterwards. The event-loop attack (item 8) needs a real server:
``tests/e2e/test_hostile_server.py``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from api.bodies import count_items
from ledger.canonical import jcs
from ledger.client import envelope, make_statement
from ledger.state import LedgerState
from tests.world import PROCEDURE, Actor, AgencyHandle, World, problem_slug

PROMPT = 1.0  # seconds: a liveness probe after an attack answers within this


def assert_healthy(world: World) -> None:
    began = time.perf_counter()
    response = world.http.get("/healthz")
    assert response.status_code == 200, response.text
    assert time.perf_counter() - began < PROMPT


@contextmanager
def log_unchanged(world: World) -> Iterator[None]:
    before = world.ledger.size()
    yield
    assert world.ledger.size() == before, "a refused statement left a trace in the log"


def opened_body(agency: AgencyHandle, days: int = 5) -> dict[str, Any]:
    return {
        "title": "Cấp giấy phép xây dựng",
        "procedure_code": PROCEDURE,
        "agency_id": agency.id,
        "deadline_working_days": days,
        "applicant_ref": "HS-0001",
    }


# --- item 8: a batch of too many envelopes is refused once counted ------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"[]", 0),
        (b" [ 1 , 2 ,3 ] ", 3),
        (b'["a", {"b": [1, 2]}, "]", "\\""]', 4),
        (b"[1,2,3", None),  # unterminated: the strict parser names the fault
        (b"[1,,2]", None),
        (b"{}", None),
        (b"[\xff]", None),
        (b"", None),
    ],
)
def test_the_item_count_reads_a_json_array_as_json_does(body: bytes, expected: int | None) -> None:
    assert count_items(body, 1000) == expected


def test_the_item_count_stops_past_the_limit_and_survives_its_decoding_windows() -> None:
    # numbers and multi-byte text cut at every window boundary still count once each
    item = b'{"n": 1234567, "t": "C\xc3\xb4ng v\xc4\x83n"}'
    body = b"[" + b",".join([item] * 60_000) + b"]"
    assert count_items(body, 100_000) == 60_000
    assert count_items(body, 1000) == 1001
    long_string = b'["' + b"x" * 3_000_000 + b'", 12345678]'
    assert count_items(long_string, 10) == 2


def calendar_items(world: World, count: int) -> bytes:
    key = world.root.key
    item = jcs(
        envelope(
            make_statement(
                "calendar.adjusted",
                "calendar:VN",
                seq=0,
                prev=None,
                actor=world.root.id,
                key_id=key.key_id,
                body={"date": "2027-01-02", "kind": "day_off", "source_document": "CV 1/BNV"},
            ),
            key,
        )
    )
    return b"[" + b",".join([item] * count) + b"]"


@pytest.mark.parametrize("count", [1001, 25_000], ids=["one-too-many", "16-MiB-worth"])
def test_a_batch_of_too_many_envelopes_is_refused_before_the_rest_is_decoded(
    world: World, count: int
) -> None:
    body = calendar_items(world, count)
    # the rest of the body is not even JSON: only a count that stops at 1,001 answers 413
    broken = body[: len(body) // 2] + b"\x00 not json"
    for content in (body, broken) if count > 2000 else (body,):
        with log_unchanged(world):
            response = world.http.post(
                "/v1/events:batch",
                content=content,
                headers={
                    "Content-Type": "application/json",
                    "Authorization": f"Bearer {world.node.tokens.root_writer}",
                },
            )
        assert response.status_code == 413, response.text
        assert problem_slug(response) == "payload-too-large"
        assert "more than 1000 envelopes" in response.json()["detail"]
    assert_healthy(world)


# --- item 9: a batch's failures cost each one pass, not one pass each ---------------------


@dataclass
class Town:
    so: AgencyHandle
    clerk: Actor
    head: Actor
    other: AgencyHandle
    stranger: Actor


@pytest.fixture
def town(world: World) -> Town:
    so = world.agency("H10")
    head = world.official("truong.phong", so, head=True)
    clerk = world.official("chuyen.vien", so)
    other = world.agency("H20")
    stranger = world.official("ly.huu.quang", other)
    return Town(so, clerk, head, other, stranger)


def signed(
    world: World,
    type_: str,
    subject: str,
    actor: Actor,
    body: dict[str, Any],
    seq: int,
    prev: str | None,
) -> dict[str, Any]:
    return envelope(
        make_statement(
            type_,
            subject,
            seq=seq,
            prev=prev,
            actor=actor.id,
            key_id=actor.key.key_id,
            body=body,
            occurred_at=world.at(),
        ),
        actor.key,
    )


@pytest.mark.parametrize("failing_kind", ["matter", "official"])
def test_a_batch_of_valid_items_beside_items_failing_on_their_own_subjects_is_judged_once(
    world: World, town: Town, failing_kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reported attack, 50 + 50 here: each failing item on a subject of its own, after
    valid work. Judging again from the start after each failure admitted ~50²/2 statements;
    one pass admits each valid item once."""
    valid, failing = [], []
    for n in range(50):
        subject = f"matter:H10-v{n}"
        valid.append(
            signed(world, "matter.opened", subject, town.clerk, opened_body(town.so), 0, None)
        )
        if failing_kind == "matter":  # an H10 clerk opens a matter for H20 (step 12)
            body = opened_body(town.other)
            failing.append(
                signed(world, "matter.opened", f"matter:H20-x{n}", town.clerk, body, 0, None)
            )
        else:  # a clerk signs a registration only a registrar may sign
            body = {
                "full_name": "Lê Văn Giả",
                "agency_id": "H10",
                "unit_id": "lanh-dao",
                "position": "Chuyên viên",
                "is_head": False,
            }
            failing.append(
                signed(world, "official.registered", f"official:gia.{n}", town.clerk, body, 0, None)
            )
    items = [item for pair in zip(valid, failing, strict=True) for item in pair]
    admitted = 0
    real_admit = LedgerState.admit

    def counting_admit(self: LedgerState, *args: Any, **kwargs: Any) -> Any:
        nonlocal admitted
        admitted += 1
        return real_admit(self, *args, **kwargs)

    monkeypatch.setattr(LedgerState, "admit", counting_admit)
    before = world.ledger.size()

    response = world.http.post(
        "/v1/events:batch",
        content=jcs(items),
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {world.node.tokens.writer('H10')}",
        },
    )

    assert response.status_code == 200, response.text
    results = response.json()
    assert [r.get("event_id") for r in results[::2]] == [v["statement"]["event_id"] for v in valid]
    assert {r["type"].rsplit(":", 1)[1] for r in results[1::2]} == {"not-permitted"}
    assert admitted == len(items)  # each item judged once: no item judged again
    assert world.ledger.size() == before + len(valid)
    for item in failing:
        assert world.ledger.recorder.record_by_event_id(item["statement"]["event_id"]) is None
    assert_healthy(world)


# --- item 10: instants at the edge of the range in a read, and a Location header ----------


READS_WITH_AS_OF_AND_TO = (
    "/v1/matters/{matter}",
    "/v1/matters/{matter}/custody",
    "/v1/officials/{official}/timeline",
    "/v1/officials/{official}/indicators",
    "/v1/agencies/{agency}/indicators",
)
READS_WITH_AS_OF_ONLY = ("/v1/matters/{matter}/evidence",)
READS_WITH_FROM = (
    "/v1/officials/{official}/timeline",
    "/v1/officials/{official}/indicators",
    "/v1/agencies/{agency}/indicators",
    "/v1/officials/{official}/evidence",
)


@pytest.mark.parametrize(
    "instant",
    [
        "0001-01-01T00:00:00+01:00",  # the reported one: no year at all in UTC
        "9999-12-31T23:59:59-01:00",
        "1999-12-31T23:59:59Z",
        "2099-12-31T23:59:59-07:00",  # 2100 in UTC
    ],
)
def test_an_instant_outside_the_ledgers_years_in_a_read_is_a_malformed_request(
    world: World, town: Town, instant: str
) -> None:
    matter = world.open_matter("H10-0001", town.clerk, town.so)
    world.project()
    names = {"matter": matter.removeprefix("matter:"), "official": town.clerk.id, "agency": "H10"}
    asked = [
        (path, param)
        for path, params in (
            *((p, ("as_of", "to")) for p in READS_WITH_AS_OF_AND_TO),
            *((p, ("as_of",)) for p in READS_WITH_AS_OF_ONLY),
            *((p, ("from",)) for p in READS_WITH_FROM),
        )
        for param in params
    ]
    with log_unchanged(world):
        for path, param in asked:
            response = world.http.get(path.format(**names), params={param: instant})
            assert response.status_code == 400, f"{path}?{param}: {response.text}"
            assert problem_slug(response) == "malformed-request"
            detail = response.json()["detail"]
            assert f"query parameter {param}=" in detail
            assert "2000–2099" in detail
    assert_healthy(world)


def test_the_years_at_the_edges_of_the_range_are_read(world: World, town: Town) -> None:
    matter = world.open_matter("H10-0001", town.clerk, town.so)
    world.project()
    path = f"/v1/matters/{matter.removeprefix('matter:')}"
    for params in (
        {"as_of": "2099-12-31T23:59:59Z"},
        {"to": "2099-12-31T23:59:59.999999Z"},
        {"as_of": "2000-01-01T00:00:00Z"},
    ):
        response = world.http.get(path, params=params)
        assert response.status_code in (200, 404), response.text  # 404: nothing recorded by 2000


def test_an_event_id_ending_in_a_newline_gets_its_receipt_and_a_safe_location(
    old_world: World,
) -> None:
    """The reported attack: rules version 3 accepts ``<uuid>\\n`` as an event id; the entry
    is stored, and the Location header must still be a legal one (percent-encoded)."""
    world = old_world
    agency = world.agency("H10")
    clerk = world.official("chuyen.vien", agency)
    event_id = str(uuid.uuid4()) + "\n"
    env = world.envelope(
        "matter.opened", "matter:H10-0001", clerk, opened_body(agency), event_id=event_id
    )

    created = world.post(env)
    assert created.status_code == 201, created.text
    replayed = world.post(env)  # the variant: an exact replay answers 200 with its Location
    assert replayed.status_code == 200, replayed.text
    waited = world.http.post(
        "/v1/events",
        params={"wait": "true"},
        content=jcs(env),
        headers={"Content-Type": "application/json"},
    )
    assert waited.status_code in (200, 202), waited.text

    for response in (created, replayed, waited):
        location = response.headers["location"]
        assert location == f"/v1/events/{event_id[:-1]}%0A"
        assert location.isprintable()
        assert location.isascii()
        assert response.json()["event_id"] == event_id
    # the Location leads to the receipt
    receipt = world.http.get(created.headers["location"])
    assert receipt.status_code == 200, receipt.text
    assert receipt.json() == {k: v for k, v in created.json().items() if k in receipt.json()}
    assert_healthy(world)


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\t"])
def test_an_event_id_with_a_control_character_is_refused_under_version_4(
    world: World, town: Town, ending: str
) -> None:
    event_id = str(uuid.uuid4()) + ending
    with log_unchanged(world):
        response = world.send(
            "matter.opened", "matter:H10-0001", town.clerk, opened_body(town.so), event_id=event_id
        )
    assert response.status_code == 422, response.text
    assert problem_slug(response) == "invalid-statement"
    assert "location" not in response.headers
    assert_healthy(world)


# --- item 11: what a refusal tells another agency's writer --------------------------------


@dataclass
class TwoAgencies:
    h10: AgencyHandle
    h20: AgencyHandle
    custodian: Actor  # ly.huu.quang of H20 holds the matter
    colleague: Actor  # another H20 official
    outsider: Actor  # an H10 official with no part in the matter
    addressee: Actor  # an H10 official the matter is later offered to
    matter: str  # H20's matter


@pytest.fixture
def two(world: World) -> TwoAgencies:
    h10, h20 = world.agency("H10"), world.agency("H20")
    custodian = world.official("ly.huu.quang", h20)
    colleague = world.official("tran.van.h20", h20)
    outsider = world.official("nguyen.van.h10", h10)
    addressee = world.official("le.thi.h10", h10)
    matter = world.open_matter("H20.15-261204-0001", custodian, h20)
    return TwoAgencies(h10, h20, custodian, colleague, outsider, addressee, matter)


def refused(
    world: World, two: TwoAgencies, type_: str, actor: Actor, body: dict[str, Any]
) -> dict[str, Any]:
    with log_unchanged(world):
        response = world.send(type_, two.matter, actor, body)
    assert 400 <= response.status_code < 500, response.text
    problem: dict[str, Any] = response.json()
    problem["slug"] = problem_slug(response)
    return problem


def tells_nothing(problem: dict[str, Any], *secrets: str) -> None:
    assert problem["status"] == 403, problem
    assert problem["slug"] == "not-permitted", problem
    for secret in secrets:
        assert secret not in str(problem), problem


def test_a_refused_append_on_another_agencys_matter_does_not_name_its_custodian(
    world: World, two: TwoAgencies
) -> None:
    # the reported attack: H10's writer offers H20's matter on behalf of an H10 official
    problem = refused(
        world, two, "handoff.offered", two.outsider, {"to": two.addressee.id, "reason": "Chuyển"}
    )
    tells_nothing(problem, two.custodian.id, "holds it")
    assert two.outsider.id in problem["detail"]  # what the writer sent, and nothing more
    # the variant: a decision, whose refusal names the custodian and the procedure code
    problem = refused(
        world,
        two,
        "decision.recorded",
        two.outsider,
        {"outcome": "approved", "summary": "Cấp", "legal_basis": "Luật", "capacity": "own"},
    )
    tells_nothing(problem, two.custodian.id, PROCEDURE)
    assert_healthy(world)


def test_whether_an_id_is_a_registered_official_is_not_told_on_another_agencys_matter(
    world: World, two: TwoAgencies
) -> None:
    """422 ``unknown-official`` against 403 told whether an id was registered: both now
    answer the same 403, word for word."""
    answers = []
    for who in ("khong.co.ai", two.colleague.id):
        body = {"assignee": who, "role": "support", "instructions": "Xem hồ sơ"}
        answers.append(refused(world, two, "task.assigned", two.outsider, body))
    for problem in answers:
        tells_nothing(problem, two.colleague.id, two.custodian.id)
    assert {(a["status"], a["slug"], a["detail"]) for a in answers} == {
        (answers[0]["status"], answers[0]["slug"], answers[0]["detail"])
    }
    # the variant: a reply to an offer that does not exist, and to a consultation
    for type_ in ("handoff.accepted", "consultation.answered"):
        body: dict[str, Any] = {"in_reply_to": str(uuid.uuid4())}
        if type_ == "consultation.answered":
            body |= {"position": "agree", "text": "Đồng ý"}
        tells_nothing(refused(world, two, type_, two.outsider, body), "handoff.offered of")
    assert_healthy(world)


def test_a_closed_matter_of_another_agency_is_not_told_closed(
    world: World, two: TwoAgencies
) -> None:
    world.ok("matter.closed", two.matter, two.custodian, {"result": "completed"})
    problem = refused(
        world, two, "handoff.offered", two.outsider, {"to": two.addressee.id, "reason": "x"}
    )
    tells_nothing(problem, "closed")
    # its own agency's writer is told (409 matter-closed)
    problem = refused(
        world, two, "handoff.offered", two.colleague, {"to": two.custodian.id, "reason": "x"}
    )
    assert problem["slug"] == "matter-closed", problem
    assert_healthy(world)


def test_its_own_agencys_writer_keeps_every_detail(world: World, two: TwoAgencies) -> None:
    problem = refused(
        world, two, "handoff.offered", two.colleague, {"to": two.outsider.id, "reason": "x"}
    )
    assert problem["slug"] == "not-permitted", problem
    assert f"({two.custodian.id} holds it)" in problem["detail"]
    problem = refused(
        world,
        two,
        "task.assigned",
        two.custodian,
        {"assignee": "khong.co.ai", "role": "support", "instructions": "Xem"},
    )
    assert (problem["status"], problem["slug"]) == (422, "unknown-official"), problem
    assert_healthy(world)


def test_an_agency_the_matter_was_offered_to_is_told_what_to_fix(
    world: World, two: TwoAgencies
) -> None:
    """Once H20 offers the matter to an H10 official, the matter is H10's concern too: its
    writer reads the details it needs to answer the offer."""
    offer = world.ok(
        "handoff.offered", two.matter, two.custodian, {"to": two.addressee.id, "reason": "x"}
    )
    problem = refused(
        world, two, "handoff.accepted", two.outsider, {"in_reply_to": offer["event_id"]}
    )
    assert problem["slug"] == "not-permitted", problem
    assert two.addressee.id in problem["detail"]  # only the addressee may accept
    world.ok("handoff.accepted", two.matter, two.addressee, {"in_reply_to": offer["event_id"]})
    assert_healthy(world)


def test_a_batch_item_on_another_agencys_matter_tells_no_more_than_a_single_append(
    world: World, two: TwoAgencies
) -> None:
    items = [
        world.envelope(
            "handoff.offered", two.matter, two.outsider, {"to": two.addressee.id, "reason": "x"}
        ),
        world.envelope(
            "task.assigned",
            two.matter,
            two.outsider,
            {"assignee": "khong.co.ai", "role": "support", "instructions": "Xem"},
        ),
    ]
    with log_unchanged(world):
        response = world.http.post(
            "/v1/events:batch",
            content=jcs(items),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {world.node.tokens.writer('H10')}",
            },
        )
    assert response.status_code == 200, response.text
    first, second = response.json()
    first["slug"] = first["type"].rsplit(":", 1)[1]
    tells_nothing(first, two.custodian.id, "holds it")
    assert second["type"].endswith(":batch-item-aborted"), second  # its group was dropped
    assert_healthy(world)


def test_a_registrar_is_not_told_about_another_agencys_official_or_units(
    world: World, two: TwoAgencies
) -> None:
    # a grant to another agency's official, and to an id nobody holds: H10's registrar is
    # told the first is another agency's, nothing about who holds it or where
    subject = f"official:{two.colleague.id}"
    grant = {"procedure_codes": [PROCEDURE], "legal_basis": "Quyết định 12/QĐ-UBND"}
    with log_unchanged(world):
        response = world.send("competence.granted", subject, two.h10.registrar, grant)
    assert response.status_code == 403, response.text
    problem = response.json() | {"slug": problem_slug(response)}
    tells_nothing(problem, "H20", "registrar of")
    # the variant: registering someone into H20 told whether H20 has a unit by that id
    answers = []
    for unit in ("phong-bi-mat", two.h20.root_unit):
        with log_unchanged(world):
            response = world.send(
                "official.registered",
                "official:moi.den",
                two.h10.registrar,
                {
                    "full_name": "Lê Văn Mới",
                    "agency_id": "H20",
                    "unit_id": unit,
                    "position": "Chuyên viên",
                    "is_head": False,
                },
                seq=0,
                prev=None,
            )
        answers.append(response.json() | {"slug": problem_slug(response)})
    for problem in answers:
        tells_nothing(problem, "phong-bi-mat", "not registered")
    assert answers[0]["detail"] == answers[1]["detail"]
    assert_healthy(world)


def test_a_root_writer_and_an_inspector_read_every_detail(world: World, two: TwoAgencies) -> None:
    env = world.envelope(
        "handoff.offered", two.matter, two.outsider, {"to": two.addressee.id, "reason": "x"}
    )
    response = world.http.post(
        "/v1/events",
        content=jcs(env),
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {world.node.tokens.root_writer}",
        },
    )
    # a root writer submits roots' statements only: refused at the token's scope, as before
    assert response.status_code == 403, response.text
    assert problem_slug(response) == "forbidden"
    assert isinstance(world.http, httpx.Client)


# --- item 5: one stored value never fails a read ------------------------------------------

NORMAL_TIME = 2.0  # seconds: a read of a handful of matters answers well within this
ABSURD_DUE = "9999-12-31T23:59:59-01:00"


def read_every_route(
    world: World, matters: list[str], official: str, agency: str
) -> dict[str, Any]:
    """GET every read touching the matters; each answers 200 within normal time. The JSON
    answers by path."""
    world.project()
    assert world.ledger.transparency is not None
    world.ledger.transparency.step()  # a checkpoint over every entry, for the evidence
    paths = [
        *(f"/v1/matters/{m}{tail}" for m in matters for tail in ("", "/custody", "/evidence")),
        f"/v1/officials/{official}/timeline",
        f"/v1/officials/{official}/indicators",
        f"/v1/agencies/{agency}/indicators",
        f"/v1/officials/{official}/evidence",
    ]
    answers: dict[str, Any] = {}
    for path in paths:
        for params in ({}, {"to": "2099-12-31T23:59:59Z"}):
            began = time.perf_counter()
            response = world.http.get(path, params=params)
            took = time.perf_counter() - began
            assert response.status_code == 200, f"{path} {params}: {response.text}"
            assert took < NORMAL_TIME, f"{path} {params} took {took:.1f} s"
            answers.setdefault(path, response.json())
    return answers


def test_values_at_the_edges_of_version_4_are_read_promptly(world: World) -> None:
    agency = world.agency("H10")
    clerk = world.official("chuyen.vien", agency)
    head = world.official("truong.phong", agency, head=True)
    # the edges: 1,000 working days, and instants late in 2099 in a due time, a reply
    # window and a step's due time
    long = "matter:H10-1000-days"
    world.ok("matter.opened", long, clerk, opened_body(agency, days=1000))
    late = world.open_matter("H10-2099", clerk, agency)
    world.ok(
        "deadline.extended", late, clerk, {"new_due_at": "2099-12-31T23:59:59Z", "reason": "x"}
    )
    world.ok(
        "consultation.requested",
        late,
        clerk,
        {"to": head.id, "question": "Ý kiến?", "reply_due_at": "2099-12-31T16:59:59-07:00"},
    )
    world.ok(
        "task.assigned",
        long,
        clerk,
        {
            "assignee": head.id,
            "role": "support",
            "instructions": "Xem",
            "due_at": "2099-12-31T23:00:00Z",
        },
    )
    matters = [long.removeprefix("matter:"), late.removeprefix("matter:")]

    answers = read_every_route(world, matters, clerk.id, agency.id)

    for matter in matters:
        assert "unavailable" not in answers[f"/v1/matters/{matter}"]
    assert answers[f"/v1/matters/{matters[1]}"]["due_at"].startswith("2100-01-01T06:59:59")
    assert "unavailable" not in answers[f"/v1/agencies/{agency.id}/indicators"]
    assert_healthy(world)


def test_values_earlier_rules_accepted_are_reported_in_their_matters_place_promptly(
    old_world: World,
) -> None:
    world = old_world
    agency = world.agency("H10")
    clerk = world.official("chuyen.vien", agency)
    head = world.official("truong.phong", agency, head=True)
    # the reported values, and the same absurd instant in another field (a reply window)
    extended = world.open_matter("H10-9999", clerk, agency)
    world.ok("deadline.extended", extended, clerk, {"new_due_at": ABSURD_DUE, "reason": "x"})
    huge = "matter:H10-2e53"
    world.ok("matter.opened", huge, clerk, opened_body(agency, days=2**53 - 1))
    asked = world.open_matter("H10-reply", clerk, agency)
    world.ok(
        "consultation.requested",
        asked,
        clerk,
        {"to": head.id, "question": "Ý kiến?", "reply_due_at": ABSURD_DUE},
    )
    sound = world.open_matter("H10-sound", clerk, agency)
    world.ok("handoff.offered", sound, clerk, {"to": head.id, "reason": "Chuyển"})
    poisoned = [m.removeprefix("matter:") for m in (extended, huge)]
    matters = [*poisoned, asked.removeprefix("matter:"), sound.removeprefix("matter:")]

    answers = read_every_route(world, matters, clerk.id, agency.id)

    for matter in poisoned:  # each reported in its own place, with the reason
        answer = answers[f"/v1/matters/{matter}"]
        assert answer["matter_id"] == matter
        assert "cannot be evaluated" in answer["unavailable"]
    sound_answer = answers[f"/v1/matters/{matters[-1]}"]
    assert "unavailable" not in sound_answer
    assert sound_answer["pending_offer"] is not None
    table = answers[f"/v1/agencies/{agency.id}/indicators"]
    assert {u["matter_id"] for u in table["unavailable"]} >= set(poisoned)
    assert {o["official_id"] for o in table["officials"]} == {clerk.id, head.id}
    own = answers[f"/v1/officials/{clerk.id}/indicators"]
    assert {u["matter_id"] for u in own["unavailable"]} >= set(poisoned)
    assert_healthy(world)
