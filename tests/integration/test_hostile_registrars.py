"""Hostile writers and registrars over HTTP (issue 13 items 1–5, DESIGN §3–§6 v4).

Each test sends the attack as it was tried against the landed server, and a variant of it,
and requires a 4xx problem, the log unchanged and the server still answering. The rules
themselves are tested in memory (tests/unit/test_rules_versions.py,
tests/unit/test_rules_trust_chain.py); here the path an agency's system takes is held.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from ledger.crypto import SigningKey
from tests.world import PROCEDURE, Actor, AgencyHandle, World, instant

MATTER = "matter:H99.02-260302-0001"


def _healthy(world: World) -> None:
    assert world.http.get("/healthz").status_code == 200


def _refused_unaddressable(
    world: World, type_: str, subject: str, actor: Actor, body: dict[str, Any]
) -> dict[str, Any]:
    """``World.reject`` for a subject no URL can name (its head cannot be read): 422
    ``invalid-statement`` and the log's size unchanged."""
    size = world.ledger.size()
    response = world.send(type_, subject, actor, body, seq=0, prev=None)
    assert response.status_code == 422, response.text
    assert response.json()["type"].endswith(":invalid-statement"), response.text
    assert world.ledger.size() == size
    result: dict[str, Any] = response.json()
    return result


def _province(world: World) -> tuple[AgencyHandle, AgencyHandle, Actor]:
    """Agency 02 with a clerk, and agency 03."""
    so02 = world.agency("000.00.02.H99", name="Sở Nông nghiệp và Môi trường")
    so03 = world.agency("000.00.03.H99", name="Sở Xây dựng")
    clerk = world.official("ly.huu.quang", so02, name="Lý Hữu Quang")
    return so02, so03, clerk


def _opening(agency: AgencyHandle, **change: Any) -> dict[str, Any]:
    return {
        "title": "Cấp giấy chứng nhận quyền sử dụng đất",
        "procedure_code": PROCEDURE,
        "agency_id": agency.id,
        "deadline_working_days": 5,
        "applicant_ref": "HS-0001",
        **change,
    }


@pytest.mark.parametrize(
    ("type_", "body"),
    [
        ("deadline.extended", {"new_due_at": "9999-12-31T23:59:59-01:00", "reason": "Gia hạn"}),
        ("deadline.extended", {"new_due_at": "2100-01-01T00:00:00Z", "reason": "Gia hạn"}),
        ("deadline.extended", {"new_due_at": "0001-01-01T00:00:00+01:00", "reason": "Gia hạn"}),
    ],
    ids=["year 9999 (the attack)", "year 2100", "year 1"],
)
def test_an_absurd_due_date_is_refused_at_the_door(
    world: World, type_: str, body: dict[str, Any]
) -> None:
    so02, _, clerk = _province(world)
    world.ok("matter.opened", MATTER, clerk, _opening(so02))
    problem = world.reject(422, "invalid-statement", type_, MATTER, clerk, body)
    assert "statement.body.new_due_at" in problem["detail"]
    _healthy(world)


@pytest.mark.parametrize("days", [2**53 - 1, 1001], ids=["2^53-1 (the attack)", "1001"])
def test_an_absurd_deadline_is_refused_at_the_door(world: World, days: int) -> None:
    so02, _, clerk = _province(world)
    problem = world.reject(
        422,
        "invalid-statement",
        "matter.opened",
        MATTER,
        clerk,
        _opening(so02, deadline_working_days=days),
    )
    assert "statement.body.deadline_working_days" in problem["detail"]
    _healthy(world)


@pytest.mark.parametrize("end", ["\n", "\r", "\t"], ids=["newline (the attack)", "CR", "TAB"])
def test_an_official_id_with_a_trailing_control_is_no_second_official(
    world: World, end: str
) -> None:
    so02, _, _ = _province(world)
    body = {
        "full_name": "Tạ Công Nam",
        "agency_id": so02.id,
        "unit_id": so02.root_unit,
        "position": "Chuyên viên",
        "is_head": False,
    }
    _refused_unaddressable(
        world, "official.registered", f"official:ta.cong.nam{end}", so02.registrar, body
    )
    _healthy(world)


@pytest.mark.parametrize(
    "change",
    [{"procedure_code": f"{PROCEDURE}\n"}, {"agency_id": "000.00.02.H99\n"}],
    ids=["procedure code", "agency id"],
)
def test_a_code_with_a_trailing_newline_is_refused(world: World, change: dict[str, str]) -> None:
    so02, _, clerk = _province(world)
    world.reject(422, "invalid-statement", "matter.opened", MATTER, clerk, _opening(so02, **change))
    _healthy(world)


def test_a_matter_id_with_a_trailing_newline_is_refused(world: World) -> None:
    so02, _, clerk = _province(world)
    _refused_unaddressable(world, "matter.opened", f"{MATTER}\n", clerk, _opening(so02))
    _healthy(world)


