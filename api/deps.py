"""Request dependencies: the process's ledger, its settings and its log."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ledger.application import Ledger
from ledger.errors import NotFound
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
