"""The FastAPI application: one ledger per process, created in the lifespan."""

from __future__ import annotations

import gc
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

import ledger
from api import openapi, problems
from api.auth import make_rate_limiter
from api.observability import AccessLog, configure_logging
from api.routes import catalogue, events, evidence, health, log, reads, subjects, tokens
from ledger.application import Ledger
from ledger.datadir import open_ledger
from ledger.settings import Settings
from ledger.tokens import TokenStore
from projections.reads import ReadModels
from projections.runner import ProjectionRunner


def create_app(
    settings: Settings | None = None,
    *,
    ledger_: Ledger | None = None,
    integrate: bool | None = None,
    project: bool | None = None,
    freeze_heap: bool = False,
) -> FastAPI:
    """The API for ``settings`` (default: from the environment), or around a given ledger.

    Unless ``integrate`` is false (default: ``settings.integrate``), the process also tries
    to become the log's integrator, in a background thread; only one process succeeds.
    Likewise ``project`` (default: ``settings.projections``) for the projection runner.

    ``freeze_heap`` (a served process): once the ledger is warm, everything alive is moved
    out of the cyclic garbage collector's reach (``gc.freeze``). A full collection used to
    walk the whole in-memory state — about 50 ms holding the interpreter lock, and the
    event loop with it — whenever a big batch's allocations set one off (issue 13).
    """
    settings = settings or Settings.load()
    integrating = settings.integrate if integrate is None else integrate
    projecting = settings.projections if project is None else project

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = ledger_ is None
        app.state.ledger = open_ledger(settings)[0] if ledger_ is None else ledger_
        app.state.tokens = TokenStore(app.state.ledger.recorder)
        the_ledger: Ledger = app.state.ledger
        app.state.reads = ReadModels(the_ledger.recorder, the_ledger.database_url)
        stop = threading.Event()
        threads: list[threading.Thread] = []
        if integrating and the_ledger.transparency is not None:
            threads.append(
                threading.Thread(
                    target=the_ledger.transparency.run_or_stand_by,
                    args=(stop,),
                    name="log-integrator",
                    daemon=True,
                )
            )
        runner: ProjectionRunner | None = None
        if projecting:
            runner = ProjectionRunner(
                the_ledger.recorder,
                the_ledger.database_url,
                poll=settings.projection_poll_seconds,
                watchdog=settings.projection_watchdog_seconds,
            )
            app.state.runner = runner
            threads.append(
                threading.Thread(
                    target=runner.run_or_stand_by, args=(stop,), name="projections", daemon=True
                )
            )
        if freeze_heap:
            gc.collect()
            gc.freeze()
        for thread in threads:
            thread.start()
        try:
            yield
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=10)
            if runner is not None:
                runner.close()
            app.state.reads.close()
            if owned:
                app.state.ledger.close()

    # Swagger UI and ReDoc from the package's own copies: /docs works with no network.
    app = FastAPIOffline(
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
    routers = (events, subjects, log, catalogue, reads, evidence, tokens, health)
    for module in routers:
        app.include_router(module.router)
    return app


def create_app_from_environment() -> FastAPI:
    """Factory for ``uvicorn --factory`` (settings from ``LEDGER_…`` variables)."""
    return create_app(freeze_heap=True)
