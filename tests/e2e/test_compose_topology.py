"""The compose deployment's topology as plain processes on the local PostgreSQL: a one-shot
init, two API servers without integration or projections, one integrator and one
projection worker. Appends go through both APIs; timelines come back through both."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledger.crypto import SigningKey
from tests.e2e.conftest import (
    LEDGERCTL,
    ROOT_REGISTRAR,
    ServeProcess,
    Server,
    create_token_in,
    init_ledger,
    latest_checkpoint,
    log_verifier,
    run,
    store_args,
)
from tests.e2e.test_projections_cli import EPOCH, Desk

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@contextmanager
def _worker(args: list[str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            [LEDGERCTL, *args],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def _read(url: str, token: str, path: str, until: Any, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.get(url + path, headers={"Authorization": f"Bearer {token}"})
        if response.status_code == 200 and until(response.json()):
            return response.json()
        if time.monotonic() > deadline:
            raise AssertionError(f"{url}{path}: {response.status_code} {response.text}")
        time.sleep(0.2)


def test_the_compose_topology_appends_through_both_apis_and_reads_timelines_back(
    tmp_path: Path, pg_url: str
) -> None:
    data = tmp_path / "data"
    init_ledger(data, pg_url)  # the one-shot init
    root_writer = create_token_in(data, "root-writer", pg_url)
    inspector = create_token_in(data, "inspector", pg_url)
    apis = [
        ServeProcess(
            data,
            tmp_path / f"api{n}.log",
            database_url=pg_url,
            integrate=False,
            projections=False,
        )
        for n in (1, 2)
    ]
    try:
        with (
            _worker(["log", "integrate", *store_args(data, pg_url)], tmp_path / "integrator.log"),
            _worker(
                ["projections", "run", *store_args(data, pg_url)], tmp_path / "projections.log"
            ),
        ):
            server = Server(apis[0].url, data, root_writer, inspector)
            desk = Desk(server)
            one, two = apis[0].url, apis[1].url
            desk.post(
                root_writer,
                "agency.registered",
                "agency:SO",
                ROOT_REGISTRAR,
                desk.root,
                {"name": "Sở Xây dựng", "level": "province"},
                url=one,
            )
            registrar = SigningKey.generate()
            desk.post(
                root_writer,
                "registrar.appointed",
                "agency:SO",
                ROOT_REGISTRAR,
                desk.root,
                {
                    "official_id": "to-chuc",
                    "full_name": "Phạm Văn Tổ",
                    "public_key": registrar.public_b64,
                    "valid_from": EPOCH,
                },
                url=two,
            )
            args = [
                "tokens",
                "create",
                "--role",
                "writer",
                "--agency",
                "SO",
                *store_args(data, pg_url),
            ]
            writer = run(*args).stdout.decode().strip()
            desk.post(
                writer,
                "unit.registered",
                "agency:SO",
                "to-chuc",
                registrar,
                {"unit_id": "phong-qh", "name": "Phòng Quy hoạch"},
                url=one,
            )
            keys: dict[str, SigningKey] = {}
            for n, (person, name) in enumerate((("lan", "Đỗ Thị Lan"), ("minh", "Vũ Văn Minh"))):
                keys[person] = SigningKey.generate()
                url = (one, two)[n % 2]
                desk.post(
                    writer,
                    "official.registered",
                    f"official:{person}",
                    "to-chuc",
                    registrar,
                    {
                        "full_name": name,
                        "agency_id": "SO",
                        "unit_id": "phong-qh",
                        "position": "Chuyên viên",
                        "is_head": False,
                    },
                    url=url,
                )
                desk.post(
                    writer,
                    "key.bound",
                    f"official:{person}",
                    "to-chuc",
                    registrar,
                    {"public_key": keys[person].public_b64, "valid_from": EPOCH},
                    url=url,
                )
            for m in range(4):
                subject = f"matter:XD-{m}"
                desk.post(
                    writer,
                    "matter.opened",
                    subject,
                    "lan",
                    keys["lan"],
                    {
                        "title": "Cấp giấy phép xây dựng",
                        "procedure_code": "1.009994",
                        "agency_id": "SO",
                        "deadline_working_days": 15,
                        "applicant_ref": f"GP-{m}",
                    },
                    url=(one, two)[m % 2],
                )
                offer = desk.post(
                    writer,
                    "handoff.offered",
                    subject,
                    "lan",
                    keys["lan"],
                    {"to": "minh", "reason": "Đúng lĩnh vực"},
                    url=(two, one)[m % 2],
                )
                desk.post(
                    writer,
                    "handoff.accepted",
                    subject,
                    "minh",
                    keys["minh"],
                    {"in_reply_to": offer["event_id"]},
                    url=(one, two)[m % 2],
                )

            for url in (one, two):
                timeline = _read(
                    url, inspector, "/v1/officials/minh/timeline", lambda t: len(t["rows"]) == 8
                )
                assert [r["type"] for r in timeline["rows"]] == [
                    "handoff.offered",
                    "handoff.accepted",
                ] * 4
                custody = _read(
                    url, inspector, "/v1/matters/XD-3/custody", lambda c: len(c["intervals"]) == 2
                )
                assert [i["official_id"] for i in custody["intervals"]] == ["lan", "minh"]
            # The integrator process signs checkpoints over everything appended.
            size = int(httpx.get(one + "/v1/log/checkpoint").text.split("\n")[1])
            deadline = time.monotonic() + 30
            total = 1 + 3 + 4 + 12
            while size < total and time.monotonic() < deadline:
                time.sleep(0.2)
                size = latest_checkpoint(two, log_verifier(two))[0].size
            assert size == total
            for api in apis:
                assert httpx.get(api.url + "/readyz").status_code == 200
    finally:
        for api in apis:
            api.stop()
