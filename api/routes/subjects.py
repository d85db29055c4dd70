"""A subject's head and its entries."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from api.auth import Inspector, Reader
from api.deps import LedgerDep
from api.schemas import HeadOut, SubjectEntriesOut, problems
from ledger.canonical import jcs
from ledger.entries import decode_entry
from ledger.errors import MalformedRequest, NotFound
from ledger.statements import SUBJECT_PATTERN

router = APIRouter(prefix="/v1/subjects", tags=["subjects"])
_SUBJECT = re.compile(SUBJECT_PATTERN)


def _subject(subject: str) -> str:
    if not _SUBJECT.match(subject):
        raise MalformedRequest(
            f"{subject!r} is not a subject: use ledger, calendar:VN, or agency:/official:/"
            "matter: followed by an identifier"
        )
    return subject


@router.get("/{subject}/head", response_model=HeadOut, responses=problems(400, 401, 403, 404, 429))
def get_head(
    subject: str,
    ledger: LedgerDep,
    token: Reader,
    attest: Annotated[
        bool, Query(description="the head as of the latest checkpoint, signed by the log")
    ] = False,
) -> JSONResponse:
    """The subject's last statement: what the next statement's ``seq``/``prev`` must name.

    With ``attest=true``: the last statement within the latest checkpoint's tree, and the
    log's signed attestation that it was the subject's last at that tree size.
    """
    _subject(subject)
    attestation = None
    if attest:
        if ledger.transparency is None:
            raise NotFound("this process serves no transparency log")
        attestation = ledger.transparency.attest_head(subject)
        record = ledger.recorder.head_below(subject, attestation["tree_size"])
    else:
        record = ledger.head(subject)
    if record is None:
        raise NotFound(f"{subject} has no statements; its first statement has seq 0, prev null")
    statement = decode_entry(record).envelope.statement
    body = {
        "seq": record.seq,
        "envelope_hash": record.envelope_hash.hex(),
        "leaf_hash": record.leaf_hash.hex(),
        "index": record.index,
        "occurred_at": statement.occurred_at,
    }
    if attestation is not None:
        body["attestation"] = attestation
    return JSONResponse(body)


@router.get(
    "/{subject}/entries",
    response_model=SubjectEntriesOut,
    responses=problems(400, 401, 403, 429),
)
def get_entries(
    subject: str,
    ledger: LedgerDep,
    token: Inspector,
    after_seq: Annotated[int, Query(ge=-1, le=2**53 - 1)] = -1,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    """The subject's entries after ``after_seq``, each spliced verbatim as stored."""
    records = ledger.subject_records(_subject(subject), after_seq=after_seq, limit=limit)
    items = b",".join(
        b'{"index":%d,"leaf_hash":"%s","envelope_hash":"%s","entry":%s}'
        % (r.index, r.leaf_hash.hex().encode(), r.envelope_hash.hex().encode(), r.entry)
        for r in records
    )
    body = b'{"subject":' + jcs(subject) + b',"entries":[' + items + b"]}"
    return Response(body, media_type="application/json")
