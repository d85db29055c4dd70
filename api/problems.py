"""Every error answer is an RFC 9457 problem (``application/problem+json``), never a trace.

Domain errors map to problems in one place; routes never catch ``Exception``. What a
problem tells a writer about other agencies is decided here too (``as_told_to``).
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
    NotPermitted,
    ProblemError,
    RateLimited,
    Unauthenticated,
)
from ledger.rules import check_statement
from ledger.state import LedgerState
from ledger.statements import Statement
from ledger.tokens import Token

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


# The problems of the type's own rules (DESIGN §4 step 12): they describe the subject's
# state — its custodian, its pending offer or consultation and to whom, whether it is
# closed, which ids it or the registry knows. The earlier steps speak of the caller's own
# token, key, signature, clock and input, or of the subject's head (which §8 shows every
# writer); those are answered as they are.
_ABOUT_THE_SUBJECT = frozenset(
    {"not-permitted", "matter-closed", "offer-pending", "not-pending", "unknown-official"}
    | {"invalid-statement"}  # the rules' own: an unknown in_reply_to, an unregistered unit
)


def as_told_to(
    token: Token, statement: Statement, problem: ProblemError, state: LedgerState
) -> ProblemError:
    """The problem as ``token`` may read it (issue 13, docs/decisions.md "Hostile writers").

    A writer token of agency A learns nothing about another agency's matters or people
    beyond "not permitted": a problem of the subject's rules about a matter, official or
    agency that is not A's concern, or about placing someone in another agency, is
    answered as 403 ``not-permitted`` with a detail that names only what the writer sent.
    ``invalid-statement`` is passed here only when the envelope itself parsed (a schema
    fault is the writer's own input). Other roles read every detail: a root writer acts
    for the province, inspectors read everything.
    """
    agency = token.agency_id
    if token.role != "writer" or agency is None or problem.slug not in _ABOUT_THE_SUBJECT:
        return problem
    if problem.slug == "invalid-statement" and not _lexically_valid(state, statement):
        return problem  # the version's lexical rules (step 3): the writer's own input
    if _concerns(state, agency, statement):
        return problem
    return NotPermitted(
        f"{statement.actor} may not sign {statement.type} on {statement.subject}: it is "
        "another agency's, and a writer is told nothing more about another agency's "
        "matters and people"
    )


def _lexically_valid(state: LedgerState, statement: Statement) -> bool:
    try:
        check_statement(state.rules_version, statement)
    except ProblemError:
        return False
    return True


def _concerns(state: LedgerState, agency: str, statement: Statement) -> bool:
    """Whether ``statement`` is ``agency``'s concern as the state stands: its subject is the
    agency's own matter, or one that one of its officials holds, supports, or is asked to
    accept or answer; its own official, or one released to it; itself — and the body names
    no other agency to serve in (``agency_id``). A subject with nothing stored concerns
    whoever writes to it (all there is to tell is what they sent).

    The state is read without the write lock (a batch may be judged meanwhile): only the
    wording of a refusal depends on it, and a state that changes under the read counts as
    not the agency's concern (the refusal then says less, never more)."""
    named = getattr(statement.body, "agency_id", None)
    if named is not None and named != agency:
        return False
    for _ in range(3):
        try:
            return _subject_concerns(state, agency, statement)
        except RuntimeError:  # a dict of the state changed size while it was read
            continue
    return False


def _subject_concerns(state: LedgerState, agency: str, statement: Statement) -> bool:
    kind, _, name = statement.subject.partition(":")
    registry, at = state.registry, statement.occurred

    def agency_of(person: str) -> str | None:
        posting = registry.posting(person, at)
        return None if posting is None else posting.agency_id

    if kind == "matter":
        matter = state.matters.get(name)
        if matter is None or matter.agency_id == agency:
            return True
        involved = {matter.custodian, *matter.support}
        pending = matter.offers.get(matter.pending_offer) if matter.pending_offer else None
        if pending is not None:
            involved.add(pending.to)
        involved |= {c.to for c in list(matter.consultations.values()) if c.pending}
        return any(agency_of(person) == agency for person in involved)
    if kind == "official":
        official = registry.officials.get(name)
        return official is None or agency in (agency_of(name), official.release_to)
    if kind == "agency":
        return name == agency
    return True  # the ledger and the calendar: roots' subjects, refused to writers at step 5


def install(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _problem_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
