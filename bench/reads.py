"""Reads on the big ledger, server side (a function call in this process) and over HTTP
(uvicorn on loopback, one client, keep-alive): inclusion and consistency proofs against the
latest checkpoint, the busy official's timeline (a page of 1,000 rows, and every page), the
big matter and its custody. p50/p99 of each.

The HTTP server is the ledger's own FastAPI application (``bench.apps.reads_app``) around
the ledger opened without the start-up replay, which only appends need (its cost is
measured beside the rebuild, as ``warm_up``).
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench.bigledger import BigLedger
from bench.dataset import BIG_MATTER, BUSY_OFFICIAL, ORIGIN
from bench.measure import latency_summary, peak_rss_mb, timed_samples
from bench.server import serve_factory
from ledger.application import Ledger
from ledger.tokens import TokenStore
from ledger.transparency import TransparencyLog
from projections.reads import ReadModels
from projections.runner import ProjectionRunner

PAGE = 1000


def projections_ready(big: BigLedger, note: Callable[[str], None]) -> dict[str, Any]:
    """Bring the read models to the end of the log if they are behind (not measured)."""

    ledger = Ledger(big.database_url)
    try:
        size = ledger.size()
        positions = ProjectionRunner.positions(ledger.recorder, ledger.database_url)
        behind = {name: size - 1 - at for name, at in positions.items() if at < size - 1}
        if behind:
            note(f"  read models behind the log ({behind}); catching up first (not measured)")
            runner = ProjectionRunner(
                ledger.recorder,
                ledger.database_url,
            )
            try:
                runner.catch_up()
            finally:
                runner.close()
        return {"size": size, "caught_up": behind}
    finally:
        ledger.close()


def _timeline_all(read_page: Callable[[int | None], dict[str, Any]]) -> int:
    rows, after = 0, None
    while True:
        page = read_page(after)
        rows += len(page["rows"])
        after = page["next_after"]
        if after is None:
            return rows


def server_side(big: BigLedger, runs: int, seed: int = 6) -> tuple[dict[str, Any], dict[str, Any]]:
    """Latencies of the reads as function calls; and what was read (sizes, counts)."""
    rng = random.Random(seed)  # noqa: S311 - which entries to prove, not secrets
    ledger = Ledger(big.database_url)
    log = TransparencyLog(ledger.recorder, origin=ORIGIN)
    reads = ReadModels(ledger.recorder, ledger.database_url)
    try:
        size = log.latest().size
        facts: dict[str, Any] = {"tree_size": size}

        def inclusion() -> None:
            log.inclusion_proof(index=rng.randrange(size))

        def consistency() -> None:
            log.consistency_proof(rng.randrange(1, size), size)

        def page(after: int | None) -> dict[str, Any]:
            return reads.timeline(BUSY_OFFICIAL, reads.cut(), after=after, limit=PAGE)

        facts["timeline_rows"] = _timeline_all(page)
        head = ledger.head(f"matter:{BIG_MATTER}")
        facts["matter_events"] = None if head is None else head.seq + 1
        custody = reads.custody(BIG_MATTER, reads.cut())
        facts["matter_custody_intervals"] = len(custody["intervals"])
        results = {
            "inclusion_proof": latency_summary(timed_samples(inclusion, runs * 5)),
            "consistency_proof": latency_summary(timed_samples(consistency, runs * 5)),
            "timeline_page": latency_summary(timed_samples(lambda: page(None), runs)),
            "timeline_all": latency_summary(
                timed_samples(lambda: _timeline_all(page), max(5, runs // 5))
            ),
            "matter": latency_summary(
                timed_samples(lambda: reads.matter(BIG_MATTER, reads.cut()), runs)
            ),
            "custody": latency_summary(
                timed_samples(lambda: reads.custody(BIG_MATTER, reads.cut()), runs)
            ),
        }
    finally:
        reads.close()
        ledger.close()
    return results, facts


def over_http(big: BigLedger, runs: int, scratch: Path, seed: int = 7) -> dict[str, Any]:
    """The same reads as GET requests to the served ledger."""
    rng = random.Random(seed)  # noqa: S311 - which entries to prove, not secrets
    ledger = Ledger(big.database_url)
    try:
        size = TransparencyLog(ledger.recorder, origin=ORIGIN).latest().size
        token = TokenStore(ledger.recorder).create("inspector", label="bench reads")[1]
    finally:
        ledger.close()
    served = serve_factory(
        "bench.apps:reads_app", scratch / "reads-serve.log", {"LEDGER_DATA_DIR": str(big.data_dir)}
    )
    with served, httpx.Client(base_url=served.url, timeout=60.0) as http:
        ready = served.wait_ready()
        auth = {"Authorization": f"Bearer {token}"}

        def get(path: str, **params: Any) -> Any:
            response = http.get(path, params=params, headers=auth)
            if response.status_code != 200:
                raise RuntimeError(f"GET {path} {params}: {response.status_code} {response.text}")
            return response.json()

        def page(after: int | None) -> dict[str, Any]:
            params: dict[str, Any] = {"limit": PAGE}
            if after is not None:
                params["after"] = after
            result: dict[str, Any] = get(f"/v1/officials/{BUSY_OFFICIAL}/timeline", **params)
            return result

        results: dict[str, Any] = {
            "inclusion_proof": latency_summary(
                timed_samples(
                    lambda: get("/v1/log/proof/inclusion", index=rng.randrange(size)), runs * 5
                )
            ),
            "consistency_proof": latency_summary(
                timed_samples(
                    lambda: get(
                        "/v1/log/proof/consistency", first=rng.randrange(1, size), second=size
                    ),
                    runs * 5,
                )
            ),
            "timeline_page": latency_summary(timed_samples(lambda: page(None), runs)),
            "timeline_all": latency_summary(
                timed_samples(lambda: _timeline_all(page), max(5, runs // 5))
            ),
            "matter": latency_summary(
                timed_samples(lambda: get(f"/v1/matters/{BIG_MATTER}"), runs)
            ),
            "custody": latency_summary(
                timed_samples(lambda: get(f"/v1/matters/{BIG_MATTER}/custody"), runs)
            ),
        }
        # The floor under every HTTP figure: a route that does nothing, same stack, same client.
        results["healthz"] = latency_summary(timed_samples(lambda: get("/healthz"), runs * 5))
        results["server_ready_seconds"] = ready
        results["server_peak_rss_mb"] = served.peak_rss_mb()
    return results


def run(big: BigLedger, *, runs: int, note: Callable[[str], None] = print) -> dict[str, Any]:
    """Every read measurement on the big ledger."""
    result: dict[str, Any] = {"entries": big.entries}
    result["preparation"] = projections_ready(big, note)
    note("  server side")
    started = time.perf_counter()
    result["server_side"], result["facts"] = server_side(big, runs)
    note(f"  over HTTP ({time.perf_counter() - started:.0f} s so far)")
    with tempfile.TemporaryDirectory(prefix="bench-reads-") as tmp:
        result["http"] = over_http(big, runs, Path(tmp))
    result["driver_peak_rss_mb"] = peak_rss_mb()
    return result
