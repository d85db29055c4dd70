"""An evidence bundle leaves a real server and verifies offline (issue 7, DESIGN §9).

A matter is built over HTTP against ``ledgerctl serve``; its bundle is exported twice — by
an inspector over ``GET /v1/matters/{id}/evidence`` and by ``ledgerctl bundle export`` on
the data dir — then the server is stopped and ``ledgerctl bundle verify`` / ``render`` run
in a fresh directory with no data dir, no server and no LEDGER_ variables: only the project
installed and the vkey published at ``GET /v1/log/key``.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from evidence.derive import entry_record, where
from ledger.crypto import SigningKey
from ledger.note import format_vkey
from tests.e2e.conftest import (
    ROOT_REGISTRAR,
    ServeProcess,
    Server,
    create_token,
    init_ledger,
    log_verifier,
    run,
    wait_for_checkpoint,
)
from tests.e2e.test_projections_cli import EPOCH, Desk

MATTER = "H10.15-261127-0042"
SLIP = "Phiếu kiểm soát quá trình giải quyết hồ sơ"


@dataclass
class Exported:
    vkey: str
    http_bundle: Path
    cli_bundle: Path
    decision_index: int
    decider: str


def build_matter(server: Server) -> tuple[int, int]:
    """Agency, office, four officials, a grant, a delegation and a whole matter; the
    decision's log index and the last index written."""
    desk = Desk(server)
    root = server.root_writer
    desk.post(
        root,
        "agency.registered",
        "agency:SO",
        ROOT_REGISTRAR,
        desk.root,
        {"name": "Sở Tài nguyên và Môi trường", "level": "province"},
    )
    registrar = SigningKey.generate()
    desk.post(
        root,
        "registrar.appointed",
        "agency:SO",
        ROOT_REGISTRAR,
        desk.root,
        {
            "official_id": "to-chuc",
            "full_name": "Trần Thị Tổ Chức",
            "public_key": registrar.public_b64,
            "valid_from": EPOCH,
        },
    )
    writer = create_token(server.data, "writer", "SO")
    for unit, name, parent in (
        ("lanh-dao", "Ban Giám đốc", None),
        ("phong-dat", "Phòng Đất đai", "lanh-dao"),
    ):
        body = {"unit_id": unit, "name": name}
        if parent:
            body["parent_unit"] = parent
        desk.post(writer, "unit.registered", "agency:SO", "to-chuc", registrar, body)
    keys: dict[str, SigningKey] = {}
    for person, name, unit, head in (
        ("cuong", "Trần Quốc Cường", "lanh-dao", True),
        ("duc", "Phạm Minh Đức", "phong-dat", True),
        ("an", "Nguyễn Văn An", "phong-dat", False),
        ("binh", "Lê Thị Bình", "phong-dat", False),
    ):
        keys[person] = SigningKey.generate()
        desk.post(
            writer,
            "official.registered",
            f"official:{person}",
            "to-chuc",
            registrar,
            {
                "full_name": name,
                "agency_id": "SO",
                "unit_id": unit,
                "position": "Giám đốc" if unit == "lanh-dao" else "Chuyên viên",
                "is_head": head,
            },
        )
        desk.post(
            writer,
            "key.bound",
            f"official:{person}",
            "to-chuc",
            registrar,
            {"public_key": keys[person].public_b64, "valid_from": EPOCH},
        )
    for person in ("binh", "cuong"):
        desk.post(
            writer,
            "competence.granted",
            f"official:{person}",
            "to-chuc",
            registrar,
            {"procedure_codes": ["1.004227"], "legal_basis": "Quyết định 12/QĐ-UBND"},
        )
    desk.post(
        writer,
        "delegation.granted",
        "official:cuong",
        "cuong",
        keys["cuong"],
        {
            "grantee": "duc",
            "kind": "ky_thay",
            "procedure_codes": ["1.004227"],
            "valid_from": EPOCH,
            "valid_until": "2030-01-01T00:00:00Z",
            "instrument_no": "15/QĐ-UQ",
        },
    )
    subject = f"matter:{MATTER}"

    def post(type_: str, person: str, body: dict[str, Any]) -> dict[str, Any]:
        return desk.post(writer, type_, subject, person, keys[person], body)

    post(
        "matter.opened",
        "an",
        {
            "title": "Cấp giấy chứng nhận quyền sử dụng đất",
            "procedure_code": "1.004227",
            "agency_id": "SO",
            "deadline_working_days": 5,
            "applicant_ref": "HS-42",
        },
    )
    offer = post("handoff.offered", "an", {"to": "binh", "reason": "đúng lĩnh vực"})
    post("handoff.accepted", "binh", {"in_reply_to": offer["event_id"]})
    asked = post(
        "consultation.requested",
        "binh",
        {"to": "cuong", "question": "Có cấp không?", "proposed_position": "Đề nghị cấp"},
    )
    post(
        "consultation.answered",
        "cuong",
        {"in_reply_to": asked["event_id"], "position": "agree", "text": "Đồng ý"},
    )
    decided = post(
        "decision.recorded",
        "binh",
        {
            "outcome": "approved",
            "summary": "Cấp giấy chứng nhận",
            "legal_basis": "Luật Đất đai 2024",
            "capacity": "own",
        },
    )
    closed = post("matter.closed", "binh", {"result": "completed"})
    return int(decided["index"]), int(closed["index"])


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    """Serve, build the matter, export it both ways, stop the server: what a council gets."""
    tmp = tmp_path_factory.mktemp("served")
    data = tmp / "data"
    init_ledger(data)
    process = ServeProcess(data, tmp / "serve.log")
    try:
        server = Server(
            process.url,
            data,
            root_writer=create_token(data, "root-writer"),
            inspector=create_token(data, "inspector"),
        )
        decision_index, last = build_matter(server)
        vkey = httpx.get(server.url + "/v1/log/key", timeout=10).json()["vkey"]
        wait_for_checkpoint(server.url, log_verifier(server.url), last + 1)

        response = httpx.get(
            f"{server.url}/v1/matters/{MATTER}/evidence",
            headers=server.headers(server.inspector),
            timeout=30,
        )
        assert response.status_code == 200, response.text
        http_bundle = tmp / "from-http.json"
        http_bundle.write_bytes(response.content)
        anonymous = httpx.get(f"{server.url}/v1/matters/{MATTER}/evidence", timeout=10)
        assert anonymous.status_code == 401

        cli_bundle = tmp / "from-cli.json"
        result = run(
            "bundle", "export", "--matter", MATTER, "-o", str(cli_bundle), "--data-dir", str(data)
        )
        assert f"wrote {cli_bundle}" in result.stderr.decode().replace("\n", "")
    finally:
        process.stop()
    assert process.process.poll() is not None  # no server from here on
    return Exported(vkey, http_bundle, cli_bundle, decision_index, "binh")


