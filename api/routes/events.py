"""Appending statements and reading their receipts."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Annotated, Any
from urllib.parse import quote

from eventsourcing.persistence import PersistenceError
from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api.auth import Reader, Writer
from api.bodies import parse_batch, read_json_body
from api.deps import LedgerDep, SettingsDep
from api.observability import APPEND_SECONDS, APPENDS
from api.problems import as_told_to
from api.schemas import ENVELOPE_SCHEMA, ProblemOut, ReceiptOut, WaitedReceiptOut, problems
from ledger.application import AppendResult, BatchOutcome, Ledger, Receipt
from ledger.canonical import parse_json
from ledger.errors import LedgerError, ProblemError
from ledger.statements import parse_envelope
from ledger.tokens import Token, scope
from ledger.transparency import TransparencyLog

router = APIRouter(prefix="/v1/events", tags=["events"])
log = logging.getLogger("ledger.api")

WAIT_SECONDS = 10.0
POLL_SECONDS = 0.05


@router.post(
    "",
    status_code=201,
    response_model=ReceiptOut | WaitedReceiptOut,
    responses={
        200: {"model": ReceiptOut, "description": "an exact replay: the original receipt"},
        202: {"model": ReceiptOut, "description": "stored, not yet in a checkpoint (wait=true)"},
        **problems(400, 401, 403, 409, 413, 415, 422, 429),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": ENVELOPE_SCHEMA}},
        }
    },
)
async def append_event(
    request: Request,
    ledger: LedgerDep,
    settings: SettingsDep,
    token: Writer,
    wait: Annotated[bool, Query(description="wait (≤ 10 s) for a checkpoint and proof")] = False,
) -> Response:
    """Append one signed envelope; 201 with its receipt, 200 for an exact replay."""
    started = time.perf_counter()
    try:
        raw = bytes(await read_json_body(request, settings.max_request_bytes))
        result = await run_in_threadpool(_append, ledger, raw, token)
    except ProblemError as e:
        APPENDS.labels(e.slug).inc()
        raise
    APPEND_SECONDS.observe(time.perf_counter() - started)
    APPENDS.labels("replayed" if result.replayed else "created").inc()
    receipt = result.receipt
    status = 200 if result.replayed else 201
    # Percent-encoded whatever the stored id holds: an event_id ending in "\n" (which rules
    # version 3 accepted) made the header illegal and the connection drop (issue 13).
    headers = {"Location": f"/v1/events/{quote(receipt.event_id, safe='')}"}
    body = receipt.to_json()
    if wait:
        waited = await _wait_for_checkpoint(ledger.transparency, receipt)
        if waited is None:
            return JSONResponse(body, status_code=202, headers=headers)
        body.update(waited)
    return JSONResponse(body, status_code=status, headers=headers)


def _append(ledger: Ledger, raw: bytes, token: Token) -> AppendResult:
    """Parse (DESIGN §4 step 3), then check and store; a refusal as the token may read it."""
    envelope = parse_envelope(parse_json(raw))
    try:
        return ledger.append_envelope(envelope, authorize=scope(token))
    except ProblemError as e:
        told = as_told_to(token, envelope.statement, e, ledger.state)
        if told is e:
            raise
        raise told from None


def _told_outcomes(
    ledger: Ledger, token: Token, items: list[Any], outcomes: list[BatchOutcome]
) -> list[BatchOutcome]:
    """Each item's refusal as the token may read it (a schema fault is the item's own)."""
    told = list(outcomes)
    for i, outcome in enumerate(outcomes):
        if outcome.problem is None or isinstance(items[i], ProblemError):
            continue
        try:
            statement = parse_envelope(items[i]).statement
        except ProblemError:
            continue
        problem = as_told_to(token, statement, outcome.problem, ledger.state)
        if problem is not outcome.problem:
            told[i] = BatchOutcome(problem=problem)
    return told


async def _wait_for_checkpoint(
    transparency: TransparencyLog | None, receipt: Receipt
) -> dict[str, Any] | None:
    """The checkpoint including the entry and the proof against it, or ``None`` after 10 s.

    The entry is stored whatever happens here: a failure while waiting answers 202 with
    the receipt, never a 5xx (DESIGN §5).
    """
    if transparency is None:
        return None
    deadline = time.monotonic() + WAIT_SECONDS
    try:
        while time.monotonic() < deadline:
            checkpoint = await run_in_threadpool(transparency.recorder.latest_checkpoint)
            if checkpoint is not None and checkpoint.size > receipt.index:
                proof = await run_in_threadpool(
                    transparency.inclusion_proof, index=receipt.index, tree_size=checkpoint.size
                )
                return {"checkpoint": checkpoint.note, "inclusion_proof": proof.to_json()}
            await asyncio.sleep(POLL_SECONDS)
    except (LedgerError, PersistenceError, OSError):
        log.exception("waiting for the checkpoint of %s failed", receipt.event_id)
    return None


@router.post(
    ":batch",
    response_model=list[ReceiptOut | ProblemOut],
    responses={**problems(400, 401, 403, 413, 415, 422, 429)},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "array", "items": ENVELOPE_SCHEMA}}
            },
        }
    },
)
async def append_batch(
    request: Request, ledger: LedgerDep, settings: SettingsDep, token: Writer
) -> Response:
    """Append up to 1,000 envelopes: always 200, one receipt or problem per item, in order."""
    raw = await read_json_body(request, settings.max_batch_bytes)

    def work() -> bytes:
        items = parse_batch(raw, settings.max_batch_items)
        started = time.perf_counter()
        outcomes = ledger.append_batch(items, authorize=scope(token))
        APPEND_SECONDS.observe(time.perf_counter() - started)
        body: list[dict[str, Any]] = []
        told_outcomes = _told_outcomes(ledger, token, items, outcomes)
        for outcome, told in zip(outcomes, told_outcomes, strict=True):
            if outcome.result is not None:
                APPENDS.labels("replayed" if outcome.result.replayed else "created").inc()
                body.append(outcome.result.receipt.to_json())
            else:
                assert outcome.problem is not None
                assert told.problem is not None
                APPENDS.labels(outcome.problem.slug).inc()
                body.append(told.problem.to_problem())
        return bytes(JSONResponse(body).body)

    # Parsing (up to 16 MiB), judging and rendering, all off the event loop (issue 13).
    content = await run_in_threadpool(work)
    return Response(content, media_type="application/json")


@router.get("/{event_id}", response_model=ReceiptOut, responses=problems(401, 403, 404, 429))
def get_receipt(event_id: str, ledger: LedgerDep, token: Reader) -> JSONResponse:
    """The receipt of a stored event."""
    return JSONResponse(ledger.receipt(event_id).to_json())
