"""Appending statements and reading their receipts."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api.deps import LedgerDep, SettingsDep, read_json_body
from api.schemas import ENVELOPE_SCHEMA, ReceiptOut, problems

router = APIRouter(prefix="/v1/events", tags=["events"])


@router.post(
    "",
    status_code=201,
    response_model=ReceiptOut,
    responses={
        200: {"model": ReceiptOut, "description": "an exact replay: the original receipt"},
        **problems(400, 403, 409, 413, 415, 422),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": ENVELOPE_SCHEMA}},
        }
    },
)
async def append_event(request: Request, ledger: LedgerDep, settings: SettingsDep) -> Response:
    """Append one signed envelope; 201 with its receipt, 200 for an exact replay."""
    raw = await read_json_body(request, settings.max_request_bytes)
    result = await run_in_threadpool(ledger.append, raw)
    receipt = result.receipt
    return JSONResponse(
        receipt.to_json(),
        status_code=200 if result.replayed else 201,
        headers={"Location": f"/v1/events/{receipt.event_id}"},
    )


@router.get("/{event_id}", response_model=ReceiptOut, responses=problems(404))
def get_receipt(event_id: str, ledger: LedgerDep) -> JSONResponse:
    """The receipt of a stored event."""
    return JSONResponse(ledger.receipt(event_id).to_json())
