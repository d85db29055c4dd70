"""Append rates in-process, beside one core's raw Ed25519 verify rate, in one run.

    .venv/bin/python bench/append_rates.py [--database-url URL] [--n 2000]

Not a test (machines are shared and noisy): it prints rates and ratios to compare runs.
The full benchmark suite (HTTP, PostgreSQL, rebuild, audit, reads) is issue 6's.
"""

from __future__ import annotations

import argparse
import base64
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from ledger.canonical import jcs, parse_json
from ledger.client import envelope, envelope_hash, make_statement
from ledger.crypto import SigningKey, statement_message, verify_ed25519
from ledger.datadir import initialise, open_ledger
from ledger.settings import Settings


def statements(
    root: SigningKey, count: int, start_seq: int, prev: str | None
) -> list[dict[str, Any]]:
    out = []
    for i in range(count):
        seq = start_seq + i
        statement = make_statement(
            "calendar.adjusted",
            "calendar:VN",
            seq=seq,
            prev=prev,
            actor="root",
            key_id=root.key_id,
            body={
                "date": (date(2000, 1, 1) + timedelta(days=seq)).isoformat(),
                "kind": "day_off",
                "source_document": f"QĐ {seq}",
            },
        )
        env = envelope(statement, root)
        prev = envelope_hash(env)
        out.append(env)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default="")
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="bench-"))
    settings = Settings.load(data, database_url=args.database_url, integrate=False)
    initialise(
        settings,
        origin="bench.example/ledger",
        root_id="root",
        root_name="Root",
        root_valid_from="1999-01-01T00:00:00Z",
        occurred_at="1999-06-01T00:00:00Z",
    )
    ledger, _ = open_ledger(settings)
    root = SigningKey.load(settings.root_key_path)

    envs = statements(root, args.n, 0, None)
    raws = [jcs(e) for e in envs]
    # Baseline: one core's raw Ed25519 verify over the same messages.
    parsed = [parse_json(r) for r in raws]
    start = time.perf_counter()
    for env in parsed:
        message = statement_message(jcs(env["statement"]))
        verify_ed25519(root.public_bytes, message, base64.b64decode(env["signature"]))
    verify_rate = args.n / (time.perf_counter() - start)

    start = time.perf_counter()
    for raw in raws:
        ledger.append(raw)
    single_rate = args.n / (time.perf_counter() - start)

    head = envelope_hash(envs[-1])
    batches = statements(root, args.n, args.n, head)
    start = time.perf_counter()
    for i in range(0, args.n, 1000):
        ledger.append_batch([parse_json(jcs(e)) for e in batches[i : i + 1000]])
    batch_rate = args.n / (time.perf_counter() - start)
    ledger.close()

    print(f"database: {settings.effective_database_url}")
    print(f"raw Ed25519 verify, one core: {verify_rate:,.0f}/s")
    for what, rate in (("single appends", single_rate), ("batches of 1000", batch_rate)):
        print(f"{what + ' (in-process):':30} {rate:,.0f}/s  ({rate / verify_rate:.2f}x verify)")


if __name__ == "__main__":
    main()
