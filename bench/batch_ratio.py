"""Batch judging with failures, in-process (issue 13 item 9): 500 valid items beside 500
items that each fail on a subject of their own, against the same 500 valid items alone.

    .venv/bin/python -m bench.batch_ratio [--database-url URL] [--valid 500] [--failing 500]

Not a test (machines are shared and noisy): it prints the time of ``Ledger.append_batch``
for each batch and the ratio ``mixed ÷ valid alone`` (target: about 2 or less — the mixed
batch has twice the items; a quadratic re-judging made it 13.6 s against well under one).
It also times one single append of another agency that waits for the write lock while
the mixed batch holds it.

The valid items are runs of matters (an opening and an offer to a colleague); each failing
item opens a matter of its own, signed by an official of another agency (403
``not-permitted`` at DESIGN §4 step 12, after every earlier check: the costliest failure).
Valid and failing items alternate, so each failure comes after valid work.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ledger.application import Ledger
from ledger.canonical import jcs, parse_json
from ledger.client import envelope, envelope_hash, make_statement
from ledger.crypto import SigningKey
from ledger.datadir import initialise, open_ledger
from ledger.settings import Settings

ROOT = "so-noi-vu"
PROCEDURE = "1.004227"


class Signer:
    """Statements signed ahead, each chained to its subject's last, on a clock of its own
    that ends before now (never in the ledger's future)."""

    def __init__(self, start: datetime) -> None:
        self.clock = start
        self.heads: dict[str, tuple[int, str | None]] = {}

    def sign(
        self, type_: str, subject: str, actor: str, key: SigningKey, body: dict[str, Any]
    ) -> dict[str, Any]:
        seq, prev = self.heads.get(subject, (0, None))
        self.clock += timedelta(seconds=1)
        statement = make_statement(
            type_,
            subject,
            seq=seq,
            prev=prev,
            actor=actor,
            key_id=key.key_id,
            body=body,
            occurred_at=self.clock.strftime("%Y-%m-%dT%H:%M:%SZ"),
            event_id=str(uuid.uuid4()),
        )
        env = envelope(statement, key)
        self.heads[subject] = (seq + 1, envelope_hash(env))
        return env


def _registry(signer: Signer, root: SigningKey) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Two agencies, each with a registrar, a unit and two officials with keys."""
    items: list[dict[str, Any]] = []
    people: dict[str, Any] = {}
    for agency in ("A", "B"):
        registrar = SigningKey.generate()
        subject = f"agency:{agency}"
        items.append(
            signer.sign(
                "agency.registered",
                subject,
                ROOT,
                root,
                {"name": f"Sở {agency}", "level": "province"},
            )
        )
        items.append(
            signer.sign(
                "registrar.appointed",
                subject,
                ROOT,
                root,
                {
                    "official_id": f"reg.{agency}",
                    "full_name": "Trần Thị Tổ Chức",
                    "public_key": registrar.public_b64,
                    "valid_from": "2020-01-01T00:00:00Z",
                },
            )
        )
        items.append(
            signer.sign(
                "unit.registered",
                subject,
                f"reg.{agency}",
                registrar,
                {"unit_id": "lanh-dao", "name": "Ban lãnh đạo"},
            )
        )
        for n in (1, 2):
            official = f"cv{n}.{agency}"
            key = SigningKey.generate()
            people[official] = key
            items.append(
                signer.sign(
                    "official.registered",
                    f"official:{official}",
                    f"reg.{agency}",
                    registrar,
                    {
                        "full_name": f"Nguyễn Văn {n}",
                        "agency_id": agency,
                        "unit_id": "lanh-dao",
                        "position": "Chuyên viên",
                        "is_head": False,
                    },
                )
            )
            items.append(
                signer.sign(
                    "key.bound",
                    f"official:{official}",
                    f"reg.{agency}",
                    registrar,
                    {"public_key": key.public_b64, "valid_from": "2020-01-01T00:00:00Z"},
                )
            )
    return items, people


def _opened(agency: str) -> dict[str, Any]:
    return {
        "title": "Cấp giấy chứng nhận quyền sử dụng đất",
        "procedure_code": PROCEDURE,
        "agency_id": agency,
        "deadline_working_days": 5,
        "applicant_ref": "HS-0001",
    }


def valid_items(signer: Signer, people: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """``count`` valid items: matters opened by cv1.A and offered to cv2.A."""
    items: list[dict[str, Any]] = []
    while len(items) < count:
        subject = f"matter:A-{uuid.uuid4().hex[:12]}"
        items.append(signer.sign("matter.opened", subject, "cv1.A", people["cv1.A"], _opened("A")))
        if len(items) < count:
            body = {"to": "cv2.A", "reason": "Chuyển xử lý"}
            items.append(signer.sign("handoff.offered", subject, "cv1.A", people["cv1.A"], body))
    return items


def failing_items(signer: Signer, people: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """``count`` items, each on a subject of its own, each failing on its own: a matter of
    agency A opened by an official of agency B (403 ``not-permitted``)."""
    return [
        signer.sign(
            "matter.opened",
            f"matter:X-{uuid.uuid4().hex[:12]}",
            "cv1.B",
            people["cv1.B"],
            _opened("A"),
        )
        for _ in range(count)
    ]


def interleave(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(max(len(a), len(b))):
        out += a[i : i + 1] + b[i : i + 1]
    return out


def timed_batch(ledger: Ledger, items: list[dict[str, Any]]) -> tuple[float, int, int]:
    """Seconds for ``append_batch``; how many items were stored and how many failed."""
    decoded = [parse_json(jcs(item)) for item in items]  # as the route hands them over
    start = time.perf_counter()
    outcomes = ledger.append_batch(decoded)
    seconds = time.perf_counter() - start
    stored = sum(1 for o in outcomes if o.result is not None)
    return seconds, stored, len(outcomes) - stored


def _append_under_the_batch(
    ledger: Ledger, env: dict[str, Any], done: threading.Event, waited: list[float]
) -> None:
    """Append ``env`` once a batch holds the write lock; how long the append took."""
    while not ledger._write_lock.locked() and not done.is_set():
        time.sleep(0.001)
    start = time.perf_counter()
    ledger.append(jcs(env))
    waited.append(time.perf_counter() - start)


def measure(database_url: str, valid: int, failing: int, repeats: int) -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    settings = Settings.load(data, database_url=database_url, integrate=False)
    initialise(
        settings,
        origin="bench.example/ledger",
        root_id=ROOT,
        root_name="Sở Nội vụ",
        root_valid_from="2020-01-01T00:00:00Z",
    )
    ledger, _ = open_ledger(settings)
    try:
        root = SigningKey.load(settings.root_key_path)
        # Everything is signed on a clock that ends a little before now.
        per_round = 2 * valid + failing + 2
        signer = Signer(datetime.now(UTC) - timedelta(seconds=per_round * (repeats + 1) + 60))
        registry, people = _registry(signer, root)
        ledger.append_batch([parse_json(jcs(item)) for item in registry])
        rounds = [
            (
                valid_items(signer, people, valid),
                interleave(
                    valid_items(signer, people, valid), failing_items(signer, people, failing)
                ),
                valid_items(signer, people, 1),
            )
            for _ in range(repeats)
        ]
        alone: list[float] = []
        mixed: list[float] = []
        waits: list[float] = []
        for valid_batch, mixed_batch, single in rounds:
            seconds, stored, failed = timed_batch(ledger, valid_batch)
            assert (stored, failed) == (valid, 0), (stored, failed)
            alone.append(seconds)
            # Another agency's single append arrives while the mixed batch is being judged.
            waited: list[float] = []
            done = threading.Event()
            thread = threading.Thread(
                target=_append_under_the_batch, args=(ledger, single[0], done, waited)
            )
            thread.start()
            try:
                seconds, stored, failed = timed_batch(ledger, mixed_batch)
            finally:
                done.set()
                thread.join()
            assert (stored, failed) == (valid, failing), (stored, failed)
            mixed.append(seconds)
            waits.append(waited[0])
    finally:
        ledger.close()
        shutil.rmtree(data, ignore_errors=True)
    best_alone, best_mixed = min(alone), min(mixed)
    return {
        "database": settings.effective_database_url.split("?")[0],
        "valid": valid,
        "failing": failing,
        "valid_alone_s": best_alone,
        "mixed_s": best_mixed,
        "ratio": best_mixed / best_alone,
        "single_append_wait_s": max(waits),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--valid", type=int, default=500)
    parser.add_argument("--failing", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    result = measure(args.database_url, args.valid, args.failing, args.repeats)
    print(f"database: {result['database']}")
    alone_ms = result["valid_alone_s"] * 1000
    print(f"{result['valid']} valid alone: {alone_ms:,.0f} ms (best of {args.repeats})")
    print(
        f"{result['valid']} valid + {result['failing']} failing, each on its own subject: "
        f"{result['mixed_s'] * 1000:,.0f} ms"
    )
    print(f"ratio mixed / valid alone: {result['ratio']:.2f} (target ≤ about 2)")
    print(
        "another agency's single append, sent during the mixed batch: "
        f"{result['single_append_wait_s'] * 1000:,.0f} ms (worst)"
    )


if __name__ == "__main__":
    main()
