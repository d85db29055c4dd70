"""Reading the ledger as of any date (DESIGN §7, docs/read-models.md).

The acceptance of the issue: ``as_of`` a date before a handoff shows the old custodian;
after it, the new one; before a correction, the uncorrected value; after, both. ``as_of``
is record time (receipts' ``recorded_at``, real now), ``from``/``to`` valid time
(``occurred_at``, the world's clock in March 2026), and every answer states
E = min(to, as_of, now). Then the read API's unhappy paths, paging and CSV.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from ledger.workdays import ICT
from tests.world import PROCEDURE, Actor, AgencyHandle, World, problem_slug

MATTER = "H10-0001"
SUBJECT = f"matter:{MATTER}"


@dataclass
class Office:
    agency: AgencyHandle
    a: Actor
    b: Actor


@dataclass
class Handoff:
    opened: dict[str, Any]
    offered: dict[str, Any]
    accepted: dict[str, Any]
    opened_at: str
    offered_at: str
    accepted_at: str


def office(world: World) -> Office:
    agency = world.agency("so-tnmt", name="Sở Tài nguyên và Môi trường")
    phong = world.unit(agency, "phong-dat", name="Phòng Đăng ký đất đai")
    a = world.official("chuyen.vien.a", agency, phong, name="Nguyễn Thị Ánh")
    b = world.official("chuyen.vien.b", agency, phong, name="Trần Văn Bảo")
    return Office(agency, a, b)


def open_matter(world: World, o: Office, matter_id: str = MATTER, at: str | None = None) -> Any:
    return world.ok(
        "matter.opened",
        f"matter:{matter_id}",
        o.a,
        {
            "title": "Cấp giấy chứng nhận quyền sử dụng đất",
            "procedure_code": PROCEDURE,
            "agency_id": o.agency.id,
            "deadline_working_days": 5,
            "applicant_ref": "HS-0001",
        },
        occurred_at=at,
    )


def handoff(world: World, o: Office) -> Handoff:
    """A opens the matter and hands it to B, who accepts."""
    opened_at = world.at()
    opened = open_matter(world, o, at=opened_at)
    offered_at = world.at()
    offered = world.ok(
        "handoff.offered",
        SUBJECT,
        o.a,
        {"to": o.b.id, "reason": "Đúng chuyên môn"},
        occurred_at=offered_at,
    )
    accepted_at = world.at()
    accepted = world.ok(
        "handoff.accepted",
        SUBJECT,
        o.b,
        {"in_reply_to": offered["event_id"]},
        occurred_at=accepted_at,
    )
    return Handoff(opened, offered, accepted, opened_at, offered_at, accepted_at)


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def just_before(recorded_at: str) -> str:
    moment = instant(recorded_at) - timedelta(microseconds=1)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def get(world: World, path: str, **params: Any) -> httpx.Response:
    world.project()
    return world.http.get(path, params=params)


def problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert problem_slug(response) == slug, response.text
    body: dict[str, Any] = response.json()
    return body


# --- custody across a handoff ------------------------------------------------------------


def test_as_of_before_a_handoff_shows_the_old_custodian_and_after_it_the_new_one(
    world: World,
) -> None:
    o = office(world)
    h = handoff(world, o)
    path = f"/v1/matters/{MATTER}"

    assert world.read(path, as_of=h.opened["recorded_at"])["custodian"] == o.a.id
    offered = world.read(path, as_of=h.offered["recorded_at"])
    assert offered["custodian"] == o.a.id
    assert offered["pending_offer"] == h.offered["event_id"]
    # The acceptance's own recorded_at is included (recorded_at ≤ as_of); a microsecond
    # earlier it is not.
    assert world.read(path, as_of=just_before(h.accepted["recorded_at"]))["custodian"] == o.a.id
    accepted = world.read(path, as_of=h.accepted["recorded_at"])
    assert accepted["custodian"] == o.b.id
    assert accepted["pending_offer"] is None
    assert world.read(path)["custodian"] == o.b.id

    # as_of is an instant: the same one in +07:00 reads the same prefix.
    in_ict = instant(h.accepted["recorded_at"]).astimezone(ICT).isoformat()
    assert in_ict.endswith("+07:00")
    assert world.read(path, as_of=in_ict)["custodian"] == o.b.id
    earlier = instant(just_before(h.accepted["recorded_at"])).astimezone(ICT).isoformat()
    assert world.read(path, as_of=earlier)["custodian"] == o.a.id

    # Before the opening was recorded the matter is not in the log as read.
    before = just_before(h.opened["recorded_at"])
    for missing in (path, f"{path}/custody"):
        problem(get(world, missing, as_of=before), 404, "not-found")


def test_custody_as_of_shows_an_interval_ended_later_as_still_open(world: World) -> None:
    o = office(world)
    h = handoff(world, o)
    path = f"/v1/matters/{MATTER}/custody"

    before = world.read(path, as_of=h.offered["recorded_at"])
    assert before["matter_id"] == MATTER
    assert before["intervals"] == [
        {
            "official_id": o.a.id,
            "role": "lead",
            "from": h.opened_at,
            "to": None,
            "started_by": h.opened["event_id"],
            "ended_by": None,
        }
    ]
    after = world.read(path, as_of=h.accepted["recorded_at"])
    assert after["intervals"] == [
        {
            "official_id": o.a.id,
            "role": "lead",
            "from": h.opened_at,
            "to": h.accepted_at,
            "started_by": h.opened["event_id"],
            "ended_by": h.accepted["event_id"],
        },
        {
            "official_id": o.b.id,
            "role": "lead",
            "from": h.accepted_at,
            "to": None,
            "started_by": h.accepted["event_id"],
            "ended_by": None,
        },
    ]
    assert world.read(path)["intervals"] == after["intervals"]


def test_to_cuts_the_chain_at_its_first_event_occurring_at_or_after_it(world: World) -> None:
    o = office(world)
    h = handoff(world, o)

    at_acceptance = world.read(f"/v1/matters/{MATTER}", to=h.accepted_at)
    assert at_acceptance["custodian"] == o.a.id
    assert at_acceptance["pending_offer"] == h.offered["event_id"]
    custody = world.read(f"/v1/matters/{MATTER}/custody", to=h.accepted_at)
    assert [(i["official_id"], i["to"], i["ended_by"]) for i in custody["intervals"]] == [
        (o.a.id, None, None)
    ]
    one_second_later = (instant(h.accepted_at) + timedelta(seconds=1)).isoformat()
    assert world.read(f"/v1/matters/{MATTER}", to=one_second_later)["custodian"] == o.b.id
    problem(get(world, f"/v1/matters/{MATTER}", to=h.opened_at), 404, "not-found")


def test_to_cuts_at_the_first_event_at_or_after_it_even_when_a_later_one_occurred_before(
    world: World,
) -> None:
    # A reply signed on another desk may carry an occurred_at up to 15 minutes before its
    # predecessor's; ``to`` still cuts the chain (not a filter): nothing after the cut
    # point is seen.
    o = office(world)
    opened_at = world.at()
    open_matter(world, o, at=opened_at)
    offered_at = world.at(20)
    offer = world.ok(
        "handoff.offered",
        SUBJECT,
        o.a,
        {"to": o.b.id, "reason": "Đúng chuyên môn"},
        occurred_at=offered_at,
    )
    accepted_at = (instant(offered_at) - timedelta(minutes=10)).isoformat()
    world.ok(
        "handoff.accepted",
        SUBJECT,
        o.b,
        {"in_reply_to": offer["event_id"]},
        occurred_at=accepted_at,
    )
    cut = (instant(offered_at) - timedelta(minutes=5)).isoformat()  # after the acceptance
    read = world.read(f"/v1/matters/{MATTER}", to=cut)
    assert read["custodian"] == o.a.id
    assert read["pending_offer"] is None
    assert world.read(f"/v1/matters/{MATTER}")["custodian"] == o.b.id


# --- timelines ---------------------------------------------------------------------------


def test_a_timeline_as_of_shows_only_the_entries_recorded_by_then(world: World) -> None:
    o = office(world)
    h = handoff(world, o)
    path = f"/v1/officials/{o.b.id}/timeline"

    def rows(**params: Any) -> list[tuple[str, str]]:
        return [(r["type"], r["role"]) for r in world.read(path, **params)["rows"]]

    assert rows(as_of=h.opened["recorded_at"]) == []
    assert rows(as_of=h.offered["recorded_at"]) == [("handoff.offered", "addressee")]
    assert rows(as_of=h.accepted["recorded_at"]) == [
        ("handoff.offered", "addressee"),
        ("handoff.accepted", "actor"),
    ]
    timeline = world.read(f"/v1/officials/{o.a.id}/timeline", as_of=h.offered["recorded_at"])
    assert [r["event_id"] for r in timeline["rows"]] == [
        h.opened["event_id"],
        h.offered["event_id"],
    ]
    assert all(
        instant(r["recorded_at"]) <= instant(h.offered["recorded_at"]) for r in timeline["rows"]
    )


def test_a_timeline_keeps_rows_occurring_from_from_and_before_to(world: World) -> None:
    o = office(world)
    h = handoff(world, o)
    path = f"/v1/officials/{o.a.id}/timeline"

    def types(**params: Any) -> list[str]:
        return [r["type"] for r in world.read(path, **params)["rows"]]

    assert types() == ["matter.opened", "handoff.offered", "handoff.accepted"]
    assert types(**{"from": h.offered_at}) == ["handoff.offered", "handoff.accepted"]
    assert types(to=h.offered_at) == ["matter.opened"]
    assert types(**{"from": h.offered_at, "to": h.accepted_at}) == ["handoff.offered"]
    row = world.read(path, to=h.accepted_at)["rows"][-1]
    assert row["occurred_at"] == h.offered_at  # returned exactly as signed
    assert row["recorded_at"] == h.offered["recorded_at"]


# --- E = min(to, as_of, now) -------------------------------------------------------------


def read_paths(o: Office) -> list[str]:
    return [
        f"/v1/matters/{MATTER}",
        f"/v1/matters/{MATTER}/custody",
        f"/v1/officials/{o.a.id}/timeline",
        f"/v1/officials/{o.a.id}/indicators",
        f"/v1/agencies/{o.agency.id}/indicators",
    ]


def test_every_read_states_its_evaluation_instant_the_least_of_to_as_of_and_now(
    world: World,
) -> None:
    o = office(world)
    h = handoff(world, o)
    as_of = h.accepted["recorded_at"]
    march = "2026-03-10T00:00:00+07:00"
    far = "2099-01-01T00:00:00+07:00"
    for path in read_paths(o):
        cases = [
            ({"as_of": as_of}, as_of),
            ({"to": march}, march),
            ({"as_of": as_of, "to": march}, march),
            ({"as_of": as_of, "to": far}, as_of),
        ]
        for params, expected in cases:
            body = world.read(path, **params)
            assert body["evaluated_at"].endswith("+07:00"), (path, body["evaluated_at"])
            assert instant(body["evaluated_at"]) == instant(expected), (path, params)
        for params in ({}, {"as_of": far}, {"to": far}):
            before = datetime.now(UTC)
            body = world.read(path, **params)
            after = datetime.now(UTC)
            assert before <= instant(body["evaluated_at"]) <= after, (path, params)

    # CSV answers state E in the X-Evaluated-At header.
    for path in read_paths(o)[1:]:
        json_body = world.http.get(path, params={"as_of": as_of}).json()
        response = world.http.get(path, params={"as_of": as_of}, headers={"Accept": "text/csv"})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        assert response.headers["X-Evaluated-At"] == json_body["evaluated_at"]
        assert instant(response.headers["X-Evaluated-At"]) == instant(as_of)


# --- corrections -------------------------------------------------------------------------

SUMMARY = "Đồng ý cấp giấy chứng nhận quyền sử dụng đất cho hộ ông Lê Văn Tám"
CORRECTED = "Đồng ý cấp giấy chứng nhận quyền sử dụng đất cho hộ bà Lê Thị Tám"
REASON_NFD = unicodedata.normalize("NFD", "Sửa tên chủ hộ theo căn cước công dân")


def decide_and_correct(world: World, o: Office) -> tuple[dict[str, Any], dict[str, Any]]:
    world.grant(o.a, o.agency)
    open_matter(world, o)
    decision = world.ok(
        "decision.recorded",
        SUBJECT,
        o.a,
        {
            "outcome": "approved",
            "summary": SUMMARY,
            "legal_basis": "Luật Đất đai 2024, Điều 136",
            "capacity": "own",
        },
    )
    world.ok("matter.closed", SUBJECT, o.a, {"result": "completed"})
    correction = world.ok(
        "correction.recorded",
        SUBJECT,
        o.a,
        {
            "target_event_id": decision["event_id"],
            "reason": REASON_NFD,
            "corrections": {"summary": CORRECTED, "outcome": "rejected"},
        },
    )
    return decision, correction


def test_before_a_correction_the_original_and_after_it_both_original_and_correction(
    world: World,
) -> None:
    o = office(world)
    decision, correction = decide_and_correct(world, o)
    path = f"/v1/matters/{MATTER}"
    expected_decision = {
        "decider": o.a.id,
        "outcome": "approved",
        "capacity": "own",
        "competence": "own",
        "delegation_id": None,
    }

    before = world.read(path, as_of=just_before(correction["recorded_at"]))
    assert before["status"] == "closed"
    assert before["corrections"] == []
    assert before["decision"] == expected_decision
    assert [d["event_id"] for d in before["decisions"]] == [decision["event_id"]]

    for after in (world.read(path, as_of=correction["recorded_at"]), world.read(path)):
        assert after["decision"] == expected_decision  # never rewritten
        assert [d["event_id"] for d in after["decisions"]] == [decision["event_id"]]
        assert after["decisions"][0]["outcome"] == "approved"
        assert len(after["corrections"]) == 1
        listed = after["corrections"][0]
        assert listed["event_id"] == correction["event_id"]
        assert listed["target_event_id"] == decision["event_id"]
        assert listed["actor"] == o.a.id
        assert listed["corrections"] == {"summary": CORRECTED, "outcome": "rejected"}

    as_of_decision = world.read(path, as_of=decision["recorded_at"])
    assert as_of_decision["status"] == "open"
    assert as_of_decision["corrections"] == []


def test_vietnamese_text_survives_byte_for_byte_where_it_is_returned(world: World) -> None:
    o = office(world)
    decide_and_correct(world, o)
    assert unicodedata.normalize("NFC", REASON_NFD) != REASON_NFD
    world.project()
    response = world.http.get(f"/v1/matters/{MATTER}")
    assert response.status_code == 200
    listed = response.json()["corrections"][0]
    assert listed["reason"] == REASON_NFD  # not normalised to NFC
    assert listed["corrections"]["summary"] == CORRECTED
    assert REASON_NFD.encode() in response.content  # raw UTF-8, not \u escapes
    assert CORRECTED.encode() in response.content

    # A consultation's question is not in a read model; the subject's entries serve it
    # exactly as signed.
    question = unicodedata.normalize(
        "NFD", "Đề nghị Phòng Quy hoạch cho ý kiến về ranh giới thửa đất số 127, tờ bản đồ 05?"
    )
    open_matter(world, o, "H10-0002")
    world.ok("consultation.requested", "matter:H10-0002", o.a, {"to": o.b.id, "question": question})
    entries = world.http.get("/v1/subjects/matter:H10-0002/entries")
    assert question.encode() in entries.content
    served = entries.json()["entries"][-1]["entry"]["statement"]["body"]["question"]
    assert served == question


# --- unhappy paths -----------------------------------------------------------------------


MALFORMED_INSTANTS = [
    ("as_of", "yesterday"),
    ("as_of", "2026-03-02"),
    ("to", "2026-03-02T08:00:00"),  # no offset
    ("to", "2026-02-30T08:00:00+07:00"),  # not a real day
    ("from", "2026-03-02 08:00:00+07:00"),
]


def test_a_malformed_instant_is_a_bad_request_naming_the_parameter(world: World) -> None:
    o = office(world)
    handoff(world, o)
    for name, value in MALFORMED_INSTANTS:
        paths = [f"/v1/officials/{o.a.id}/timeline", f"/v1/officials/{o.a.id}/indicators"]
        if name != "from":  # matters and custody take as_of and to only
            paths += [f"/v1/matters/{MATTER}", f"/v1/matters/{MATTER}/custody"]
        for path in paths:
            body = problem(get(world, path, **{name: value}), 400, "malformed-request")
            assert name in body["detail"], (path, body["detail"])


def test_from_not_before_to_is_a_bad_request(world: World) -> None:
    o = office(world)
    handoff(world, o)
    for path in (
        f"/v1/officials/{o.a.id}/timeline",
        f"/v1/officials/{o.a.id}/indicators",
        f"/v1/agencies/{o.agency.id}/indicators",
    ):
        for start, end in (
            ("2026-03-10T00:00:00+07:00", "2026-03-01T00:00:00+07:00"),
            ("2026-03-10T00:00:00+07:00", "2026-03-10T00:00:00+07:00"),
            ("2026-03-09T17:00:01Z", "2026-03-10T00:00:00+07:00"),  # in UTC, 1 s after to
        ):
            response = get(world, path, **{"from": start, "to": end})
            problem(response, 400, "malformed-request")


def test_unknown_matters_officials_and_agencies_are_not_found(world: World) -> None:
    office(world)
    world.project()
    for path in (
        "/v1/matters/H10-9999",
        "/v1/matters/H10-9999/custody",
        "/v1/officials/khong.ai/timeline",
        "/v1/officials/khong.ai/timeline?after=3",
        "/v1/officials/khong.ai/indicators",
        "/v1/agencies/khong-co/indicators",
    ):
        problem(world.http.get(path), 404, "not-found")


def test_an_id_that_cannot_be_an_id_is_a_bad_request(world: World) -> None:
    office(world)
    world.project()
    for bad in ("a b", "-leading-dash", "x" * 129):
        for path in (
            f"/v1/matters/{bad}",
            f"/v1/matters/{bad}/custody",
            f"/v1/officials/{bad}/timeline",
            f"/v1/officials/{bad}/indicators",
            f"/v1/agencies/{bad}/indicators",
        ):
            problem(world.http.get(path), 400, "malformed-request")


def test_reads_need_an_inspector_token(world: World) -> None:
    o = office(world)
    handoff(world, o)
    world.project()
    writer = {"Authorization": f"Bearer {world.node.tokens.writer(o.agency.id)}"}
    for path in read_paths(o):
        anonymous = world.http.get(path, auth=None)
        problem(anonymous, 401, "unauthenticated")
        assert anonymous.headers["WWW-Authenticate"] == "Bearer"
        problem(world.http.get(path, headers=writer), 403, "forbidden")
        problem(
            world.http.get(path, headers={"Authorization": "Bearer not-a-token"}),
            401,
            "unauthenticated",
        )


# --- paging ------------------------------------------------------------------------------


def five_rows(world: World, o: Office) -> None:
    """Five timeline rows of A's: an opening, two supplement requests and receipts."""
    open_matter(world, o)
    for _ in range(2):
        world.ok("supplement.requested", SUBJECT, o.a, {"items": ["Bản sao trích lục"]})
        world.ok("supplement.received", SUBJECT, o.a, {})


