"""What the ledger is compared with, measured in the same run on the same machine.

- the raw Ed25519 verify rate of ``cryptography`` (OpenSSL) on one core, and on every core
  (one process per core), over real statement messages with their keys already loaded;
- a plain eventsourcing application (the library's ``Application`` and an ``Aggregate``
  per subject whose events carry the statement dict): the same statements, stored
  unsigned and unchained, one save per statement or one per batch;
- the library's raw read-and-decode rate of the same log: its recorder's
  ``select_notifications`` pages, each stored state decoded by its ``JSONTranscoder``.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import JSONTranscoder

from bench.measure import rate
from ledger.canonical import jcs
from ledger.crypto import b64decode_canonical, statement_message
from ledger.storage import library_environment

VerifyJob = tuple[bytes, bytes, bytes]  # public key, message, signature


def verify_jobs(envelopes: Sequence[dict[str, Any]], keys: dict[str, bytes]) -> list[VerifyJob]:
    """(public key, signed message, signature) of envelopes whose key ids ``keys`` maps."""
    jobs = []
    for env in envelopes:
        statement = env["statement"]
        message = statement_message(jcs(statement))
        signature = b64decode_canonical(env["signature"], size=64)
        jobs.append((keys[statement["key"]], message, signature))
    return jobs


def _verify_for(jobs: Sequence[VerifyJob], seconds: float) -> tuple[int, float]:
    """Verify round and round for ``seconds``; (verifications, elapsed seconds)."""
    loaded = [(Ed25519PublicKey.from_public_bytes(k), m, s) for k, m, s in jobs]
    done = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for key, message, signature in loaded:
            key.verify(signature, message)
        done += len(loaded)
    return done, time.perf_counter() - start


def verify_rate_one_core(jobs: Sequence[VerifyJob], seconds: float = 3.0) -> float:
    """Ed25519 verifications per second, one thread."""
    done, elapsed = _verify_for(jobs, seconds)
    return rate(done, elapsed)


def verify_rate_all_cores(
    jobs: Sequence[VerifyJob], seconds: float = 3.0, processes: int | None = None
) -> tuple[float, int]:
    """Ed25519 verifications per second summed over one process per core; (rate, cores)."""
    processes = processes or os.cpu_count() or 1
    context = multiprocessing.get_context("fork")
    with context.Pool(processes) as pool:
        results = pool.starmap(_verify_for, [(list(jobs), seconds)] * processes)
    return sum(rate(done, elapsed) for done, elapsed in results), processes


# --- a plain eventsourcing application --------------------------------------------------


class Subject(Aggregate):
    """One subject's statements as plain events (no signature, no chain, no checks)."""

    @staticmethod
    def create_id(statement: dict[str, Any]) -> uuid.UUID:
        return uuid.uuid5(uuid.NAMESPACE_URL, str(statement["subject"]))

    @event("Opened")
    def __init__(self, statement: dict[str, Any]) -> None:
        self.count = 1

    @event("Recorded")
    def record(self, statement: dict[str, Any]) -> None:
        self.count += 1


class PlainApplication(Application[uuid.UUID]):
    """Stores statements as the library would out of the box; subjects stay in memory so
    that, like the ledger (which keeps heads in memory), no store is read to append."""

    name = "Plain"

    def __init__(self, database_url: str) -> None:
        env = library_environment(database_url)
        env.pop("APPLICATION_RECORDER_TOPIC")
        env.pop("ORIGINATOR_ID_TYPE")
        super().__init__(env=env)
        self.subjects: dict[str, Subject] = {}
        self.lock = threading.Lock()

    def record(self, statements: Sequence[dict[str, Any]]) -> None:
        """Store the statements in one transaction (the library's unit of work)."""
        with self.lock:
            touched: dict[str, Subject] = {}
            for statement in statements:
                name = str(statement["subject"])
                subject = self.subjects.get(name)
                if subject is None:
                    subject = Subject(statement)
                    self.subjects[name] = subject
                else:
                    subject.record(statement)
                touched[name] = subject
            self.save(*touched.values())


def plain_rates(
    database_url: str, envelopes: Sequence[dict[str, Any]], batch_sizes: Sequence[int]
) -> dict[str, float]:
    """In-process statements/s of the plain application: one save per statement, then one
    save per batch of each size (each run on its own share of the statements)."""
    statements = [env["statement"] for env in envelopes]
    app = PlainApplication(database_url)
    results: dict[str, float] = {}
    try:
        runs = [1, *batch_sizes]
        share = len(statements) // len(runs)
        for n, size in enumerate(runs):
            part = statements[n * share : (n + 1) * share]
            start = time.perf_counter()
            for i in range(0, len(part), size):
                app.record(part[i : i + size])
            results["single" if size == 1 else f"batch_{size}"] = rate(
                len(part), time.perf_counter() - start
            )
    finally:
        app.close()
    return results


# --- the library's raw read-and-decode rate ---------------------------------------------


def read_decode_rate(database_url: str, *, page: int = 1000) -> tuple[float, int, float]:
    """Notifications read and decoded per second over the whole log; (rate, count, s)."""
    from ledger.application import Ledger

    ledger = Ledger(database_url)
    transcoder = JSONTranscoder()
    count = 0
    try:
        recorder = ledger.recorder
        start = time.perf_counter()
        next_id: int | None = None
        while True:
            notifications = recorder.select_notifications(
                next_id, page, inclusive_of_start=next_id is None
            )
            for notification in notifications:
                transcoder.decode(notification.state)
            count += len(notifications)
            if len(notifications) < page:
                break
            next_id = notifications[-1].id
        elapsed = time.perf_counter() - start
    finally:
        ledger.close()
    return rate(count, elapsed), count, elapsed
