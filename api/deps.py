"""Request dependencies: the process's ledger, and raw JSON bodies read within a limit."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ledger.application import Ledger
from ledger.errors import NotFound, PayloadTooLarge, UnsupportedMediaType
from ledger.settings import Settings
from ledger.transparency import TransparencyLog


def get_ledger(request: Request) -> Ledger:
    ledger: Ledger = request.app.state.ledger
    return ledger


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_log(request: Request) -> TransparencyLog:
    ledger: Ledger = request.app.state.ledger
    if ledger.transparency is None:
        raise NotFound("this process serves no transparency log")
    return ledger.transparency


LedgerDep = Annotated[Ledger, Depends(get_ledger)]
LogDep = Annotated[TransparencyLog, Depends(get_log)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def read_json_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 past ``limit`` bytes before anything is parsed, then
    415 unless it is declared ``application/json`` (DESIGN §4 steps 2 and 3)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(
            f"the body is {declared} bytes; the limit is {limit} bytes", limit=limit
        )
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"the body exceeds the limit of {limit} bytes", limit=limit)
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise UnsupportedMediaType(
            f"the body's Content-Type is {media_type or 'missing'}; send application/json"
        )
    return bytes(body)
