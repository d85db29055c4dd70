"""Build the demo ledger: initialise, sign the province's history, send it through the API.

The statements go through the real HTTP API (the FastAPI app, in process over ASGI) in
batches of up to 1,000, each with the bearer token of the submitting agency, exactly as
agencies' systems would send them; nothing is written behind the API's back. Then the log
is integrated and the projections catch up, so ``ledgerctl serve`` answers at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from demo.province import ORIGIN, ROOT_ID, ROOT_NAME, build_registry
from demo.story import ROOT, Planted, Story, Submission
from ledger.canonical import jcs
from ledger.datadir import initialise, open_ledger
from ledger.settings import Settings
from ledger.times import parse_instant
from ledger.tokens import TokenStore
from ledger.workdays import ICT

DEMO_FILE = "demo.json"
INSPECTOR_TOKEN_FILE = "demo-inspector.token"  # noqa: S105 (a file name)
DEFAULT_START = date(2026, 1, 5)
BATCH = 1000

Progress = Callable[[str, int, int], None]  # (phase, done, total)


class DemoError(Exception):
    """The demo cannot be built as asked; the message says what to change."""


@dataclass(frozen=True)
class DemoSummary:
    data_dir: Path
    seed: int
    start: date
    matters: int
    entries: int
    first_occurred_at: str
    last_occurred_at: str
    planted: tuple[Planted, ...]
    inspector_token_file: Path

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "start": self.start.isoformat(),
            "matters": self.matters,
            "entries": self.entries,
            "first_occurred_at": self.first_occurred_at,
            "last_occurred_at": self.last_occurred_at,
            "inspector_token_file": self.inspector_token_file.name,
            "planted": [
                {
                    "official_id": p.official_id,
                    "full_name": p.full_name,
                    "agency_id": p.agency_id,
                    "pattern": p.pattern,
                    "indicator": p.indicator,
                    "description_vi": p.description_vi,
                }
                for p in self.planted
            ],
        }


def plan(seed: int, start: date, matters: int) -> tuple[Story, list[Submission]]:
    """The whole history, signed: a pure function of the seed, the start date and the count."""
    registry = build_registry(seed)
    story = Story(registry, start)
    story.write_registry()
    story.plant()
    story.write_matters(matters)
    return story, story.out


@contextlib.contextmanager
def _quieted(logger_name: str) -> Iterator[None]:
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def genesis_event_id(seed: int) -> str:
    digest = hashlib.sha256(f"al-demo-genesis/{seed}".encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def batches(
    submissions: list[Submission], *, in_order: bool = False
) -> list[tuple[str, list[dict[str, Any]]]]:
    """Group envelopes by the token that submits them, keeping each subject's order: a
    subject's next envelope never goes out before its earlier ones, whatever their tokens.
    ``in_order`` keeps the order across subjects too (the registry: an agency before its
    officials, an official before the delegations naming them)."""
    out: list[tuple[str, list[dict[str, Any]]]] = []
    pending: dict[str, list[dict[str, Any]]] = {}
    waiting_in: dict[str, str] = {}  # subject -> the token whose pending batch holds it

    def flush(token: str) -> None:
        envs = pending.pop(token, [])
        if envs:
            out.append((token, envs))
            for env in envs:
                subject = env["statement"]["subject"]
                if waiting_in.get(subject) == token:
                    del waiting_in[subject]

    for item in submissions:
        subject = item.envelope["statement"]["subject"]
        holder = waiting_in.get(subject)
        if in_order:
            for other in [t for t in pending if t != item.token]:
                flush(other)
        elif holder is not None and holder != item.token:
            flush(holder)
        pending.setdefault(item.token, []).append(item.envelope)
        waiting_in[subject] = item.token
        if len(pending[item.token]) >= BATCH:
            flush(item.token)
    for token in list(pending):
        flush(token)
    return out


def build(
    settings: Settings,
    *,
    matters: int,
    seed: int,
    start: date = DEFAULT_START,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> DemoSummary:
    """Initialise ``settings.data_dir`` with the demo province and its history."""
    with warnings.catch_warnings():  # starlette's note on its httpx-based TestClient
        warnings.simplefilter("ignore", DeprecationWarning)
        from fastapi.testclient import TestClient

    from api.app import create_app
    from projections.runner import ProjectionRunner

    if matters < 1:
        raise DemoError("--matters must be at least 1")
    if settings.log_key_path.exists():
        raise DemoError(
            f"{settings.data_dir} already holds a ledger: remove it, or pass another --data-dir"
        )
    story, submissions = plan(seed, start, matters)
    occurred = [parse_instant(s.envelope["statement"]["occurred_at"]) for s in submissions]
    last = max(occurred)
    now = now or datetime.now(UTC)
    if last > now:
        raise DemoError(
            f"with --start {start} the history runs until {last.isoformat()}, after now: "
            "pick an earlier --start (about 10 months before today)"
        )
    genesis_at = datetime.combine(start - timedelta(days=60), time(8, 0), ICT)
    initialise(
        settings,
        origin=ORIGIN,
        root_id=ROOT_ID,
        root_name=ROOT_NAME,
        root_valid_from=datetime.combine(start - timedelta(days=400), time(0), ICT).isoformat(),
        occurred_at=genesis_at.isoformat(),
        log_key=story.registry.log_key,
        root_key=story.registry.root_key,
        event_id=genesis_event_id(seed),
    )
    ledger, _ = open_ledger(settings)
    try:
        store = TokenStore(ledger.recorder)
        tokens = {ROOT: store.create("root-writer", label="demo")[1]}
        for token in {s.token for s in submissions} - {ROOT}:
            tokens[token] = store.create("writer", agency_id=token, label="demo")[1]
        inspector = store.create("inspector", label="demo")[1]
        token_path = settings.data_dir / INSPECTOR_TOKEN_FILE
        fd = os.open(token_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(inspector + "\n")

        app = create_app(settings, ledger_=ledger, integrate=False, project=False)
        done = 0
        # One access line per batch is noise here; the logger is the process's, so it is
        # quieted only while the demo sends, then left as it was.
        with _quieted("ledger.access"), TestClient(app, raise_server_exceptions=True) as http:
            registry, matters_part = (
                submissions[: story.registry_end],
                submissions[story.registry_end :],
            )
            for token, envs in batches(registry, in_order=True) + batches(matters_part):
                response = http.post(
                    "/v1/events:batch",
                    content=b"[" + b",".join(jcs(e) for e in envs) + b"]",
                    headers={
                        "Authorization": f"Bearer {tokens[token]}",
                        "Content-Type": "application/json",
                    },
                )
                if response.status_code != 200:
                    raise DemoError(f"the API refused a batch: {response.text[:500]}")
                refused = [
                    (env["statement"], r)
                    for env, r in zip(envs, response.json(), strict=True)
                    if "type" in r
                ]
                if refused:
                    # A refusal is a bug in the demo's model of the rules, never noise.
                    cause = [x for x in refused if not x[1]["type"].endswith("batch-item-aborted")]
                    statement, problem = (cause or refused)[0]
                    raise DemoError(
                        f"the API refused {len(refused)} demo statements; "
                        f"{statement['type']} by {statement['actor']} on {statement['subject']}: "
                        f"{problem['detail']}"
                    )
                done += len(envs)
                if progress:
                    progress("sending statements through the API", done, len(submissions))
        transparency = ledger.transparency
        assert transparency is not None
        with transparency.recorder.integrator_lock() as held:
            if not held:
                raise DemoError("another process integrates this log; stop it and retry")
            transparency.step()
        runner = ProjectionRunner(ledger.recorder, ledger.database_url)
        try:

            def projected(done: int, total: int) -> None:
                if progress:
                    progress("building the read models", done, total)

            runner.catch_up(projected)
        finally:
            runner.close()
    finally:
        ledger.close()
    summary = DemoSummary(
        data_dir=settings.data_dir,
        seed=seed,
        start=start,
        matters=story.matters_opened,
        entries=len(submissions) + 1,
        first_occurred_at=min(occurred).isoformat(),
        last_occurred_at=last.isoformat(),
        planted=tuple(story.planted.values()),
        inspector_token_file=token_path,
    )
    (settings.data_dir / DEMO_FILE).write_text(
        json.dumps(summary.to_json(), ensure_ascii=False, indent=2) + "\n", "utf-8"
    )
    return summary


__all__ = ["DEFAULT_START", "DemoError", "DemoSummary", "batches", "build", "plan"]
