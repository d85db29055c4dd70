"""The FastAPI application: one ledger per process, created in the lifespan."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

import ledger
from api import openapi, problems
from api.auth import make_rate_limiter
from api.observability import AccessLog, configure_logging
from api.routes import events, health, log, subjects, tokens
from ledger.application import Ledger
from ledger.datadir import open_ledger
from ledger.settings import Settings
from ledger.tokens import TokenStore


def create_app(
    settings: Settings | None = None,
    *,
    ledger_: Ledger | None = None,
    integrate: bool | None = None,
) -> FastAPI:
    """The API for ``settings`` (default: from the environment), or around a given ledger.

    Unless ``integrate`` is false (default: ``settings.integrate``), the process also tries
    to become the log's integrator, in a background thread; only one process succeeds.
    """
    settings = settings or Settings.load()
    integrating = settings.integrate if integrate is None else integrate

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = ledger_ is None
        app.state.ledger = open_ledger(settings)[0] if ledger_ is None else ledger_
        app.state.tokens = TokenStore(app.state.ledger.recorder)
        stop = threading.Event()
        integrator = None
        if integrating and app.state.ledger.transparency is not None:
            integrator = threading.Thread(
                target=app.state.ledger.transparency.run_or_stand_by,
                args=(stop,),
                name="log-integrator",
                daemon=True,
            )
            integrator.start()
        try:
            yield
        finally:
            stop.set()
            if integrator is not None:
                integrator.join(timeout=10)
            if owned:
                app.state.ledger.close()

    app = FastAPI(
        title="Accountability Ledger",
        version=ledger.__version__,
        summary="Sổ cái trách nhiệm — who decided what, when, under whose authority.",
        lifespan=lifespan,
    )
    configure_logging(settings.log_format)
    app.state.settings = settings
    app.state.rate_limiter = make_rate_limiter(settings)
    if ledger_ is not None:
        app.state.ledger = ledger_
        app.state.tokens = TokenStore(ledger_.recorder)
    problems.install(app)
    openapi.install(app)
    app.add_middleware(AccessLog)
    for router in (events.router, subjects.router, log.router, tokens.router, health.router):
        app.include_router(router)
    return app


def create_app_from_environment() -> FastAPI:
    """Factory for ``uvicorn --factory`` (settings from ``LEDGER_…`` variables)."""
    return create_app()
