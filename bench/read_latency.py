"""Read latency of the projections: a matter with 1,000 events, an official with 10,000
timeline rows, and their indicators, in-process and server side (no HTTP), p50/p99.

    .venv/bin/python bench/read_latency.py [--database-url URL] [--runs 50]

Not a test (machines are shared and noisy): it prints latencies to compare runs. The
target (issue 4): every read well under 100 ms. The HTTP-side numbers are issue 6's suite.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ledger.application import Ledger
from ledger.client import Chains
from ledger.crypto import SigningKey
from ledger.datadir import initialise, open_ledger
from ledger.settings import Settings
from projections.reads import ReadModels
from projections.runner import ProjectionRunner

EPOCH = "2019-01-01T00:00:00Z"
CODE = "1.004227"


class Writer:
    """Signs statements in-process, chained per subject, and stores them in batches."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.chains = Chains()
        self.pending: list[dict[str, Any]] = []
        self.clock = datetime(2025, 1, 6, 1, 0, tzinfo=UTC)

    def add(
        self, type_: str, subject: str, actor: str, key: SigningKey, body: dict[str, Any]
    ) -> str:
        self.clock += timedelta(seconds=30)
        env = self.chains.sign(
            type_,
            subject,
            actor=actor,
            key=key,
            body=body,
            occurred_at=self.clock.isoformat().replace("+00:00", "Z"),
        )
        self.pending.append(env)
        if len(self.pending) >= 1000:
            self.flush()
        return str(env["statement"]["event_id"])

    def flush(self) -> None:
        if self.pending:
            outcomes = self.ledger.append_batch(self.pending)
            failed = [o.problem for o in outcomes if o.problem is not None]
            assert not failed, failed[:3]
            self.pending = []


def build(ledger: Ledger, root: SigningKey, matter_events: int, timeline_rows: int) -> None:
    w = Writer(ledger)
    registrar = SigningKey.generate()
    w.add("agency.registered", "agency:A", "root", root, {"name": "Sở A", "level": "province"})
    w.add(
        "registrar.appointed",
        "agency:A",
        "root",
        root,
        {
            "official_id": "reg",
            "full_name": "Tổ Chức",
            "public_key": registrar.public_b64,
            "valid_from": EPOCH,
        },
    )
    w.add("unit.registered", "agency:A", "reg", registrar, {"unit_id": "u", "name": "Phòng"})
    keys: dict[str, SigningKey] = {}
    for person in ("alice", "bob", "carol", "dave"):
        keys[person] = SigningKey.generate()
        w.add(
            "official.registered",
            f"official:{person}",
            "reg",
            registrar,
            {
                "full_name": person,
                "agency_id": "A",
                "unit_id": "u",
                "position": "CV",
                "is_head": False,
            },
        )
        w.add(
            "key.bound",
            f"official:{person}",
            "reg",
            registrar,
            {"public_key": keys[person].public_b64, "valid_from": EPOCH},
        )
    opened = {
        "title": "Hồ sơ",
        "procedure_code": CODE,
        "agency_id": "A",
        "deadline_working_days": 5,
        "applicant_ref": "x",
    }
    # One matter passed back and forth: offer and accept, 1,000 events in all.
    subject = "matter:BIG"
    w.add("matter.opened", subject, "alice", keys["alice"], opened)
    holder, other = "alice", "bob"
    for _ in range((matter_events - 1) // 2):
        offer = w.add(
            "handoff.offered", subject, holder, keys[holder], {"to": other, "reason": "r"}
        )
        w.add("handoff.accepted", subject, other, keys[other], {"in_reply_to": offer})
        holder, other = other, holder
    # Carol: one opening and one offer per matter, 10,000 timeline rows in all.
    for n in range(timeline_rows // 2):
        subject = f"matter:C{n}"
        w.add("matter.opened", subject, "carol", keys["carol"], opened)
        w.add("handoff.offered", subject, "carol", keys["carol"], {"to": "dave", "reason": "r"})
    w.flush()


def measure(name: str, runs: int, read: Callable[[], Any]) -> dict[str, float]:
    read()  # warm
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        read()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    p50 = statistics.median(samples)
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    print(f"{name:55} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms")
    return {"p50_ms": p50, "p99_ms": p99}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default="")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--matter-events", type=int, default=1000)
    parser.add_argument("--timeline-rows", type=int, default=10_000)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="bench-reads-"))
    settings = Settings.load(data, database_url=args.database_url, integrate=False)
    initialise(
        settings,
        origin="bench.example/reads",
        root_id="root",
        root_name="Root",
        root_valid_from=EPOCH,
        occurred_at="2019-06-01T00:00:00Z",
    )
    ledger, _ = open_ledger(settings)
    root = SigningKey.load(settings.root_key_path)
    start = time.perf_counter()
    build(ledger, root, args.matter_events, args.timeline_rows)
    print(f"built {ledger.size()} entries in {time.perf_counter() - start:.1f} s")
    runner = ProjectionRunner(ledger.recorder, ledger.database_url)
    start = time.perf_counter()
    done = runner.catch_up()
    print(f"projected {done} entries in {time.perf_counter() - start:.1f} s")
    runner.close()
    reads = ReadModels(ledger.recorder, ledger.database_url)

    def timeline_all() -> None:
        after = None
        while True:
            page = reads.timeline("carol", reads.cut(), after=after, limit=1000)
            after = page["next_after"]
            if after is None:
                return

    print(f"database: {settings.effective_database_url}")
    measure(
        "matter with 1,000 events (GET /v1/matters/BIG)",
        args.runs,
        lambda: reads.matter("BIG", reads.cut()),
    )
    measure("custody of it (…/custody)", args.runs, lambda: reads.custody("BIG", reads.cut()))
    measure(
        "timeline, one page of 1,000 rows (of 10,000)",
        args.runs,
        lambda: reads.timeline("carol", reads.cut(), after=None, limit=1000),
    )
    measure("timeline, all 10 pages of 1,000 rows", max(5, args.runs // 10), timeline_all)
    measure(
        "indicators of alice (agency of 4; BIG's holder)",
        max(5, args.runs // 5),
        lambda: reads.official_indicators("alice", reads.cut()),
    )
    reads.close()
    ledger.close()


if __name__ == "__main__":
    main()
