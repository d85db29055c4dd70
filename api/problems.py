"""Every error answer is an RFC 9457 problem (``application/problem+json``), never a trace.

Domain errors map to problems in one place; routes never catch ``Exception``.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledger.errors import (
    PROBLEM_TYPE_PREFIX,
    MalformedRequest,
    NotFound,
    ProblemError,
    RateLimited,
    Unauthenticated,
)

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("ledger.api")


def problem_response(
    status: int,
    slug: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {
        "type": PROBLEM_TYPE_PREFIX + slug,
        "title": title,
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _from_error(error: ProblemError, request: Request) -> JSONResponse:
    problem = error.to_problem(instance=request.url.path)
    headers: dict[str, str] = {}
    if isinstance(error, RateLimited):
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(problem, status_code=error.status, media_type=PROBLEM_JSON, headers=headers)


async def _problem_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return _from_error(exc, request)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        return _from_error(NotFound(f"no resource at {request.url.path}"), request)
    if exc.status_code == 405:
        return problem_response(
            405,
            "method-not-allowed",
            "Method not allowed",
            f"{request.method} is not allowed on {request.url.path}",
            headers=dict(exc.headers or {}),
        )
    return problem_response(
        exc.status_code,
        "http-error",
        "HTTP error",
        str(exc.detail),
        headers=dict(exc.headers or {}),
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "field": ".".join(str(p) for p in err.get("loc", ())),
            "message": str(err.get("msg", "")),
        }
        for err in exc.errors()
    ]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    error = MalformedRequest(detail or "the request's parameters are invalid", errors=errors)
    return _from_error(error, request)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(
        500,
        "internal-error",
        "Internal error",
        "the server failed to complete the request; nothing acknowledged is lost — retry "
        "with the same envelope, which is idempotent",
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _problem_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