def test_a_timeline_pages_by_index_and_the_last_page_has_no_next(world: World) -> None:
    o = office(world)
    five_rows(world, o)
    path = f"/v1/officials/{o.a.id}/timeline"
    everything = world.read(path)
    assert len(everything["rows"]) == 5
    assert everything["next_after"] is None

    pages: list[list[int]] = []
    after: int | None = None
    while True:
        page = world.read(path, limit=2, after=after)
        pages.append([r["index"] for r in page["rows"]])
        if page["next_after"] is None:
            break
        assert page["next_after"] == page["rows"][-1]["index"]
        after = page["next_after"]
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [i for p in pages for i in p] == [r["index"] for r in everything["rows"]]


def test_a_timeline_csv_page_names_the_next_in_a_header(world: World) -> None:
    o = office(world)
    five_rows(world, o)
    world.project()
    path = f"/v1/officials/{o.a.id}/timeline"
    first = world.http.get(path, params={"limit": 2}, headers={"Accept": "text/csv"})
    rows = list(csv.DictReader(io.StringIO(first.text)))
    assert len(rows) == 2
    assert first.headers["X-Next-After"] == rows[-1]["index"]
    last = world.http.get(
        path, params={"limit": 4, "after": rows[-1]["index"]}, headers={"Accept": "text/csv"}
    )
    assert len(list(csv.DictReader(io.StringIO(last.text)))) == 3
    assert "X-Next-After" not in last.headers


