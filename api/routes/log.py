"""The transparency log: entries by index, checkpoints, the log key, proofs, witnesses."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse

from api.auth import Inspector
from api.deps import LedgerDep, LogDep
from api.schemas import (
    ConsistencyProofOut,
    CosignaturesOut,
    InclusionProofOut,
    LogEntriesOut,
    LogKeyOut,
    problems,
)
from ledger.errors import MalformedRequest, PayloadTooLarge, UnsupportedMediaType
from ledger.note import parse_checkpoint, parse_note

router = APIRouter(prefix="/v1/log", tags=["log"])

MAX_ENTRIES = 1000
MAX_NOTE_BYTES = 16 * 1024
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
Size = Annotated[int, Query(ge=0, le=2**53 - 1)]
TEXT = "text/plain; charset=utf-8"


@router.get("/entries", response_model=LogEntriesOut, responses=problems(400, 401, 403, 429))
def get_log_entries(ledger: LedgerDep, token: Inspector, start: Size, end: Size) -> Response:
    """Entries with ``start ≤ index < end``; ``end`` is clamped to the log's size."""
    if end < start:
        raise MalformedRequest(f"end ({end}) must not be less than start ({start})")
    if end - start > MAX_ENTRIES:
        raise MalformedRequest(
            f"at most {MAX_ENTRIES} entries per request; ask for [start, start + {MAX_ENTRIES})"
        )
    records = ledger.records(start, min(end, ledger.size()))
    items = b",".join(
        b'{"index":%d,"leaf_hash":"%s","entry":%s}' % (r.index, r.leaf_hash.hex().encode(), r.entry)
        for r in records
    )
    return Response(b'{"entries":[' + items + b"]}", media_type="application/json")


@router.get("/key", response_model=LogKeyOut)
def get_log_key(ledger: LedgerDep, log: LogDep) -> JSONResponse:
    """The log's origin, its verifier key and the genesis entry's leaf hash."""
    genesis = ledger.records(0, 1)
    return JSONResponse(
        {
            "origin": log.origin,
            "vkey": log.vkey,
            "genesis_leaf_hash": genesis[0].leaf_hash.hex() if genesis else None,
        }
    )


@router.get(
    "/checkpoint",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {}}}, **problems(404)},
)
def get_checkpoint(log: LogDep) -> PlainTextResponse:
    """The latest signed checkpoint (a C2SP signed note)."""
    return PlainTextResponse(log.latest().note, media_type=TEXT)


@router.get(
    "/checkpoint/cosigned",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {}}}, **problems(404)},
)
def get_cosigned_checkpoint(log: LogDep) -> PlainTextResponse:
    """The latest checkpoint witnesses cosigned, with every cosignature it has."""
    return PlainTextResponse(log.cosigned_note(), media_type=TEXT)


@router.get("/proof/inclusion", response_model=InclusionProofOut, responses=problems(400, 404))
def get_inclusion_proof(
    log: LogDep,
    index: Annotated[int | None, Query(ge=0, le=2**53 - 1)] = None,
    leaf_hash: str | None = None,
    tree_size: Annotated[int | None, Query(ge=0, le=2**53 - 1)] = None,
) -> JSONResponse:
    """Proof that an entry is in the tree (default: the latest checkpoint's tree)."""
    if leaf_hash is not None and not _HEX64.match(leaf_hash):
        raise MalformedRequest("leaf_hash must be 64 lowercase hex digits")
    proof = log.inclusion_proof(
        index=index,
        leaf_hash=bytes.fromhex(leaf_hash) if leaf_hash else None,
        tree_size=tree_size,
    )
    return JSONResponse(proof.to_json())


@router.get("/proof/consistency", response_model=ConsistencyProofOut, responses=problems(400, 404))
def get_consistency_proof(log: LogDep, first: Size, second: Size) -> JSONResponse:
    """Proof that the tree of ``first`` leaves is a prefix of the tree of ``second``."""
    hashes = log.consistency_proof(first, second)
    return JSONResponse({"first": first, "second": second, "hashes": [h.hex() for h in hashes]})


@router.post(
    "/cosignatures",
    response_model=CosignaturesOut,
    responses=problems(400, 403, 404, 413, 415, 422),
    openapi_extra={
        "requestBody": {"required": True, "content": {"text/plain": {"schema": {"type": "string"}}}}
    },
)
async def post_cosignatures(request: Request, log: LogDep) -> JSONResponse:
    """Keep a configured witness's cosignature of a checkpoint this log signed."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_NOTE_BYTES:
            raise PayloadTooLarge(f"a cosigned checkpoint is at most {MAX_NOTE_BYTES} bytes")
    if media_type != "text/plain":
        raise UnsupportedMediaType("send the cosigned checkpoint as text/plain")
    try:
        text = bytes(body).decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedRequest("the cosigned checkpoint is not UTF-8") from None
    accepted = await run_in_threadpool(log.add_cosignatures, text)
    size = parse_checkpoint(parse_note(text).text).size
    return JSONResponse({"tree_size": size, "accepted": accepted})
