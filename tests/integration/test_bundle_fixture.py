"""Bundles written by earlier versions of the code still verify (issues 7 and 18, DESIGN §9).

Version 1 was issued in two shapes, and a bundle of each was committed when it was issued,
with the log's vkey beside it, by ``tests/fixtures/make_bundle_fixture.py``:

- ``bundle-v1.json`` — the first release (commit 1b45e1c): the rendering has no ``people``;
- ``bundle-v1-named.json`` — from commit e4c4dc2 on: people named beside their ids.

Both must verify forever, each by version 1's rules for its shape (``evidence.v1`` and
``evidence.v1.first``). If a change to the entries' checks, the competence rules, the
working-day calendar or the rendering makes a test here fail, the change breaks bundles
already handed to a disciplinary council: keep reading version 1 as it was, or bump the
version. The files are never regenerated: their SHA-256 is pinned below.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from evidence.derive import admit_all
from evidence.render import render_html
from evidence.v1 import first
from evidence.v1.rendering import rendering
from evidence.verify import verify_bundle
from ledger.times import parse_instant, utc_now
from tests.e2e.conftest import run

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

# Every committed fixture file and its SHA-256: a fixture is written once, never again. A
# test that needs other data adds a new file (and a line here), never rewrites one.
PINNED = {
    "bundle-v1.json": "d8e5d621d27504215be1ad9de2e02935a8d44deb9cd361dd9da594d369638d01",
    "bundle-v1.vkey": "a79c860393c0b654b7625481b4902ec581cf373e35e05f54760c54ab6e2fea7c",
    "bundle-v1-named.json": "5fc04527467789b19e98270901d762a6c74fb2578473be46b2ed8f8cba97a68c",
    "bundle-v1-named.vkey": "643f627b64d881899fed08c8e548c9c62c07c155d156eae6138316a38e700b71",
    # Version 2 (issue 12: the form-06 slip), written once by make_bundle_fixture_v2.py.
    "bundle-v2.json": "bb58359c381f2217f599ef6fbb5fe38a0bc33888f4e7d0562b62f5088b645d69",
    "bundle-v2.vkey": "64f5055ff4273cdd42fc76b6fd7193bc0ce9dc52365d4f75bb5697fd9934cebb",
    # A data dir written by release 3d5c405 (tests/e2e/test_upgrade.py; its README).
    "ledger-3d5c405/demo-inspector.token": (
        "d22c2fc54d4579815fb85108662417760d3113b986c1abc1e5fc9118d612895f"
    ),
    "ledger-3d5c405/demo.json": "02bfcf60c9cd133819584b66e165b0e27540347ea8cb64f6e97a20d8747859df",
    "ledger-3d5c405/ledger.db": "f2dd40f7bc34764936326ca9b35bc8c8962b8d7fb7b6d6500e042b67e57ab980",
    "ledger-3d5c405/log.key": "0ee3ea330855074bdf697ddf70a522f510127766fcd535a04d990d2c2e840863",
}

# The version-1 fixtures: (bundle, vkey, whether its rendering names people).
V1 = {
    "first": ("bundle-v1.json", "bundle-v1.vkey", False),
    "named": ("bundle-v1-named.json", "bundle-v1-named.vkey", True),
}


@pytest.fixture(scope="module", params=sorted(V1))
def shape(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture(scope="module")
def bundle(shape: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads((FIXTURES / V1[shape][0]).read_bytes())
    return value


@pytest.fixture(scope="module")
def vkey(shape: str) -> str:
    return (FIXTURES / V1[shape][1]).read_text("utf-8").strip()


def fixture_files() -> list[str]:
    """Every data file under tests/fixtures (the scripts that wrote them and the notes that
    say how aside)."""
    return sorted(
        path.relative_to(FIXTURES).as_posix()
        for path in FIXTURES.rglob("*")
        if path.is_file()
        and path.suffix not in (".py", ".pyc", ".md")
        and "__pycache__" not in path.parts
    )


def test_every_committed_fixture_keeps_the_bytes_it_was_committed_with() -> None:
    assert fixture_files() == sorted(PINNED), "a fixture was added or removed: pin it here"
    for name, digest in PINNED.items():
        assert hashlib.sha256((FIXTURES / name).read_bytes()).hexdigest() == digest, (
            f"tests/fixtures/{name} was regenerated or edited: restore it from git, and write "
            "new data to a new file"
        )


def test_the_committed_bundle_is_version_1_and_names_its_log(
    bundle: dict[str, Any], vkey: str
) -> None:
    assert bundle["bundle_version"] == 1
    assert bundle["kind"] == "matter"
    assert bundle["log"]["vkey"] == vkey
    assert vkey.startswith(bundle["log"]["origin"] + "+")


def test_the_committed_bundle_still_verifies_with_the_committed_vkey(
    bundle: dict[str, Any], vkey: str
) -> None:
    report = verify_bundle(bundle, vkey)
    assert report.ok, [str(f) for f in report.failures]
    assert report.warnings == []
    count = len(bundle["entries"])
    assert report.checked["inclusion proofs"] == count
    assert report.checked["signatures, keys and rules"] == count
    assert report.checked["head attestations"] == len(bundle["head_attestations"])


def test_each_shape_of_version_1_is_derived_as_it_was_issued(
    bundle: dict[str, Any], shape: str
) -> None:
    """The first release's rendering is version 1's without ``people``, value for value;
    the later one adds the names and nothing else."""
    derived = admit_all(
        (item["index"], base64.b64decode(item["entry"])) for item in bundle["entries"]
    )
    ids = [bundle["scope"]["matter_id"]]
    at = parse_instant(bundle["rendering"]["evaluated_at"])
    named = json.loads(json.dumps(rendering(derived, ids, at)))
    earlier = json.loads(json.dumps(first.rendering(derived, ids, at)))
    assert named == {**earlier, "people": named["people"]}
    expected = named if V1[shape][2] else earlier
    assert bundle["rendering"] == expected


def test_the_committed_bundle_still_says_what_it_said(bundle: dict[str, Any], shape: str) -> None:
    """The facts a council reads, pinned: the ký-thay decision is found delegated."""
    (matter_id,) = bundle["rendering"]["matters"]
    assert matter_id == bundle["scope"]["matter_id"]
    m = bundle["rendering"]["matters"][matter_id]
    assert m["matter"]["status"] == "open"
    assert m["matter"]["custodian"] == "le.thi.binh"
    (decision,) = m["decisions"]
    assert (decision["decider"], decision["capacity"], decision["competence"]) == (
        "pham.minh.duc",
        "on_behalf",
        "delegated",
    )
    assert decision["delegation_id"]
    assert [(h["giver"], h["receiver"]) for h in m["handovers"]] == [
        ("nguyen.van.an", "le.thi.binh")
    ]
    assert [(c["to"], c["position"]) for c in m["consultations"]] == [
        ("hoang.van.thang", "conditional"),
        ("do.thi.lan", None),
    ]
    assert len(bundle["rendering"]["calendar"]["weekdays_off"]) == 1  # the adjusted day off
    statements = [
        json.loads(base64.b64decode(item["entry"]))["statement"] for item in bundle["entries"]
    ]
    names = {s["body"].get("full_name") for s in statements if s["type"] == "official.registered"}
    assert {"Hoàng Văn Thắng", "Phạm Minh Đức", "Lê Thị Bình", "Nguyễn Văn An"} <= names
    if V1[shape][2]:
        assert bundle["rendering"]["people"]["pham.minh.duc"] == "Phạm Minh Đức"
    else:
        assert "people" not in bundle["rendering"]


def test_the_committed_bundle_is_judged_at_its_own_evaluation_instant_not_today(
    bundle: dict[str, Any], vkey: str
) -> None:
    """The matter was open when exported: judged later it would be overdue and its
    unanswered consultation deemed agreed. The verifier re-derives at ``evaluated_at``, so
    the bundle stays valid as time passes."""
    evaluated_at = parse_instant(bundle["rendering"]["evaluated_at"])
    assert evaluated_at < utc_now()
    derived = admit_all(
        (item["index"], base64.b64decode(item["entry"])) for item in bundle["entries"]
    )
    (matter_id,) = bundle["rendering"]["matters"]
    later = json.loads(
        json.dumps(rendering(derived, [matter_id], evaluated_at + timedelta(days=60)))
    )
    then = later["matters"][matter_id]
    now = bundle["rendering"]["matters"][matter_id]
    assert now["matter"]["overdue_working_days"] == 0
    assert then["matter"]["overdue_working_days"] > 0
    assert [c["deemed_agreed"] for c in now["consultations"]] == [False, False]
    assert [c["deemed_agreed"] for c in then["consultations"]] == [False, True]
    assert verify_bundle(bundle, vkey).ok


def test_the_committed_bundle_still_catches_a_forged_finding(
    bundle: dict[str, Any], vkey: str
) -> None:
    """The fixture is no rubber stamp: the verifier that passes it still refuses an edit."""
    tampered = copy.deepcopy(bundle)
    (matter_id,) = tampered["rendering"]["matters"]
    tampered["rendering"]["matters"][matter_id]["decisions"][0]["competence"] = "own"
    report = verify_bundle(tampered, vkey)
    assert [f.where for f in report.failures] == [
        f"rendering.matters.{matter_id}.decisions[0].competence"
    ]


def test_a_name_slipped_into_either_shape_is_derived_again_and_refused(
    bundle: dict[str, Any], vkey: str
) -> None:
    """Names are derived from the registry entries in both shapes: a ``people`` member
    added to the first shape is judged as the later shape's, name by name."""
    tampered = copy.deepcopy(bundle)
    people = tampered["rendering"].setdefault("people", {})
    people.update({"pham.minh.duc": "Trần Quốc Cường"})
    report = verify_bundle(tampered, vkey)
    assert not report.ok
    assert ("rendering", "rendering.people.pham.minh.duc") in [
        (f.check, f.where) for f in report.failures
    ]


