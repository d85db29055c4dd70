"""Application factories the benchmark serves with uvicorn beside ``ledgerctl serve``.

- ``plain_app``: the plain eventsourcing application (``bench.baselines``) behind the same
  kind of FastAPI routes, so that HTTP ingestion has an HTTP baseline.
- ``reads_app``: the ledger's own application (``api.app.create_app``) around a ledger
  opened without the start-up replay (``open_ledger(warm=False)``), read-only, no
  integration, no projection runner: reads and proofs are served exactly as
  ``ledgerctl serve`` serves them, without first replaying a million entries that only
  appends need.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse


def plain_app() -> FastAPI:
    """POST /v1/events and /v1/events:batch into a ``PlainApplication``
    (``BENCH_PLAIN_DATABASE_URL``)."""
    from bench.baselines import PlainApplication

    store = PlainApplication(os.environ["BENCH_PLAIN_DATABASE_URL"])
    app = FastAPI(title="plain eventsourcing baseline")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/events", status_code=201)
    async def append(request: Request) -> JSONResponse:
        envelope: Any = json.loads(await request.body())
        await run_in_threadpool(store.record, [envelope["statement"]])
        return JSONResponse({"stored": 1}, status_code=201)

    @app.post("/v1/events:batch")
    async def append_batch(request: Request) -> JSONResponse:
        envelopes: Any = json.loads(await request.body())
        await run_in_threadpool(store.record, [e["statement"] for e in envelopes])
        return JSONResponse([{"stored": 1}] * len(envelopes))

    return app


def reads_app() -> FastAPI:
    """The ledger's API over ``LEDGER_DATA_DIR``, opened without the start-up replay."""
    from api.app import create_app
    from ledger.datadir import open_ledger
    from ledger.settings import Settings

    settings = Settings.load(Path(os.environ["LEDGER_DATA_DIR"]))
    ledger, _ = open_ledger(settings, warm=False)
    return create_app(settings, ledger_=ledger, integrate=False, project=False)
