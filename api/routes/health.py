"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import LedgerDep
from api.problems import problem_response

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "not ready"}})
def readyz(ledger: LedgerDep) -> JSONResponse:
    """The database answers."""
    try:
        size = ledger.size()
    except Exception as e:
        return problem_response(503, "not-ready", "Not ready", f"database unreachable: {e}")
    return JSONResponse({"status": "ok", "log_size": size})