@pytest.mark.parametrize(
    "name",
    ["Phạm Đức Tuấn\u202e", "Phạm Đức\u200b Tuấn", "Phạm Đức Tuấn\u2066", "Phạm\x85 Đức Tuấn"],
    ids=["RLO (the attack)", "zero width space", "LRI", "C1 NEL"],
)
def test_a_name_with_a_bidi_or_control_character_is_refused(world: World, name: str) -> None:
    _, so03, _ = _province(world)
    problem = world.reject(
        422,
        "invalid-statement",
        "official.registered",
        "official:naut.cud.mahp",
        so03.registrar,
        {
            "full_name": name,
            "agency_id": so03.id,
            "unit_id": so03.root_unit,
            "position": "Chuyên viên",
            "is_head": False,
        },
    )
    assert "statement.body.full_name" in problem["detail"]
    _healthy(world)


def _posting(agency: AgencyHandle) -> dict[str, Any]:
    return {
        "agency_id": agency.id,
        "unit_id": agency.root_unit,
        "position": "Chuyên viên",
        "is_head": False,
    }


def test_a_registrar_cannot_take_another_agencys_official(world: World) -> None:
    so02, so03, clerk = _province(world)
    # The attack: agency 03's registrar moves agency 02's clerk to itself.
    world.reject(
        403,
        "not-permitted",
        "official.moved",
        f"official:{clerk.id}",
        so03.registrar,
        _posting(so03),
    )
    # A variant: a release is pending, but to another agency.
    so04 = world.agency("000.00.04.H99")
    world.ok(
        "official.released",
        f"official:{clerk.id}",
        so02.registrar,
        {"to_agency_id": so04.id, "instrument_no": "12/QĐ-SNN"},
    )
    world.reject(
        403,
        "not-permitted",
        "official.moved",
        f"official:{clerk.id}",
        so03.registrar,
        _posting(so03),
    )
    # Nor can it release someone it does not register.
    world.reject(
        403,
        "not-permitted",
        "official.released",
        f"official:{clerk.id}",
        so03.registrar,
        {"to_agency_id": so03.id},
    )
    # Agency 02's own registrar still acts for its clerk: the clerk was not taken.
    key = SigningKey.generate()
    world.bind_key(clerk, so02, key)
    _healthy(world)


def test_a_release_then_the_destinations_move_is_the_two_party_way(world: World) -> None:
    so02, so03, clerk = _province(world)
    world.ok("official.released", f"official:{clerk.id}", so02.registrar, {"to_agency_id": so03.id})
    world.ok("official.moved", f"official:{clerk.id}", so03.registrar, _posting(so03))
    # Consumed: the source registrar no longer registers keys for them.
    world.reject(
        403,
        "not-permitted",
        "key.bound",
        f"official:{clerk.id}",
        so02.registrar,
        {"public_key": SigningKey.generate().public_b64, "valid_from": instant(world.clock)},
    )


@pytest.mark.parametrize("seconds", [60, 3600], ids=["60 s earlier (the attack)", "an hour"])
def test_a_registrar_dismissed_as_compromised_cannot_write_by_backdating(
    world: World, seconds: int
) -> None:
    so02, _, clerk = _province(world)
    dismissal = world.ok(
        "registrar.dismissed",
        f"agency:{so02.id}",
        world.root,
        {"official_id": so02.registrar.id, "reason": "compromised"},
    )
    dismissed_at = world.clock
    backdated = instant(dismissed_at - timedelta(seconds=seconds))
    world.reject(
        422,
        "key-not-valid",
        "key.bound",
        f"official:{clerk.id}",
        so02.registrar,
        {"public_key": SigningKey.generate().public_b64, "valid_from": backdated},
        occurred_at=backdated,
    )
    assert dismissal["index"] < world.ledger.size()
    _healthy(world)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("as_of", "0001-01-01T00:00:00+01:00"),  # the attack: no year in UTC at all
        ("to", "0001-01-01T00:00:00+01:00"),
        ("to", "9999-12-31T23:59:59-01:00"),
        ("from", "2100-01-01T00:00:00Z"),
        ("as_of", "1999-12-31T16:59:59Z"),
    ],
)
def test_an_instant_at_the_edge_of_the_range_in_a_read_is_a_bad_request(
    world: World, name: str, value: str
) -> None:
    so02, _, clerk = _province(world)
    world.ok("matter.opened", MATTER, clerk, _opening(so02))
    world.project()
    paths = [
        f"/v1/officials/{clerk.id}/timeline",
        f"/v1/officials/{clerk.id}/indicators",
        f"/v1/agencies/{so02.id}/indicators",
    ]
    if name != "from":  # a matter is read as of a date and up to one, not from one
        paths += ["/v1/matters/H99.02-260302-0001", "/v1/matters/H99.02-260302-0001/custody"]
    for path in paths:
        response = world.http.get(path, params={name: value})
        assert response.status_code == 400, f"{path}: {response.text}"
        assert response.json()["type"].endswith(":malformed-request")
        assert "2000–2099" in response.json()["detail"]
    _healthy(world)
