"""Evidence bundles over HTTP (DESIGN §9): JSON for machines, HTML for people."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.auth import Inspector
from api.deps import LedgerDep, SettingsDep
from api.routes.reads import AsOf, From, ReadsDep, To, _id, _instant
from api.schemas import problems
from evidence.bundle import export
from evidence.render import render_html
from evidence.verify import verify_bundle

router = APIRouter(prefix="/v1", tags=["evidence"])

Format = Annotated[
    Literal["json", "html"],
    Query(description="json (the bundle) or html (its verified rendering for people)"),
]
Lang = Annotated[Literal["vi", "en"], Query(description="the HTML page's language")]


def _answer(
    bundle: dict[str, object], format_: str, lang: Literal["vi", "en"], witnesses: list[str]
) -> Response:
    if format_ == "html":
        log = bundle["log"]
        assert isinstance(log, dict)
        # The server's own log key and configured witnesses: the page verifies what it sent.
        report = verify_bundle(bundle, str(log["vkey"]), witnesses)
        return HTMLResponse(render_html(bundle, report, lang))
    return JSONResponse(bundle)


@router.get("/matters/{matter_id}/evidence", responses=problems(400, 401, 403, 404, 429))
def get_matter_evidence(
    matter_id: str,
    ledger: LedgerDep,
    settings: SettingsDep,
    token: Inspector,
    as_of: AsOf = None,
    format: Format = "json",
    lang: Lang = "vi",
) -> Response:
    """The matter's evidence bundle, to verify offline with `ledgerctl bundle verify`."""
    bundle = export(
        ledger,
        matter_id=_id("matter", matter_id),
        as_of=_instant("as_of", as_of),
    )
    return _answer(bundle, format, lang, settings.witness_vkeys)


@router.get("/officials/{official_id}/evidence", responses=problems(400, 401, 403, 404, 429))
def get_official_evidence(
    official_id: str,
    ledger: LedgerDep,
    settings: SettingsDep,
    reads: ReadsDep,
    token: Inspector,
    as_of: AsOf = None,
    from_: From = None,
    to: To = None,
    format: Format = "json",
    lang: Lang = "vi",
) -> Response:
    """Every matter the official was party to in [from, to), with their whole histories."""
    bundle = export(
        ledger,
        official_id=_id("official", official_id),
        start=_instant("from", from_),
        end=_instant("to", to),
        as_of=_instant("as_of", as_of),
        reads=reads,
    )
    return _answer(bundle, format, lang, settings.witness_vkeys)
