"""Small measuring tools: percentiles, rates, peak memory of this process or another."""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100) of ``samples``, nearest rank (no interpolation)."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil(n·q/100), at least 1
    return float(ordered[int(min(rank, len(ordered))) - 1])


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """p50, p99 and max of latencies given in seconds, in milliseconds."""
    return {
        "samples": len(seconds),
        "p50_ms": percentile(seconds, 50) * 1000,
        "p99_ms": percentile(seconds, 99) * 1000,
        "max_ms": max(seconds) * 1000,
    }


def timed_samples(read: Callable[[], Any], runs: int, *, warm: int = 2) -> list[float]:
    """Wall-clock seconds of ``runs`` calls of ``read`` after ``warm`` unmeasured ones."""
    for _ in range(warm):
        read()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        read()
        samples.append(time.perf_counter() - start)
    return samples


def peak_rss_mb(pid: int | None = None) -> float | None:
    """Peak resident memory (VmHWM) of a live process in MB; this one by default."""
    path = Path(f"/proc/{pid or os.getpid()}/status")
    try:
        for line in path.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    if pid is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return None


def tree_peak_rss_mb(pid: int) -> float | None:
    """The largest VmHWM among a live process and its descendants (uvicorn runs the app in
    the process it starts, or in worker children)."""
    peaks = [peak_rss_mb(p) for p in [pid, *descendants(pid)]]
    known = [p for p in peaks if p is not None]
    return max(known) if known else None


def descendants(pid: int) -> list[int]:
    """Live descendants of ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")