def test_the_first_shape_renders_ids_as_its_release_did(
    bundle: dict[str, Any], vkey: str, shape: str
) -> None:
    page = render_html(bundle, verify_bundle(bundle, vkey), "vi")
    assert "ĐÃ KIỂM CHỨNG: mọi kiểm tra đều đạt." in page
    if V1[shape][2]:
        assert "Phạm Minh Đức <small>(pham.minh.duc)</small>" in page
    else:
        assert "<td>pham.minh.duc</td>" in page  # the decider, by id: no names then
        assert "Phạm Minh Đức" not in page


def test_ledgerctl_bundle_verify_passes_the_committed_bundle(
    tmp_path: Path, vkey: str, shape: str
) -> None:
    path = FIXTURES / V1[shape][0]
    result = run("bundle", "verify", str(path), "--vkey", vkey, cwd=tmp_path, check=False)
    out = result.stdout.decode()
    assert result.returncode == 0, out + result.stderr.decode()
    assert out.splitlines()[-1] == "VERIFIED: every check passed"
    assert "FAIL" not in out
    assert "WARNING" not in result.stderr.decode()


def test_the_committed_bundles_time_rules_edited_fail_against_its_genesis(
    bundle: dict[str, Any], vkey: str
) -> None:
    tampered = copy.deepcopy(bundle)
    tampered["time_rules"]["out_of_order_seconds"] = 10**6

    report = verify_bundle(tampered, vkey)

    assert [(f.check, f.where) for f in report.failures] == [("time_rules", "time_rules")]


