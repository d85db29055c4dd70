"""Inspectors' reads (DESIGN §7): matters, custody, timelines and indicators, as of any date.

Every JSON answer carries ``evaluated_at`` (E = min(to, as_of, now)); CSV answers
(``Accept: text/csv``) carry it in the ``X-Evaluated-At`` header.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from api.auth import Inspector
from api.schemas import problems
from ledger.errors import MalformedRequest, NotFound
from ledger.statements import ID_PATTERN
from ledger.times import parse_instant_argument
from projections.indicators import NAMES
from projections.reads import TIMELINE_FIELDS, Cut, ReadModels

router = APIRouter(prefix="/v1", tags=["reads"])
_ID = re.compile(ID_PATTERN)
MAX_TIMELINE_LIMIT = 1000

_INSTANT_HELP = "an instant like 2026-11-27T09:30:00+07:00"


def get_reads(request: Request) -> ReadModels:
    reads: ReadModels | None = getattr(request.app.state, "reads", None)
    if reads is None:
        raise NotFound("this process serves no read models")
    return reads


ReadsDep = Annotated[ReadModels, Depends(get_reads)]


def _instant(name: str, value: str | None) -> datetime | None:
    return parse_instant_argument(f"query parameter {name}", value)


def _id(kind: str, value: str) -> str:
    if not _ID.match(value):
        raise MalformedRequest(f"{value!r} is not a {kind} id: it must match {ID_PATTERN}")
    return value


def _cut(
    reads: ReadModels, as_of: str | None, from_: str | None = None, to: str | None = None
) -> Cut:
    start, end = _instant("from", from_), _instant("to", to)
    if start is not None and end is not None and start >= end:
        raise MalformedRequest(f"from={from_} must be before to={to}")
    return reads.cut(as_of=_instant("as_of", as_of), start=start, to=end)


def _wants_csv(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/csv" in accept.lower()


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]], evaluated_at: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return Response(
        out.getvalue().encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"X-Evaluated-At": evaluated_at},
    )


AsOf = Annotated[
    str | None, Query(description=f"record time: read what the ledger knew then ({_INSTANT_HELP})")
]
From = Annotated[
    str | None,
    Query(alias="from", description=f"valid time: events that occurred from ({_INSTANT_HELP})"),
]
To = Annotated[
    str | None, Query(description=f"valid time: events that occurred before ({_INSTANT_HELP})")
]


@router.get("/matters/{matter_id}", responses=problems(400, 401, 403, 404, 429))
def get_matter(
    matter_id: str, reads: ReadsDep, token: Inspector, as_of: AsOf = None, to: To = None
) -> JSONResponse:
    """The matter: status, custodian, due time, overdue working days, decisions, flags."""
    cut = _cut(reads, as_of, None, to)
    return JSONResponse(reads.matter(_id("matter", matter_id), cut))


@router.get("/matters/{matter_id}/custody", responses=problems(400, 401, 403, 404, 429))
def get_custody(
    matter_id: str,
    request: Request,
    reads: ReadsDep,
    token: Inspector,
    as_of: AsOf = None,
    to: To = None,
) -> Response:
    """Who held the matter, in which role, from when to when (the custody chain)."""
    cut = _cut(reads, as_of, None, to)
    body = reads.custody(_id("matter", matter_id), cut)
    if _wants_csv(request):
        header = ("official_id", "role", "from", "to", "started_by", "ended_by")
        rows = ([i[h] for h in header] for i in body["intervals"])
        return _csv(header, rows, body["evaluated_at"])
    return JSONResponse(body)


@router.get("/officials/{official_id}/timeline", responses=problems(400, 401, 403, 404, 429))
def get_timeline(
    official_id: str,
    request: Request,
    reads: ReadsDep,
    token: Inspector,
    as_of: AsOf = None,
    from_: From = None,
    to: To = None,
    after: Annotated[int | None, Query(ge=-1, description="a log index: rows after it")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_TIMELINE_LIMIT)] = 100,
) -> Response:
    """Every event the official is party to, in log order, a page at a time."""
    cut = _cut(reads, as_of, from_, to)
    body = reads.timeline(_id("official", official_id), cut, after=after, limit=limit)
    if _wants_csv(request):
        rows = (
            [";".join(r["flags"]) if f == "flags" else r[f] for f in TIMELINE_FIELDS]
            for r in body["rows"]
        )
        response = _csv(TIMELINE_FIELDS, rows, body["evaluated_at"])
        if body["next_after"] is not None:
            response.headers["X-Next-After"] = str(body["next_after"])
        return response
    return JSONResponse(body)


_INDICATOR_HEADER = (
    "official_id",
    "indicator",
    "numerator",
    "denominator",
    "value",
    "peer_percentile",
    "peers",
    "agency_percentile",
    "agency_peers",
    "matters",
    # The indicators' own extras (DESIGN §7): empty where an indicator has none.
    "total_working_days",
    "median_working_days",
    "longest_idle_working_days",
)
_EXTRAS = _INDICATOR_HEADER[-3:]


def _indicator_rows(official_id: str, indicators: dict[str, Any]) -> list[list[Any]]:
    return [
        [
            official_id,
            name,
            *(indicators[name][column] for column in _INDICATOR_HEADER[2:9]),
            ";".join(indicators[name]["matters"]),
            *(indicators[name].get(extra) for extra in _EXTRAS),
        ]
        for name in NAMES
    ]


@router.get("/officials/{official_id}/indicators", responses=problems(400, 401, 403, 404, 429))
def get_official_indicators(
    official_id: str,
    request: Request,
    reads: ReadsDep,
    token: Inspector,
    as_of: AsOf = None,
    from_: From = None,
    to: To = None,
) -> Response:
    """Avoidance indicators 1–12 for the official over [from, to), with percentiles among
    the province's officials and the agency's."""
    cut = _cut(reads, as_of, from_, to)
    body = reads.official_indicators(_id("official", official_id), cut)
    if _wants_csv(request):
        rows = _indicator_rows(official_id, body["indicators"])
        return _csv(_INDICATOR_HEADER, rows, body["evaluated_at"])
    return JSONResponse(body)


@router.get("/agencies/{agency_id}/indicators", responses=problems(400, 401, 403, 404, 429))
def get_agency_indicators(
    agency_id: str,
    request: Request,
    reads: ReadsDep,
    token: Inspector,
    as_of: AsOf = None,
    from_: From = None,
    to: To = None,
) -> Response:
    """The agency table: indicators 1–12 for each of its officials at E, ranked among the
    province's officials and the agency's."""
    cut = _cut(reads, as_of, from_, to)
    body = reads.agency_indicators(_id("agency", agency_id), cut)
    if _wants_csv(request):
        rows = [
            row
            for entry in body["officials"]
            for row in _indicator_rows(entry["official_id"], entry["indicators"])
        ]
        return _csv(_INDICATOR_HEADER, rows, body["evaluated_at"])
    return JSONResponse(body)
