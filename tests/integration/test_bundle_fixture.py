"""A bundle written by an earlier version of the code still verifies (issue 7, DESIGN §9).

``tests/fixtures/bundle-v1.json`` was written once by ``tests/fixtures/make_bundle_fixture.py``
and committed with the log's vkey beside it. If a change to the entries' checks, the
competence rules, the working-day calendar or the rendering makes this test fail, the
change breaks every bundle already handed to a disciplinary council: keep reading version
1 as it was, or bump the version and keep this fixture verifying under the old rules.
"""

from __future__ import annotations

import base64
import copy
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from evidence.derive import admit_all
from evidence.v1.rendering import rendering
from evidence.verify import verify_bundle
from ledger.times import parse_instant, utc_now
from tests.e2e.conftest import run

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
BUNDLE = FIXTURES / "bundle-v1.json"
VKEY = FIXTURES / "bundle-v1.vkey"


@pytest.fixture(scope="module")
def bundle() -> dict[str, Any]:
    value: dict[str, Any] = json.loads(BUNDLE.read_bytes())
    return value


@pytest.fixture(scope="module")
def vkey() -> str:
    return VKEY.read_text("utf-8").strip()


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


def test_the_committed_bundle_still_says_what_it_said(bundle: dict[str, Any]) -> None:
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


def test_ledgerctl_bundle_verify_passes_the_committed_bundle(tmp_path: Path, vkey: str) -> None:
    result = run("bundle", "verify", str(BUNDLE), "--vkey", vkey, cwd=tmp_path, check=False)
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