def test_a_timeline_limit_outside_1_to_1000_is_a_bad_request(world: World) -> None:
    # FastAPI's validation errors are answered as 400 malformed-request (api/problems.py).
    o = office(world)
    five_rows(world, o)
    path = f"/v1/officials/{o.a.id}/timeline"
    for params in ({"limit": 0}, {"limit": 1001}, {"limit": "x"}, {"after": -2}):
        body = problem(get(world, path, **params), 400, "malformed-request")
        assert next(iter(params)) in body["detail"], body
    assert len(world.read(path, limit=1000)["rows"]) == 5
    assert len(world.read(path, limit=1)["rows"]) == 1


def test_paging_a_period_does_not_stop_at_a_row_outside_it(world: World) -> None:
    # Log order is not occurred_at order: a matter whose history is imported later has
    # earlier occurred_at times. A page that fills up just before a row outside the period
    # must still point to the rows of the period after it.
    o = office(world)
    world.clock = datetime(2026, 3, 9, 8, 0, tzinfo=ICT)
    open_matter(world, o, at=world.at())  # in the period
    world.ok("supplement.requested", SUBJECT, o.a, {"items": ["Bản vẽ"]})  # in the period
    world.ok(
        "supplement.received", SUBJECT, o.a, {}, occurred_at="2026-03-20T09:00:00+07:00"
    )  # after it
    open_matter(world, o, "H10-0002", at="2026-03-10T09:00:00+07:00")  # in the period
    path = f"/v1/officials/{o.a.id}/timeline"
    period = {"from": "2026-03-09T00:00:00+07:00", "to": "2026-03-16T00:00:00+07:00"}
    everything = world.read(path, **period)
    assert [r["type"] for r in everything["rows"]] == [
        "matter.opened",
        "supplement.requested",
        "matter.opened",
    ]
    first = world.read(path, limit=2, **period)
    assert first["next_after"] == first["rows"][-1]["index"]
    rest = world.read(path, limit=2, after=first["next_after"], **period)
    assert [r["matter_id"] for r in rest["rows"]] == ["H10-0002"]
    assert rest["next_after"] is None


