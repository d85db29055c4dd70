"""Structured access logs (one JSON line per request, with the token's id, never the
token), Prometheus metrics, and the readiness probe's questions."""

from __future__ import annotations

import logging
import sys
import time
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from pythonjsonlogger.json import JsonFormatter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger.application import Ledger
from ledger.times import parse_instant, utc_now

access_log = logging.getLogger("ledger.access")

REGISTRY = CollectorRegistry(auto_describe=True)
APPENDS = Counter(
    "ledger_appends_total",
    "Appends by result: created, replayed, or the problem slug",
    ["result"],
    registry=REGISTRY,
)
APPEND_SECONDS = Histogram(
    "ledger_append_seconds",
    "Time to check and store one append",
    registry=REGISTRY,
    buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
TREE_SIZE = Gauge("ledger_tree_size", "Leaves integrated into the Merkle tree", registry=REGISTRY)
LOG_SIZE = Gauge("ledger_log_size", "Entries stored in the log", registry=REGISTRY)
INTEGRATION_LAG = Gauge(
    "ledger_integration_lag_entries", "Stored entries not yet in the tree", registry=REGISTRY
)
PROJECTION_LAG = Gauge(
    "ledger_projection_lag_entries",
    "Entries a projection has not processed",
    ["projection"],
    registry=REGISTRY,
)

MAX_MERGE_DELAY = timedelta(seconds=60)


def configure_logging(log_format: str) -> None:
    """JSON lines (or plain text) on stderr for the ledger's loggers; idempotent."""
    root = logging.getLogger("ledger")
    if any(getattr(h, "_ledger", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler._ledger = True  # type: ignore[attr-defined]
    if log_format == "json":
        handler.setFormatter(
            JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s", timestamp=False)
        )
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    root.propagate = False


class AccessLog:
    """ASGI middleware: one log line per request once its response is sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            state: dict[str, Any] = scope.get("state", {})
            client = scope.get("client")
            access_log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                    "token_id": state.get("token_id"),
                    "client": client[0] if client else None,
                },
            )


def observe_log(ledger: Ledger, projection_positions: dict[str, int] | None = None) -> None:
    """Refresh the log's gauges (at scrape time)."""
    size = ledger.size()
    tree = ledger.recorder.tree_size()
    LOG_SIZE.set(size)
    TREE_SIZE.set(tree)
    INTEGRATION_LAG.set(max(0, size - tree))
    for name, index in (projection_positions or {}).items():
        PROJECTION_LAG.labels(name).set(max(0, size - 1 - index))


def _waited_too_long(ledger: Ledger, index: int, now: datetime | None) -> int | None:
    """Seconds entry ``index`` has waited since it was recorded, if beyond the maximum
    merge delay (60 s); ``None`` if it is within it or not stored."""
    waiting = ledger.records(index, index + 1)
    if not waiting:
        return None
    age = (now or utc_now()) - parse_instant(waiting[0].recorded_at)
    return int(age.total_seconds()) if age > MAX_MERGE_DELAY else None


def projection_stall(
    ledger: Ledger, positions: dict[str, int], now: datetime | None = None
) -> str | None:
    """Why a projection looks stalled, or ``None``: the first entry it has not processed
    was recorded more than 60 s ago."""
    waited: dict[int, int | None] = {}
    for name, index in sorted(positions.items()):
        if index + 1 not in waited:  # the projections usually stand at one position
            waited[index + 1] = _waited_too_long(ledger, index + 1, now)
        seconds = waited[index + 1]
        if seconds is not None:
            return (
                f"projection {name} stalled: entry {index + 1} has waited {seconds} s "
                "(is a projection runner running?)"
            )
    return None


def integration_stall(ledger: Ledger, now: datetime | None = None) -> str | None:
    """Why integration looks stalled, or ``None``: the oldest entry not in the tree waits
    longer than the maximum merge delay (60 s)."""
    tree = ledger.recorder.tree_size()
    seconds = _waited_too_long(ledger, tree, now)
    if seconds is None:
        return None
    return (
        f"log integration stalled: entry {tree} has waited {seconds} s "
        "for the tree (is an integrator running?)"
    )
