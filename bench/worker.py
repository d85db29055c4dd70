"""One measurement in a process of its own, so that its peak memory is its own.

    python -m bench.worker TASK PARAMS_JSON RESULT_PATH

The suite starts one of these per measurement; the result (JSON) goes to RESULT_PATH with
the process's peak RSS and wall time added; progress goes to stderr.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from bench.bigledger import BigLedger
from bench.measure import peak_rss_mb

console = Console(stderr=True, highlight=False)


def note(message: str) -> None:
    console.print(message)


def _big(params: dict[str, Any]) -> BigLedger:
    return BigLedger(
        Path(params["data_dir"]),
        int(params["entries"]),
        int(params.get("timeline_rows", 0)),
        int(params.get("matter_events", 0)),
    )


def _bar(description: str, total: int) -> tuple[Progress, Callable[[int], None]]:
    progress = Progress(
        TextColumn(description),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}/s"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    task = progress.add_task(description, total=total, rate="–")
    started = time.perf_counter()

    def update(done: int) -> None:
        elapsed = max(time.perf_counter() - started, 1e-9)
        progress.update(task, completed=done, rate=f"{done / elapsed:,.0f}")

    return progress, update


def run_task(task: str, params: dict[str, Any]) -> dict[str, Any]:
    """Dispatch one measurement by name."""
    if task == "baselines":
        from bench import baselines
        from bench.dataset import Stream

        stream = Stream(3000, timeline_rows=0, matter_events=0)
        envelopes = list(stream.envelopes())[-2000:]
        jobs = baselines.verify_jobs(envelopes, stream.public_keys())
        seconds = float(params.get("seconds", 3.0))
        one = baselines.verify_rate_one_core(jobs, seconds)
        every, cores = baselines.verify_rate_all_cores(jobs, seconds)
        return {
            "verify_one_core_per_s": one,
            "verify_all_cores_per_s": every,
            "verify_processes": cores,
            "messages": len(jobs),
        }
    if task == "ingest":
        from bench import ingest

        return ingest.run(
            params["backend"],
            quick=bool(params["quick"]),
            postgres_url=params.get("postgres_url"),
            note=note,
        )
    if task == "build":
        from bench import bigledger

        entries = int(params["entries"])
        progress, update = _bar("building the big ledger", entries)
        with progress:
            manifest = bigledger.build(
                Path(params["root"]),
                entries,
                timeline_rows=int(params["timeline_rows"]),
                matter_events=int(params["matter_events"]),
                progress=update,
            )
        return dict(vars(manifest))
    if task in ("catch_up", "product_rebuild", "warm_up", "read_decode"):
        from bench import rebuild

        big = _big(params)
        if task == "read_decode":
            return rebuild.raw_read_decode(big)
        if task == "warm_up":
            return rebuild.warm_up(big)
        progress, update = _bar(f"{task} ({big.entries:,} entries)", big.entries)
        with progress:
            if task == "catch_up":
                return rebuild.fresh_catch_up(big, lambda done, _: update(done))
            return rebuild.product_rebuild(
                big, params["view"], float(params["budget_seconds"]), lambda done, _: update(done)
            )
    if task == "audit":
        from bench import audit

        return audit.verify(_big(params))
    if task == "reads":
        from bench import reads

        return reads.run(_big(params), runs=int(params["runs"]), note=note)
    raise ValueError(f"unknown task {task!r}")


def main(argv: list[str] | None = None) -> None:
    task, params, out = (argv or sys.argv[1:])[:3]
    started = time.perf_counter()
    result = run_task(task, json.loads(params))
    result.setdefault("peak_rss_mb", peak_rss_mb())
    result["wall_seconds"] = time.perf_counter() - started
    Path(out).write_text(json.dumps(result, indent=1, default=str) + "\n")


if __name__ == "__main__":
    main()
