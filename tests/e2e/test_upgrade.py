"""Upgrades without loss (DESIGN §4 "Rules versions", docs/upgrading.md): a data dir that an
earlier release wrote — tests/fixtures/ledger-3d5c405, committed once and never made again —
verifies with the current ``ledgerctl verify``, is served by the current ``ledgerctl serve``
with its read models rebuilt, and answers an inspector's reads as the old release stored
them."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.conftest import ServeProcess, bearer_headers, ledger_verify, read_log, run

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "ledger-3d5c405"
# The files as release 3d5c405 wrote them (the fixture's README): a rewrite fails here.
FIXTURE_SHA256 = {
    "ledger.db": "f2dd40f7bc34764936326ca9b35bc8c8962b8d7fb7b6d6500e042b67e57ab980",
    "log.key": "0ee3ea330855074bdf697ddf70a522f510127766fcd535a04d990d2c2e840863",
    "demo.json": "02bfcf60c9cd133819584b66e165b0e27540347ea8cb64f6e97a20d8747859df",
    "demo-inspector.token": "d22c2fc54d4579815fb85108662417760d3113b986c1abc1e5fc9118d612895f",
}
ENTRIES = 392  # what the old release stored: the demo's 25 matters and their registry


def wait_ready(url: str, timeout: float = 60) -> dict[str, Any]:
    """``/readyz``'s answer once it is 200: the log integrated, the read models built."""
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.get(url + "/readyz", timeout=10)
        if response.status_code == 200:
            answer: dict[str, Any] = response.json()
            return answer
        assert time.monotonic() < deadline, f"not ready within {timeout} s: {response.text}"
        time.sleep(0.2)


def test_a_data_dir_written_by_release_3d5c405_verifies_and_is_served_after_the_upgrade(
    tmp_path: Path,
) -> None:
    # The fixture is byte for byte what the old release wrote.
    assert {p.name for p in FIXTURE.iterdir()} == {*FIXTURE_SHA256, "README.md"}
    for name, digest in FIXTURE_SHA256.items():
        assert hashlib.sha256((FIXTURE / name).read_bytes()).hexdigest() == digest, name
    data = tmp_path / "ledger-data"
    shutil.copytree(FIXTURE, data, ignore=shutil.ignore_patterns("README.md"))
    (data / "log.key").chmod(0o600)  # as the release made it; git keeps no such mode

    # An operator who had set a time window in ledger.toml, as 3d5c405 allowed: the new
    # release refuses to verify or serve, naming the setting and the file ...
    toml = data / "ledger.toml"
    toml.write_text("future_skew_seconds = 300\n", encoding="utf-8")
    for command in ("verify", "serve"):
        refused = run(command, "--data-dir", str(data), check=False)
        said = (refused.stdout + refused.stderr).decode()
        assert refused.returncode == 2, said
        # The terminal wraps the message anywhere, even inside the path: read it unwrapped.
        unwrapped = "".join(said.split())
        assert f"future_skew_secondsin{toml}" in unwrapped, said
        assert "removethesettingandstartagain" in unwrapped, said
    # ... and once it is removed, as docs/upgrading.md says, the log verifies as it was.
    toml.unlink()
    code, output = ledger_verify(data)
    assert code == 0, output
    assert output.startswith(f"OK: {ENTRIES} entries"), output

    summary = json.loads((data / "demo.json").read_text("utf-8"))
    token = (data / summary["inspector_token_file"]).read_text("utf-8").strip()
    server = ServeProcess(data, tmp_path / "serve.log")
    try:
        # Ready only once the read models are rebuilt from index 0 in today's shape.
        assert wait_ready(server.url)["log_size"] == ENTRIES
        items = read_log(server.url, token)
        assert len(items) == ENTRIES
        openings = [
            item["entry"]["statement"]
            for item in items
            if item["entry"]["statement"]["type"] == "matter.opened"
        ]
        assert len(openings) == summary["matters"] == 25
        opened = openings[0]
        matter_id = opened["subject"].removeprefix("matter:")

        with httpx.Client(base_url=server.url, headers=bearer_headers(token), timeout=30) as http:
            # The matter, as the old release stored its opening.
            matter = http.get(f"/v1/matters/{matter_id}")
            assert matter.status_code == 200, matter.text
            body = matter.json()
            assert body["matter_id"] == matter_id
            assert body["opened_at"] == opened["occurred_at"]
            assert body["agency_id"] == opened["body"]["agency_id"]
            assert body["procedure_code"] == opened["body"]["procedure_code"]

            # Its custody begins with the official who opened it, at the opening.
            custody = http.get(f"/v1/matters/{matter_id}/custody")
            assert custody.status_code == 200, custody.text
            first = custody.json()["intervals"][0]
            assert (first["official_id"], first["from"], first["started_by"]) == (
                opened["actor"],
                opened["occurred_at"],
                opened["event_id"],
            )

            # An official the demo planted a pattern on: the indicator finds it.
            planted = next(p for p in summary["planted"] if p["pattern"] == "ping_pong")
            indicators = http.get(f"/v1/officials/{planted['official_id']}/indicators")
            assert indicators.status_code == 200, indicators.text
            found = indicators.json()["indicators"][planted["indicator"]]
            assert found["numerator"] > 0, found
            matters = {s["subject"].removeprefix("matter:") for s in openings}
            assert set(found["matters"]) <= matters
            assert found["matters"]
    finally:
        server.stop()
    # What the new release added (its read models, perhaps a checkpoint) leaves a log that
    # still verifies.
    code, output = ledger_verify(data)
    assert code == 0, output