@pytest.fixture
def offline(tmp_path: Path) -> Path:
    """A fresh directory with nothing of the ledger in it."""
    place = tmp_path / "council"
    place.mkdir()
    return place


def copy_in(source: Path, offline: Path) -> Path:
    target = offline / "bundle.json"
    shutil.copyfile(source, target)
    return target


@pytest.mark.parametrize("source", ["http_bundle", "cli_bundle"])
def test_a_bundle_verifies_offline_with_the_published_vkey(
    exported: Exported, offline: Path, source: str
) -> None:
    bundle = copy_in(getattr(exported, source), offline)
    result = run("bundle", "verify", bundle.name, "--vkey", exported.vkey, cwd=offline)
    out = result.stdout.decode()
    assert out.splitlines()[-1] == "VERIFIED: every check passed"
    assert "FAIL" not in out
    assert "WARNING" not in result.stderr.decode()
    entries = len(json.loads(bundle.read_bytes())["entries"])
    assert f"checked inclusion proofs: {entries}" in out.splitlines()
    assert sorted(p.name for p in offline.iterdir()) == ["bundle.json"]  # nothing else made


def test_both_exports_hold_the_whole_matter(exported: Exported) -> None:
    http_bundle = json.loads(exported.http_bundle.read_bytes())
    cli_bundle = json.loads(exported.cli_bundle.read_bytes())
    for bundle in (http_bundle, cli_bundle):
        assert bundle["bundle_version"] == 2
        assert bundle["log"]["vkey"] == exported.vkey
        m = bundle["rendering"]["matters"][MATTER]
        assert m["matter"]["status"] == "closed"
        decisions = m["slip"]["decisions"]
        assert [(d["decider"]["id"], d["competence"]) for d in decisions] == [("binh", "own")]
    assert [e["entry"] for e in http_bundle["entries"]] == [
        e["entry"] for e in cli_bundle["entries"]
    ]


def test_without_vkey_verify_refuses_to_start_and_names_the_flag_that_trusts_the_bundle(
    exported: Exported, offline: Path
) -> None:
    bundle = copy_in(exported.cli_bundle, offline)
    for command in (["verify"], ["render", "-o", "report.html"]):
        result = run("bundle", *command, bundle.name, cwd=offline, check=False)
        assert result.returncode == 2
        assert result.stdout == b""  # no verdict of any kind
        stderr = " ".join(result.stderr.decode().split())  # the console may wrap long lines
        assert stderr.startswith("error: no --vkey given")
        assert "--trust-embedded-key" in stderr
    assert sorted(p.name for p in offline.iterdir()) == ["bundle.json"]  # no page written


