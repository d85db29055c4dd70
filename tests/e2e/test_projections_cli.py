"""Projections in real processes: `serve` keeps them current, `projections status` shows
their positions, `projections rebuild` swaps a fresh build in under a running server."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from ledger.client import Chains
from ledger.crypto import SigningKey
from tests.e2e.conftest import ROOT_REGISTRAR, Server, create_token, run

EPOCH = "2020-01-01T00:00:00Z"


class Desk:
    """Signs statements in order, chained per subject, and posts them to the server."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.chains = Chains()
        self.clock = datetime.now(UTC) - timedelta(hours=1)
        self.root = SigningKey.load(server.data / "root-registrar.key")

    def post(
        self,
        token: str,
        type_: str,
        subject: str,
        actor: str,
        key: SigningKey,
        body: Any,
        *,
        url: str | None = None,
    ) -> dict[str, Any]:
        self.clock += timedelta(seconds=5)
        env = self.chains.sign(
            type_,
            subject,
            actor=actor,
            key=key,
            body=body,
            occurred_at=self.clock.isoformat().replace("+00:00", "Z"),
        )
        response = httpx.post(
            (url or self.server.url) + "/v1/events", json=env, headers=self.server.headers(token)
        )
        assert response.status_code == 201, response.text
        receipt: dict[str, Any] = response.json()
        return receipt


def read(server: Server, path: str, *, until: Any = None, timeout: float = 20) -> Any:
    """GET an inspector's read, retrying until it answers 200 (and ``until(body)`` holds)."""
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.get(server.url + path, headers=server.headers(server.inspector))
        if response.status_code == 200 and (until is None or until(response.json())):
            return response.json()
        if time.monotonic() > deadline:
            raise AssertionError(f"{path}: {response.status_code} {response.text}")
        time.sleep(0.2)


def test_serve_projects_rebuild_swaps_in_and_the_server_keeps_following(
    server: Server,
) -> None:
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
    desk.post(
        writer,
        "unit.registered",
        "agency:SO",
        "to-chuc",
        registrar,
        {"unit_id": "phong-dat", "name": "Phòng Đất đai"},
    )
    keys = {}
    for person, name in (("an", "Nguyễn Văn An"), ("binh", "Lê Thị Bình")):
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
                "unit_id": "phong-dat",
                "position": "Chuyên viên",
                "is_head": False,
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
    desk.post(
        writer,
        "matter.opened",
        "matter:M1",
        "an",
        keys["an"],
        {
            "title": "Cấp giấy chứng nhận",
            "procedure_code": "1.004227",
            "agency_id": "SO",
            "deadline_working_days": 5,
            "applicant_ref": "HS-1",
        },
    )

    matter = read(server, "/v1/matters/M1")
    assert matter["custodian"] == "an"

    status = run("projections", "status", "--data-dir", str(server.data)).stdout.decode()
    assert status.splitlines() == [
        f"{name}\tposition 8\tlag 0" for name in ("matters", "custody", "timeline")
    ]

    rebuilt = run("projections", "rebuild", "--data-dir", str(server.data))
    assert "matters: rebuilt 9 entries" in rebuilt.stderr.decode()

    # The server's runner follows the swapped-in databases: a new handoff shows up.
    offer = desk.post(
        writer,
        "handoff.offered",
        "matter:M1",
        "an",
        keys["an"],
        {"to": "binh", "reason": "đúng lĩnh vực"},
    )
    desk.post(
        writer,
        "handoff.accepted",
        "matter:M1",
        "binh",
        keys["binh"],
        {"in_reply_to": offer["event_id"]},
    )
    matter = read(server, "/v1/matters/M1", until=lambda m: m["custodian"] == "binh")
    custody = read(server, "/v1/matters/M1/custody")
    assert [i["official_id"] for i in custody["intervals"]] == ["an", "binh"]
    timeline = read(server, "/v1/officials/binh/timeline")
    assert [r["role"] for r in timeline["rows"]] == ["addressee", "actor"]
    assert httpx.get(server.url + "/readyz").status_code == 200
    metrics = httpx.get(server.url + "/metrics").text
    assert 'ledger_projection_lag_entries{projection="timeline"} 0.0' in metrics


def test_projections_status_refuses_an_uninitialised_data_dir(tmp_path: Any) -> None:
    result = run("projections", "status", "--data-dir", str(tmp_path / "none"), check=False)
    assert result.returncode != 0
    assert "init" in result.stderr.decode()


def test_projections_rebuild_names_an_unknown_projection(tmp_path: Any) -> None:
    result = run("projections", "rebuild", "nonesuch", "--data-dir", str(tmp_path), check=False)
    assert result.returncode == 2
    assert "unknown projection 'nonesuch'" in result.stderr.decode()
