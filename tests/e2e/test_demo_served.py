"""The README's first run: ``ledgerctl demo`` builds the province once, ``ledgerctl serve``
answers an inspector's reads on it at once, and a bundle from it verifies offline."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.e2e.conftest import ServeProcess, bearer_headers, run


def test_the_demo_is_served_with_timelines_indicators_and_verifiable_evidence(
    tmp_path: Path,
) -> None:
    data = tmp_path / "ledger-data"
    built = run("demo", "--data-dir", str(data), "--matters", "80", "--seed", "9")
    summary = json.loads(built.stdout)
    assert summary["matters"] == 80
    assert "sending statements through the API" in built.stderr.decode()
    token = (data / summary["inspector_token_file"]).read_text().strip()
    planted = next(p for p in summary["planted"] if p["pattern"] == "late_consultee")

    again = run("demo", "--data-dir", str(data), check=False)
    assert again.returncode == 2
    assert "already holds a ledger" in again.stderr.decode()

    server = ServeProcess(data, tmp_path / "serve.log")
    try:
        headers = bearer_headers(token)
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
            timeline = http.get(f"/v1/officials/{planted['official_id']}/timeline")
            assert timeline.status_code == 200, timeline.text
            rows = timeline.json()["rows"]
            assert rows
            assert {r["type"] for r in rows} >= {"consultation.requested"}
            indicators = http.get(f"/v1/officials/{planted['official_id']}/indicators")
            assert indicators.status_code == 200, indicators.text
            assert indicators.json()["indicators"][planted["indicator"]]["numerator"] > 0
            matter_id = rows[0]["matter_id"]
            bundle = http.get(f"/v1/matters/{matter_id}/evidence")
            assert bundle.status_code == 200, bundle.text
            vkey = http.get("/v1/log/key").json()["vkey"]
    finally:
        server.stop()
    path = tmp_path / "bundle.json"
    path.write_bytes(bundle.content)
    verified = run("bundle", "verify", str(path), "--vkey", vkey)
    assert "VERIFIED" in (verified.stdout + verified.stderr).decode()