def test_trusting_the_embedded_key_verifies_but_warns_loudly_on_stderr(
    exported: Exported, offline: Path
) -> None:
    bundle = copy_in(exported.cli_bundle, offline)
    result = run("bundle", "verify", bundle.name, "--trust-embedded-key", cwd=offline)
    assert result.stdout.decode().splitlines()[-1] == "VERIFIED: every check passed"
    stderr = " ".join(result.stderr.decode().split())  # the console may wrap long lines
    assert stderr.startswith("WARNING: NO --vkey GIVEN")
    assert "verify again with --vkey" in stderr
    both = run(
        "bundle",
        "verify",
        bundle.name,
        "--trust-embedded-key",
        "--vkey",
        exported.vkey,
        cwd=offline,
        check=False,
    )
    assert both.returncode == 2


def test_a_tampered_bundle_fails_and_names_the_entry(exported: Exported, offline: Path) -> None:
    bundle = json.loads(exported.cli_bundle.read_bytes())
    (n,) = [i for i, e in enumerate(bundle["entries"]) if e["index"] == exported.decision_index]
    data = base64.b64decode(bundle["entries"][n]["entry"])
    record = entry_record(exported.decision_index, data)
    forged = data.replace(b'"outcome":"approved"', b'"outcome":"rejected"')
    assert forged != data
    bundle["entries"][n]["entry"] = base64.b64encode(forged).decode()
    target = offline / "tampered.json"
    target.write_text(json.dumps(bundle, ensure_ascii=False), "utf-8")

    result = run("bundle", "verify", target.name, "--vkey", exported.vkey, cwd=offline, check=False)

    assert result.returncode == 1
    lines = result.stdout.decode().splitlines()
    label = where(record)
    assert label.startswith(f"index {exported.decision_index} (matter:{MATTER} seq 5, event ")
    assert f"FAIL [inclusion] {label}: the entry bytes" in "\n".join(lines)
    assert any(line.startswith(f"FAIL [signature] {label}: bad-signature") for line in lines)
    assert lines[-1].startswith("NOT VERIFIED: ")
    assert "VERIFIED: every check passed" not in lines


def test_a_bundle_verified_with_another_logs_vkey_fails(exported: Exported, offline: Path) -> None:
    bundle = copy_in(exported.cli_bundle, offline)
    origin = json.loads(bundle.read_bytes())["log"]["origin"]
    other = format_vkey(origin, SigningKey.generate().public_bytes)
    result = run("bundle", "verify", bundle.name, "--vkey", other, cwd=offline, check=False)
    assert result.returncode == 1
    out = result.stdout.decode()
    assert "FAIL [checkpoint] checkpoint: not signed by the trusted log key" in out
    assert "FAIL [genesis] index 0: the genesis names log key" in out


def test_render_writes_a_vietnamese_page_and_an_english_one(
    exported: Exported, offline: Path
) -> None:
    bundle = copy_in(exported.http_bundle, offline)
    result = run(
        "bundle", "render", bundle.name, "-o", "report.html", "--vkey", exported.vkey, cwd=offline
    )
    assert "verified" in result.stderr.decode()
    page = (offline / "report.html").read_text("utf-8")
    assert '<html lang="vi">' in page
    assert SLIP.upper() in page  # the form's title
    assert "Mẫu số 06" in page
    assert "ĐÃ KIỂM CHỨNG: mọi kiểm tra đều đạt." in page
    assert "Quyết định và căn cứ thẩm quyền" in page
    # The decider, by name beside the id, as the page reads (tags aside).
    text = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert f"Lê Thị Bình ({exported.decider})" in text
    assert "thuộc thẩm quyền (theo sổ đăng ký)" in page  # the finding: own competence

    run(
        "bundle",
        "render",
        bundle.name,
        "-o",
        "report-en.html",
        "--lang",
        "en",
        "--vkey",
        exported.vkey,
        cwd=offline,
    )
    english = (offline / "report-en.html").read_text("utf-8")
    assert '<html lang="en">' in english
    assert "DOSSIER PROCESSING CONTROL SLIP" in english
    assert "VERIFIED: every check passed." in english
    assert SLIP.upper() not in english


def test_render_of_a_tampered_bundle_says_so_and_exits_non_zero(
    exported: Exported, offline: Path
) -> None:
    bundle = json.loads(exported.http_bundle.read_bytes())
    bundle["rendering"]["matters"][MATTER]["slip"]["decisions"][0]["competence"] = "none"
    target = offline / "tampered.json"
    target.write_text(json.dumps(bundle, ensure_ascii=False), "utf-8")
    result = run(
        "bundle",
        "render",
        target.name,
        "-o",
        "report.html",
        "--vkey",
        exported.vkey,
        cwd=offline,
        check=False,
    )
    assert result.returncode == 1
    page = (offline / "report.html").read_text("utf-8")
    assert "KHÔNG ĐẠT KIỂM CHỨNG" in page
    assert f"rendering.matters.{MATTER}.slip.decisions[0].competence" in page