# --- CSV ---------------------------------------------------------------------------------

TIMELINE_HEADER = (
    "index,event_id,matter_id,type,role,counterpart,direction,flags,occurred_at,recorded_at"
)


def test_a_timeline_csv_has_exactly_the_documented_columns_and_joins_flags(
    world: World,
) -> None:
    o = office(world)
    h = handoff(world, o)
    # B decides without a competence while claiming one: two flags on one row.
    world.ok(
        "decision.recorded",
        SUBJECT,
        o.b,
        {"outcome": "approved", "summary": SUMMARY, "legal_basis": "Điều 136", "capacity": "own"},
    )
    world.project()
    path = f"/v1/officials/{o.b.id}/timeline"
    as_json = world.http.get(path).json()
    response = world.http.get(path, headers={"Accept": "text/csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    lines = response.content.decode("utf-8").splitlines()
    assert lines[0] == TIMELINE_HEADER
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == len(as_json["rows"]) == 3
    for row, expected in zip(rows, as_json["rows"], strict=True):
        assert row["index"] == str(expected["index"])
        assert row["event_id"] == expected["event_id"]
        assert row["flags"] == ";".join(expected["flags"])
        assert row["occurred_at"] == expected["occurred_at"]
        assert row["recorded_at"] == expected["recorded_at"]
        assert row["counterpart"] == (expected["counterpart"] or "")
    decision_row = rows[-1]
    assert decision_row["type"] == "decision.recorded"
    assert set(decision_row["flags"].split(";")) >= {"outside_competence", "capacity_mismatch"}
    assert rows[0]["event_id"] == h.offered["event_id"]
    assert response.headers["X-Evaluated-At"].endswith("+07:00")


def test_custody_and_indicator_csv_have_the_documented_headers(world: World) -> None:
    o = office(world)
    h = handoff(world, o)
    world.project()
    csv_accept = {"Accept": "text/csv"}

    custody = world.http.get(f"/v1/matters/{MATTER}/custody", headers=csv_accept)
    lines = custody.text.splitlines()
    assert lines[0] == "official_id,role,from,to,started_by,ended_by"
    rows = list(csv.DictReader(io.StringIO(custody.text)))
    assert [(r["official_id"], r["to"], r["ended_by"]) for r in rows] == [
        (o.a.id, h.accepted_at, h.accepted["event_id"]),
        (o.b.id, "", ""),  # open: null is an empty cell
    ]

    indicator_header = (
        "official_id,indicator,numerator,denominator,value,peer_percentile,peers,"
        "agency_percentile,agency_peers,matters,total_working_days,median_working_days,"
        "longest_idle_working_days"
    )
    official = world.http.get(f"/v1/officials/{o.a.id}/indicators", headers=csv_accept)
    assert official.text.splitlines()[0] == indicator_header
    as_json = world.http.get(f"/v1/officials/{o.a.id}/indicators").json()["indicators"]
    rows = list(csv.DictReader(io.StringIO(official.text)))
    assert [r["indicator"] for r in rows] == list(as_json)
    assert len(rows) == 12
    assert {r["official_id"] for r in rows} == {o.a.id}
    overdue = next(r for r in rows if r["indicator"] == "overdue")
    assert overdue["total_working_days"] == str(as_json["overdue"]["total_working_days"])
    assert overdue["peers"] == str(as_json["overdue"]["peers"])
    assert next(r for r in rows if r["indicator"] == "ping_pong")["total_working_days"] == ""

    agency = world.http.get(f"/v1/agencies/{o.agency.id}/indicators", headers=csv_accept)
    assert agency.text.splitlines()[0] == indicator_header
    officials = world.http.get(f"/v1/agencies/{o.agency.id}/indicators").json()["officials"]
    rows = list(csv.DictReader(io.StringIO(agency.text)))
    assert len(rows) == 12 * len(officials)
    assert {r["official_id"] for r in rows} == {e["official_id"] for e in officials}