# --- version 2 --------------------------------------------------------------------------


def test_the_committed_version_2_bundle_verifies_and_renders_its_slip() -> None:
    bundle = json.loads((FIXTURES / "bundle-v2.json").read_bytes())
    vkey = (FIXTURES / "bundle-v2.vkey").read_text("utf-8").strip()
    assert bundle["bundle_version"] == 2
    report = verify_bundle(bundle, vkey)
    assert report.ok, [str(f) for f in report.failures]
    assert report.warnings == []
    assert report.checked["signatures, keys and rules"] == len(bundle["entries"])
    (matter,) = bundle["rendering"]["matters"].values()
    assert matter["slip"]["steps"], "the slip has its steps"


def test_the_committed_version_2_bundle_still_catches_a_forged_finding() -> None:
    bundle = json.loads((FIXTURES / "bundle-v2.json").read_bytes())
    vkey = (FIXTURES / "bundle-v2.vkey").read_text("utf-8").strip()
    (matter_id,) = bundle["rendering"]["matters"]
    decision = bundle["rendering"]["matters"][matter_id]["slip"]["decisions"][0]
    decision["competence"] = "none" if decision["competence"] != "none" else "own"
    report = verify_bundle(bundle, vkey)
    assert [f.where for f in report.failures] == [
        f"rendering.matters.{matter_id}.slip.decisions[0].competence"
    ]
