"""Inspectors' catalogues (DESIGN §8 v4): agencies, officials, matters and a matter's
statements, with registered names, as of any date.

The registry is read as its entries up to the read's cut built it; every answer states
``evaluated_at`` (E), the instant at which postings, heads and registrars are taken.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from api.auth import Inspector
from api.routes.reads import AsOf, From, ReadsDep, To, _cut, _id
from api.schemas import (
    AgenciesOut,
    AgencyReadOut,
    MattersOut,
    MatterStatementsOut,
    OfficialOut,
    OfficialsOut,
    problems,
)
from ledger.statements import ID_PATTERN

router = APIRouter(prefix="/v1", tags=["catalogues"])
MAX_MATTERS_LIMIT = 1000


@router.get("/agencies", response_model=AgenciesOut, responses=problems(400, 401, 403, 429))
def list_agencies(reads: ReadsDep, token: Inspector, as_of: AsOf = None) -> dict[str, Any]:
    """Every agency with its name, level, parent, units, heads and registrar."""
    return reads.agencies(_cut(reads, as_of))


@router.get(
    "/agencies/{agency_id}",
    response_model=AgencyReadOut,
    responses=problems(400, 401, 403, 404, 429),
)
def get_agency(
    agency_id: str, reads: ReadsDep, token: Inspector, as_of: AsOf = None
) -> dict[str, Any]:
    """One agency as the registry stood at the read's cut."""
    return reads.agency(_id("agency", agency_id), _cut(reads, as_of))


@router.get("/officials", response_model=OfficialsOut, responses=problems(400, 401, 403, 429))
def search_officials(
    reads: ReadsDep,
    token: Inspector,
    q: Annotated[
        str | None,
        Query(description="words of the name or id, accents and case aside ('pham duc tuan')"),
    ] = None,
    agency: Annotated[str | None, Query(description="only officials posted there at E")] = None,
    as_of: AsOf = None,
) -> dict[str, Any]:
    """Officials whose name or id holds every word of ``q``, with their posting at E."""
    return reads.officials(_cut(reads, as_of), q=q, agency_id=agency)


@router.get(
    "/officials/{official_id}",
    response_model=OfficialOut,
    responses=problems(400, 401, 403, 404, 429),
)
def get_official(
    official_id: str, reads: ReadsDep, token: Inspector, as_of: AsOf = None
) -> dict[str, Any]:
    """An official's postings, keys, competences and delegations over time."""
    return reads.official(_id("official", official_id), _cut(reads, as_of))


@router.get(
    "/matters",
    response_model=MattersOut,
    response_model_exclude_unset=True,
    responses=problems(400, 401, 403, 429),
)
def list_matters(
    reads: ReadsDep,
    token: Inspector,
    agency: Annotated[str | None, Query(description="the agency the matter was opened in")] = None,
    procedure: Annotated[str | None, Query(description="a procedure code")] = None,
    status: Annotated[Literal["open", "closed"] | None, Query()] = None,
    official: Annotated[str | None, Query(description="an official party to the matter")] = None,
    overdue: Annotated[bool | None, Query(description="overdue at E (or when closed)")] = None,
    as_of: AsOf = None,
    from_: From = None,
    to: To = None,
    after: Annotated[
        str | None, Query(pattern=ID_PATTERN, description="a matter id: matters after it")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_MATTERS_LIMIT)] = 100,
) -> dict[str, Any]:
    """Matters in id order with their state at E, a page at a time (``next_after``)."""
    return reads.matters(
        _cut(reads, as_of, from_, to),
        agency_id=agency,
        procedure=procedure,
        status=status,
        official_id=official,
        overdue=overdue,
        after=after,
        limit=limit,
    )


@router.get(
    "/matters/{matter_id}/events",
    response_model=MatterStatementsOut,
    responses=problems(400, 401, 403, 404, 429),
)
def get_matter_statements(
    matter_id: str, reads: ReadsDep, token: Inspector, as_of: AsOf = None, to: To = None
) -> dict[str, Any]:
    """The matter's statements in order, decoded, with names, flags and findings."""
    return reads.matter_statements(_id("matter", matter_id), _cut(reads, as_of, None, to))
