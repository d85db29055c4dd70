"""Projection rebuild on the big ledger: every read model built from index 0, beside the
library's raw read-and-decode rate of the same log.

Three measurements, each meant to run in a process of its own (its peak memory is the
measurement's):

- ``fresh_catch_up``: the projection runner (``projections.runner.ProjectionRunner``) with
  every view, from index 0 into empty databases — the work of a rebuild of all read models
  in one pass over the log (what a new deployment's ``projections run`` does);
- ``product_rebuild``: ``projections.runner.rebuild`` of one view, exactly what
  ``ledgerctl projections rebuild NAME`` runs (fresh database, then swapped in), stopped
  after a time budget and reported as such if it runs past it;
- ``warm_up``: ``Ledger.warm_up``, the replay ``ledgerctl serve`` does before it answers.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from typing import Any

from bench.baselines import read_decode_rate
from bench.bigledger import BigLedger
from bench.measure import peak_rss_mb, rate
from ledger.application import Ledger
from projections.runner import ProjectionRunner, rebuild
from projections.views import VIEWS

Progress = Callable[[int, int], None]


def fresh_catch_up(big: BigLedger, progress: Progress | None = None) -> dict[str, Any]:
    """Every view from index 0 into empty databases (the ledger's live ones are replaced)."""
    shutil.rmtree(big.data_dir / "projections", ignore_errors=True)
    ledger = Ledger(big.database_url)
    try:
        runner = ProjectionRunner(ledger.recorder, ledger.database_url)
        start = time.perf_counter()
        try:
            done = runner.catch_up(progress)
        finally:
            runner.close()
        seconds = time.perf_counter() - start
    finally:
        ledger.close()
    return {
        "views": list(VIEWS),
        "entries": done,
        "seconds": seconds,
        "entries_per_s": rate(done, seconds),
        "peak_rss_mb": peak_rss_mb(),
    }


class _OverBudget(Exception):
    pass


def product_rebuild(
    big: BigLedger, name: str, budget_seconds: float, progress: Progress | None = None
) -> dict[str, Any]:
    """``projections.runner.rebuild(name)``; stopped (and the fresh database discarded)
    once it has run ``budget_seconds``."""
    ledger = Ledger(big.database_url)
    reached = [0, big.entries]
    start = time.perf_counter()

    def watch(done: int, total: int) -> None:
        reached[:] = [done, total]
        if progress is not None:
            progress(done, total)
        if time.perf_counter() - start > budget_seconds:
            raise _OverBudget

    result: dict[str, Any] = {"view": name, "budget_seconds": budget_seconds}
    try:
        try:
            outcome = rebuild(
                ledger.recorder,
                ledger.database_url,
                name,
                progress=watch,
            )
            result.update(
                entries=outcome.entries,
                seconds=outcome.seconds,
                entries_per_s=outcome.rate,
                completed=True,
            )
        except _OverBudget:
            seconds = time.perf_counter() - start
            result.update(
                entries=reached[0],
                of=reached[1],
                seconds=seconds,
                entries_per_s=rate(reached[0], seconds),
                completed=False,
            )
    finally:
        ledger.close()
    result["peak_rss_mb"] = peak_rss_mb()
    return result


def warm_up(big: BigLedger) -> dict[str, Any]:
    """The start-up replay of ``ledgerctl serve`` (``Ledger.warm_up``)."""
    ledger = Ledger(big.database_url)
    try:
        start = time.perf_counter()
        ledger.warm_up()
        seconds = time.perf_counter() - start
        entries = ledger.state.last_index + 1
    finally:
        ledger.close()
    return {
        "entries": entries,
        "seconds": seconds,
        "entries_per_s": rate(entries, seconds),
        "peak_rss_mb": peak_rss_mb(),
    }


def raw_read_decode(big: BigLedger) -> dict[str, Any]:
    """The library's read-and-decode rate of the same log (``bench.baselines``)."""
    per_s, count, seconds = read_decode_rate(big.database_url)
    return {
        "entries": count,
        "seconds": seconds,
        "entries_per_s": per_s,
        "peak_rss_mb": peak_rss_mb(),
    }
