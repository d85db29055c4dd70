"""The log's entries by index."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import LedgerDep
from api.schemas import LogEntriesOut, problems
from ledger.errors import MalformedRequest

router = APIRouter(prefix="/v1/log", tags=["log"])

MAX_ENTRIES = 1000


@router.get("/entries", response_model=LogEntriesOut, responses=problems(400))
def get_log_entries(
    ledger: LedgerDep,
    start: Annotated[int, Query(ge=0, le=2**53 - 1)],
    end: Annotated[int, Query(ge=0, le=2**53 - 1)],
) -> Response:
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
