"""A ledger of an earlier release under today's code (DESIGN §4 v4, issue 18).

The ledger begins under rules version 3, as every ledger made before DESIGN v4 did, and
stores what version 3 accepted and version 4 refuses: an absurd due date, an absurd
deadline, an official id with a trailing newline, a name ending in a bidi control. A root
then adopts version 4. The old entries stay valid forever — the audit passes, the log is
served — new statements are judged by version 4, and no read answers 5xx because of what
version 3 stored.
"""

from __future__ import annotations

from datetime import UTC, datetime

from evidence.derive import UNAVAILABLE
from evidence.verify import verify_bundle
from ledger.audit import audit
from tests.world import PROCEDURE, Actor, AgencyHandle, World

ABSURD_DUE = "9999-12-31T23:59:59-01:00"
HUGE_DEADLINE = 2**53 - 1


def _opened(world: World, matter_id: str, opener: Actor, agency: AgencyHandle, days: int) -> str:
    subject = f"matter:{matter_id}"
    world.ok(
        "matter.opened",
        subject,
        opener,
        {
            "title": "Cấp giấy phép xây dựng",
            "procedure_code": PROCEDURE,
            "agency_id": agency.id,
            "deadline_working_days": days,
            "applicant_ref": "HS-0001",
        },
    )
    return subject


def _extension(due: str) -> dict[str, str]:
    return {"new_due_at": due, "reason": "Chờ kết quả thẩm định"}


def test_an_old_ledger_keeps_what_version_3_stored_and_judges_new_statements_by_version_4(
    old_world: World,
) -> None:
    world = old_world
    agency = world.agency("so-xd")
    clerk = world.official("nguyen.van.a", agency)
    # What version 3 accepted, stored for ever.
    poisoned = _opened(world, "H99.03-260302-0001", clerk, agency, 5)
    world.ok("deadline.extended", poisoned, clerk, _extension(ABSURD_DUE))
    _opened(world, "H99.03-260302-0002", clerk, agency, HUGE_DEADLINE)
    world.ok(
        "official.registered",
        "official:ta.cong.nam\n",
        agency.registrar,
        {
            "full_name": "Tạ Công Nam",
            "agency_id": agency.id,
            "unit_id": agency.root_unit,
            "position": "Chuyên viên",
            "is_head": False,
        },
        seq=0,
        prev=None,
    )
    world.official("naut.cud.mahp", agency, name="Phạm Đức Tuấn\u202e")

    # A root adopts version 4.
    # (The ledger subject's genesis is dated at initialisation: today.)
    adopted_at = datetime.now(UTC).isoformat(timespec="seconds")
    world.ok("ledger.rules_adopted", "ledger", world.root, {"version": 4}, occurred_at=adopted_at)

    # The same statements are now refused at the door, and leave no trace.
    fresh = _opened(world, "H99.03-260302-0003", clerk, agency, 5)
    world.reject(
        422, "invalid-statement", "deadline.extended", fresh, clerk, _extension(ABSURD_DUE)
    )
    world.reject(
        422,
        "invalid-statement",
        "matter.opened",
        "matter:H99.03-260302-0004",
        clerk,
        {
            "title": "Cấp giấy phép xây dựng",
            "procedure_code": PROCEDURE,
            "agency_id": agency.id,
            "deadline_working_days": HUGE_DEADLINE,
            "applicant_ref": "HS-0004",
        },
    )
    # A sensible statement is accepted as ever.
    world.ok("deadline.extended", fresh, clerk, _extension("2026-06-30T17:00:00+07:00"))

    # The audit re-derives every verdict, each by the version in force at its index.
    size = world.ledger.size()
    records = [record for _, record in world.ledger.recorder.numbered_records(0, size)]
    report = audit(records, [])
    assert report.failure is None, report.failure.describe()

    # No read answers 5xx because of what version 3 stored (DESIGN §3 v4).
    world.project()
    assert world.ledger.transparency is not None
    world.ledger.transparency.step()  # a checkpoint over every entry, for the evidence
    for path in (
        f"/v1/matters/{poisoned.removeprefix('matter:')}",
        f"/v1/matters/{poisoned.removeprefix('matter:')}/custody",
        f"/v1/matters/{poisoned.removeprefix('matter:')}/evidence",
        "/v1/matters/H99.03-260302-0002",
        f"/v1/officials/{clerk.id}/timeline",
        f"/v1/officials/{clerk.id}/indicators",
        f"/v1/agencies/{agency.id}/indicators",
        "/v1/officials/naut.cud.mahp/timeline",
    ):
        response = world.http.get(path)
        assert response.status_code < 500, f"{path}: {response.status_code} {response.text}"

    # The matter's own read says why, in its place …
    matter_id = poisoned.removeprefix("matter:")
    matter = world.read(f"/v1/matters/{matter_id}")
    assert "cannot be evaluated" in matter["unavailable"]
    # … the agency's indicators leave it out and say so …
    table = world.read(f"/v1/agencies/{agency.id}/indicators")
    assert {u["matter_id"] for u in table["unavailable"]} >= {matter_id}
    # … and its evidence holds its verified entries, the slip replaced by the reason.
    bundle = world.read(f"/v1/matters/{matter_id}/evidence")
    assert bundle["rendering"]["matters"][matter_id] == {"unavailable": UNAVAILABLE}
    vkey = world.read("/v1/log/key")["vkey"]
    report = verify_bundle(bundle, vkey)
    assert report.ok, [str(f) for f in report.failures]
    page = world.http.get(f"/v1/matters/{matter_id}/evidence", params={"format": "html"})
    assert "Không tính được phiếu kiểm soát của hồ sơ này" in page.text
