"""Liveness, readiness and metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import LedgerDep
from api.observability import REGISTRY, integration_stall, observe_log, projection_stall
from api.problems import problem_response

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive: its event loop answers (no thread, no database)."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "not ready"}})
def readyz(ledger: LedgerDep, request: Request) -> JSONResponse:
    """The database answers; neither log integration nor the projections are stalled."""
    try:
        size = ledger.size()
        stall = integration_stall(ledger) or projection_stall(ledger, _positions(request))
    except Exception as e:
        return problem_response(
            503, "not-ready", "Not ready", f"database unreachable: {type(e).__name__}"
        )
    if stall is not None:
        return problem_response(503, "not-ready", "Not ready", stall)
    return JSONResponse({"status": "ok", "log_size": size})


@router.get("/metrics", response_class=Response)
def metrics(ledger: LedgerDep, request: Request) -> Response:
    """Prometheus metrics: appends by result, append latency, log and tree size, lags."""
    observe_log(ledger, _positions(request))
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


def _positions(request: Request) -> dict[str, int]:
    reads = getattr(request.app.state, "reads", None)
    return {} if reads is None else dict(reads.positions())
