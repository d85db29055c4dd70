"""A first bundle: exported from a live ledger, it verifies offline."""

from __future__ import annotations

from evidence.bundle import export
from evidence.verify import verify_bundle
from tests.world import World


def test_a_matter_bundle_verifies_with_the_logs_vkey(world: World) -> None:
    agency = world.agency("so-tnmt")
    phong = world.unit(agency, "phong-dat")
    a = world.official("chuyen.vien.a", agency, phong)
    b = world.official("chuyen.vien.b", agency, phong)
    world.grant(b, agency)
    subject = world.open_matter("H10-0001", a, agency)
    offer = world.ok("handoff.offered", subject, a, {"to": b.id, "reason": "đúng chuyên môn"})
    world.ok("handoff.accepted", subject, b, {"in_reply_to": offer["event_id"]})
    world.ok(
        "decision.recorded",
        subject,
        b,
        {
            "outcome": "approved",
            "summary": "Cấp giấy",
            "legal_basis": "Luật Đất đai 2024",
            "capacity": "own",
        },
    )
    log = world.ledger.transparency
    assert log is not None
    log.step()
    bundle = export(world.ledger, matter_id="H10-0001")
    report = verify_bundle(bundle, log.vkey)
    assert report.ok, [str(f) for f in report.failures]
    assert report.checked["inclusion proofs"] == len(bundle["entries"])
    rendering = bundle["rendering"]["matters"]["H10-0001"]
    assert rendering["slip"]["decisions"][0]["competence"] == "own"
    assert rendering["matter"]["decision"]["competence"] == "own"


def test_the_evidence_route_serves_the_bundle_and_its_vietnamese_page(world: World) -> None:
    agency = world.agency("so-xd")
    a = world.official("can.bo.a", agency)
    world.open_matter("XD-1", a, agency)
    log = world.ledger.transparency
    assert log is not None
    log.step()
    bundle = world.http.get("/v1/matters/XD-1/evidence").json()
    assert bundle["bundle_version"] == 2
    assert verify_bundle(bundle, log.vkey).ok
    page = world.http.get("/v1/matters/XD-1/evidence", params={"format": "html"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ" in page.text
    assert "ĐÃ KIỂM CHỨNG" in page.text
    english = world.http.get("/v1/matters/XD-1/evidence", params={"format": "html", "lang": "en"})
    assert "VERIFIED: every check passed." in english.text
    assert "DOSSIER PROCESSING CONTROL SLIP" in english.text


def test_a_malformed_bundle_is_a_failure_never_a_crash() -> None:
    for hostile in (
        None,
        [],
        {"bundle_version": 3},
        {"bundle_version": 2},
        {"bundle_version": 1},
        {"bundle_version": 1, "log": "x", "entries": "zz"},
        {"bundle_version": 1, "entries": [{"index": "a"}], "head_attestations": [1]},
    ):
        report = verify_bundle(hostile, None)
        assert not report.ok
        assert report.failures[0].check in ("format", "checkpoint")
