"""The inspector's catalogues (DESIGN §8 v4, docs/read-models.md): agencies, officials,
matters and a matter's statements, with the registry's names kept byte for byte and the
registry cut at ``as_of`` like every other read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from projections.reads import fold
from tests.world import PROCEDURE, Actor, AgencyHandle, World, problem_slug

SO = "Sở Tài nguyên và Môi trường"
PHONG = "Phòng Đăng ký đất đai"
TUAN = "Phạm Đức Tuấn"
HUONG = "Nguyễn Thị Hương"


@dataclass
class Province:
    so: AgencyHandle
    xa: AgencyHandle
    tuan: Actor
    huong: Actor
    lan: Actor


def province(world: World) -> Province:
    so = world.agency("so-tnmt", name=SO)
    phong = world.unit(so, "phong-dat", name=PHONG)
    xa = world.agency("xa-an-binh", level="commune", parent="so-tnmt", name="UBND xã An Bình")
    tuan = world.official("tuan.pd", so, head=True, position="Giám đốc", name=TUAN)
    huong = world.official("huong.nt", so, phong, name=HUONG)
    lan = world.official("lan.lt", xa, name="Lê Thị Lan")
    world.grant(huong, so)
    return Province(so, xa, tuan, huong, lan)


def get(world: World, path: str, **params: Any) -> httpx.Response:
    world.project()
    return world.http.get(path, params={k: v for k, v in params.items() if v is not None})


def ids(rows: list[dict[str, Any]], key: str = "id") -> list[str]:
    return [r[key] for r in rows]


def test_fold_drops_accents_case_and_the_stroke_of_d() -> None:
    assert fold("Phạm Đức Tuấn") == "pham duc tuan"
    assert fold("PHẠM") == "pham"
    assert fold("đường Đồng Khởi") == "duong dong khoi"


# --- agencies ----------------------------------------------------------------------------


def test_agencies_list_names_units_heads_and_registrar_byte_for_byte(world: World) -> None:
    p = province(world)
    body = world.read("/v1/agencies")
    assert ids(body["agencies"]) == ["so-tnmt", "xa-an-binh"]
    so = body["agencies"][0]
    assert so["name"] == SO
    assert so["level"] == "province"
    assert so["parent"] is None
    assert so["units"] == [
        {"id": "lanh-dao", "name": "Ban lãnh đạo", "parent": None},
        {"id": "phong-dat", "name": PHONG, "parent": "lanh-dao"},
    ]
    assert so["heads"] == [{"id": p.tuan.id, "name": TUAN}]
    assert so["registrar"] == {"id": "reg.so-tnmt", "name": "Trần Thị Tổ Chức"}
    xa = body["agencies"][1]
    assert (xa["level"], xa["parent"], xa["heads"]) == ("commune", "so-tnmt", [])
    assert "evaluated_at" in body
    one = world.read("/v1/agencies/so-tnmt")
    assert {k: v for k, v in one.items() if k != "evaluated_at"} == so
    # Byte for byte: the names in the answer are the UTF-8 of the registered ones.
    assert SO.encode() in get(world, "/v1/agencies/so-tnmt").content


def test_an_unknown_agency_is_404_and_a_malformed_id_400(world: World) -> None:
    province(world)
    response = get(world, "/v1/agencies/khong-co")
    assert response.status_code == 404
    assert problem_slug(response) == "not-found"
    response = get(world, "/v1/agencies/ bad")
    assert response.status_code == 400
    assert problem_slug(response) == "malformed-request"


def test_as_of_cuts_the_registry_an_agency_is_read_from(world: World) -> None:
    so = world.agency("so-tnmt", name=SO)
    before_unit = world.head("agency:so-tnmt")
    assert before_unit is not None
    receipt = world.ok(
        "unit.registered", "agency:so-tnmt", so.registrar, {"unit_id": "phong-dat", "name": PHONG}
    )
    world.official("tuan.pd", so, head=True, name=TUAN)
    # Before the unit's receipt: only the leadership unit, no head yet.
    as_of = _recorded_at(world, receipt["index"] - 1)
    then = world.read("/v1/agencies/so-tnmt", as_of=as_of)
    assert ids(then["units"]) == ["lanh-dao"]
    assert then["heads"] == []
    now = world.read("/v1/agencies/so-tnmt", as_of=receipt["recorded_at"])
    assert ids(now["units"]) == ["lanh-dao", "phong-dat"]
    assert now["heads"] == []
    assert world.read("/v1/agencies/so-tnmt")["heads"] == [{"id": "tuan.pd", "name": TUAN}]
    # An agency registered after as_of is not there yet.
    world.agency("xa-an-binh", level="commune", parent="so-tnmt")
    response = get(world, "/v1/agencies/xa-an-binh", as_of=receipt["recorded_at"])
    assert response.status_code == 404
    listed = world.read("/v1/agencies", as_of=receipt["recorded_at"])["agencies"]
    assert ids(listed) == ["so-tnmt"]


def _recorded_at(world: World, index: int) -> str:
    """The recorded_at of the entry at ``index`` (an as_of that reads up to it)."""
    return world.ledger.records(index, index + 1)[0].recorded_at


# --- officials ---------------------------------------------------------------------------


@pytest.mark.parametrize("q", ["pham duc tuan", "PHẠM", "duc tuan", "Tuấn", "tuan.p", "TUAN.PD"])
def test_officials_are_found_by_name_or_id_accents_and_case_aside(world: World, q: str) -> None:
    p = province(world)
    found = world.read("/v1/officials", q=q)["officials"]
    assert found == [
        {
            "id": p.tuan.id,
            "name": TUAN,
            "position": "Giám đốc",
            "unit": {"id": "lanh-dao", "name": "Ban lãnh đạo"},
            "agency": {"id": "so-tnmt", "name": SO},
        }
    ]


def test_every_word_must_match_and_agency_filters_by_current_posting(world: World) -> None:
    province(world)
    assert ids(world.read("/v1/officials")["officials"]) == ["huong.nt", "lan.lt", "tuan.pd"]
    assert ids(world.read("/v1/officials", q="thi")["officials"]) == ["huong.nt", "lan.lt"]
    assert ids(world.read("/v1/officials", q="thi huong")["officials"]) == ["huong.nt"]
    assert world.read("/v1/officials", q="pham huong")["officials"] == []
    by_agency = world.read("/v1/officials", q="thi", agency="xa-an-binh")["officials"]
    assert ids(by_agency) == ["lan.lt"]
    assert by_agency[0]["agency"] == {"id": "xa-an-binh", "name": "UBND xã An Bình"}
    assert world.read("/v1/officials", agency="khong-co")["officials"] == []


def test_an_official_shows_postings_keys_competences_and_delegations(world: World) -> None:
    p = province(world)
    delegation = world.delegate(p.tuan, p.huong, "uy_quyen")
    body = world.read(f"/v1/officials/{p.huong.id}")
    assert (body["id"], body["name"], body["position"]) == (p.huong.id, HUONG, "Chuyên viên")
    assert body["unit"] == {"id": "phong-dat", "name": PHONG}
    assert [(x["agency"]["name"], x["unit"]["name"], x["is_head"]) for x in body["postings"]] == [
        (SO, PHONG, False)
    ]
    assert [k["key_id"] for k in body["keys"]] == [p.huong.key.key_id]
    assert body["keys"][0]["revocations"] == []
    assert body["competences"][0]["procedure_codes"] == [PROCEDURE]
    assert body["competences"][0]["granted"] is True
    [d] = body["delegations"]
    assert d["delegation_id"] == delegation
    assert d["grantor"] == {"id": p.tuan.id, "name": TUAN}
    assert (d["kind"], d["instrument_no"], d["revoked_at"]) == ("uy_quyen", "15/QĐ-UQ", None)
    # The grantor sees the same delegation.
    assert world.read(f"/v1/officials/{p.tuan.id}")["delegations"] == [d]


def test_an_unknown_official_is_404_and_one_registered_after_as_of_too(world: World) -> None:
    p = province(world)
    assert get(world, "/v1/officials/khong-co").status_code == 404
    cut = world.head(f"official:{p.lan.id}")
    assert cut is not None
    as_of = _recorded_at(world, cut["index"])
    world.official("moi.nv", p.so, name="Nguyễn Văn Mới")
    response = get(world, "/v1/officials/moi.nv", as_of=as_of)
    assert response.status_code == 404
    assert problem_slug(response) == "not-found"
    assert "moi.nv" not in ids(world.read("/v1/officials", as_of=as_of)["officials"])
    assert world.read("/v1/officials/moi.nv")["name"] == "Nguyễn Văn Mới"


# --- matters -----------------------------------------------------------------------------


def _matters(world: World, p: Province) -> None:
    for n in range(1, 4):
        world.open_matter(f"M-{n}", p.huong, p.so)
    world.open_matter("X-1", p.lan, p.xa, code="2.000001")
    world.ok(
        "decision.recorded",
        "matter:M-2",
        p.huong,
        {
            "outcome": "approved",
            "summary": "Cấp giấy chứng nhận",
            "legal_basis": "Luật Đất đai 2024",
            "capacity": "own",
        },
    )
    world.ok("matter.closed", "matter:M-2", p.huong, {"result": "completed"})


def test_matters_list_their_state_with_names_and_filter(world: World) -> None:
    p = province(world)
    _matters(world, p)
    body = world.read("/v1/matters")
    assert ids(body["matters"], "matter_id") == ["M-1", "M-2", "M-3", "X-1"]
    assert body["next_after"] is None
    m1 = body["matters"][0]
    assert m1["custodian"] == {"id": p.huong.id, "name": HUONG}
    assert m1["agency"] == {"id": "so-tnmt", "name": SO}
    assert (m1["status"], m1["procedure_code"], m1["closed_at"]) == ("open", PROCEDURE, None)
    # The world's matters are from March 2026: read now, the open ones are long overdue.
    assert m1["due_at"].endswith("+07:00")
    assert m1["overdue_working_days"] > 0
    m2 = body["matters"][1]
    assert m2["status"] == "closed"
    assert m2["closed_at"] is not None
    # The row says what the matter's own read says.
    single = world.read("/v1/matters/M-2")
    assert (m2["custodian"]["id"], m2["closed_at"]) == (single["custodian"], single["closed_at"])

    def listed(**params: Any) -> list[str]:
        return ids(world.read("/v1/matters", **params)["matters"], "matter_id")

    assert listed(agency="xa-an-binh") == ["X-1"]
    assert listed(procedure="2.000001") == ["X-1"]
    assert listed(status="closed") == ["M-2"]
    assert listed(status="open", agency="so-tnmt") == ["M-1", "M-3"]
    assert listed(official=p.lan.id) == ["X-1"]
    assert listed(overdue="true") == ["M-1", "M-3", "X-1"]
    assert listed(overdue="false") == ["M-2"]
    # Evaluated the next minute of the world's clock (to), none is overdue yet.
    assert listed(overdue="true", to=world.at()) == []


def test_matters_page_with_next_after(world: World) -> None:
    p = province(world)
    _matters(world, p)
    first = world.read("/v1/matters", limit=2)
    assert ids(first["matters"], "matter_id") == ["M-1", "M-2"]
    assert first["next_after"] == "M-2"
    second = world.read("/v1/matters", limit=2, after=first["next_after"])
    assert ids(second["matters"], "matter_id") == ["M-3", "X-1"]
    assert second["next_after"] is None
    for bad in ({"limit": "0"}, {"limit": "1001"}, {"status": "lost"}, {"after": " x"}):
        response = get(world, "/v1/matters", **bad)
        assert response.status_code == 400, bad
        assert problem_slug(response) == "malformed-request"


def test_a_matters_statements_are_decoded_in_order_with_names(world: World) -> None:
    p = province(world)
    _matters(world, p)
    body = world.read("/v1/matters/M-2/events")
    assert body["matter_id"] == "M-2"
    statements = body["statements"]
    assert [s["type"] for s in statements] == [
        "matter.opened",
        "decision.recorded",
        "matter.closed",
    ]
    assert [s["seq"] for s in statements] == [0, 1, 2]
    assert statements[0]["index"] < statements[1]["index"] < statements[2]["index"]
    assert statements[0]["actor"] == {"id": p.huong.id, "name": HUONG}
    assert statements[0]["body"]["title"] == "Cấp giấy chứng nhận quyền sử dụng đất"
    assert statements[1]["competence"] == {"basis": "own", "delegation_id": None}
    assert statements[0]["competence"] is None
    assert all(isinstance(s["flags"], list) for s in statements)
    # as_of before the decision: the chain as then recorded.
    as_of = _recorded_at(world, statements[0]["index"])
    cut = world.read("/v1/matters/M-2/events", as_of=as_of)["statements"]
    assert [s["type"] for s in cut] == ["matter.opened"]
    response = get(world, "/v1/matters/khong-co/events")
    assert response.status_code == 404
    assert problem_slug(response) == "not-found"


# --- access ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/v1/agencies",
        "/v1/agencies/so-tnmt",
        "/v1/officials",
        "/v1/officials/tuan.pd",
        "/v1/matters",
        "/v1/matters/M-1/events",
    ],
)
def test_a_writer_token_is_refused_and_no_token_is_unauthenticated(world: World, path: str) -> None:
    p = province(world)
    world.open_matter("M-1", p.huong, p.so)
    world.project()
    writer = world.node.tokens.writer("so-tnmt")
    response = world.http.get(path, headers={"Authorization": f"Bearer {writer}"}, auth=None)
    assert response.status_code == 403
    assert problem_slug(response) == "forbidden"
    response = world.http.get(path, headers={}, auth=None)
    assert response.status_code == 401
    assert problem_slug(response) == "unauthenticated"
