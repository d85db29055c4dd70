"""Two ``ledgerctl serve`` processes on one PostgreSQL schema (DESIGN §5, §10: "several API
processes on one PostgreSQL never fork the tree, lose or duplicate an entry").

Clients append through both servers at once, racing on shared subject heads (``calendar:VN``
and fresh agencies at seq 0); then every receipt's event is stored exactly once, indexes are
dense, exactly one process integrates, both serve one tree, and ``ledgerctl verify`` passes.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledger.client import LedgerClient, LedgerError, envelope, make_statement
from ledger.crypto import SigningKey
from ledger.note import Checkpoint
from tests.e2e.conftest import (
    ROOT_REGISTRAR,
    ServeProcess,
    assert_consistent,
    assert_included,
    bearer_headers,
    check_log_item,
    create_token_in,
    init_ledger,
    latest_checkpoint,
    ledger_verify,
    log_verifier,
    read_log,
    wait_for_checkpoint,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CLIENTS = 4
ROUNDS = 15  # per client; each round: a seq-0 race, a fresh agency, a calendar append
CALENDAR_TRIES = 100  # `record` calls (each retrying once) before a client gives up


@dataclass
class Outcomes:
    """What the clients were told, shared between their threads."""

    receipts: dict[str, dict[str, Any]] = field(default_factory=dict)  # event_id → receipt
    calendar: list[str] = field(default_factory=list)  # event ids of stored calendar entries
    races: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))  # results
    unexpected: list[str] = field(default_factory=list)
    stale_calendar: int = 0  # `record` calls that met a stale head twice
    lock: threading.Lock = field(default_factory=threading.Lock)

    def stored(self, receipt: dict[str, Any]) -> None:
        with self.lock:
            assert receipt["event_id"] not in self.receipts, f"two receipts for {receipt}"
            self.receipts[receipt["event_id"]] = receipt


def client_run(
    k: int,
    servers: list[str],
    token: str,
    root: SigningKey,
    barrier: threading.Barrier,
    out: Outcomes,
) -> None:
    """Round i goes to server (k + i) % 2: at any moment both servers take appends."""
    https = [httpx.Client(base_url=url, timeout=30) for url in servers]
    clients = [LedgerClient(token=token, http=http) for http in https]
    try:
        for i in range(ROUNDS):
            client = clients[(k + i) % 2]
            barrier.wait(timeout=60)  # all clients start each round together
            # 1. Everyone opens agency:S<i> at seq 0: one wins, the rest are stale.
            race = make_statement(
                "agency.registered",
                f"agency:S{i}",
                seq=0,
                prev=None,
                actor=ROOT_REGISTRAR,
                key_id=root.key_id,
                body={"name": f"Sở {i} (client {k})", "level": "province"},
            )
            try:
                out.stored(client.submit(envelope(race, root)))
                out.races[i].append("stored")
            except LedgerError as e:
                out.races[i].append(e.slug)
            # 2. A fresh agency of this client's own: no race.
            own = make_statement(
                "agency.registered",
                f"agency:C{k}-{i}",
                seq=0,
                prev=None,
                actor=ROOT_REGISTRAR,
                key_id=root.key_id,
                body={"name": f"Xã {k}-{i}", "level": "commune"},
            )
            out.stored(client.submit(envelope(own, root)))
            # 3. calendar:VN, everyone on the same head: retry on a stale head until stored.
            event_id = str(uuid.uuid4())
            body = {
                "date": (date(2030, 1, 1) + timedelta(days=100 * k + i)).isoformat(),
                "kind": "day_off",
                "source_document": f"Quyết định {k}-{i}/QĐ-TTg",
            }
            for _ in range(CALENDAR_TRIES):
                try:
                    receipt = client.record(
                        "calendar.adjusted",
                        "calendar:VN",
                        actor=ROOT_REGISTRAR,
                        key=root,
                        body=body,
                        event_id=event_id,
                    )
                except LedgerError as e:
                    if e.slug == "stale-head":
                        with out.lock:
                            out.stale_calendar += 1
                        continue
                    raise
                out.stored(receipt)
                with out.lock:
                    out.calendar.append(event_id)
                break
            else:
                raise AssertionError(f"client {k} never appended to calendar:VN in round {i}")
    except Exception as e:
        with out.lock:
            out.unexpected.append(f"client {k}: {e!r}")
        barrier.abort()
    finally:
        for http in https:
            http.close()


def watch_checkpoints(
    servers: list[str], stop: threading.Event, seen: list[tuple[str, Checkpoint]]
) -> None:
    """Collect each checkpoint either server serves while the clients run."""
    verifier = log_verifier(servers[0])
    while not stop.is_set():
        for url in servers:
            try:
                checkpoint, _ = latest_checkpoint(url, verifier)
            except (httpx.HTTPError, AssertionError):
                continue
            if (url, checkpoint) not in seen:
                seen.append((url, checkpoint))
        time.sleep(0.02)


def test_two_servers_on_one_postgresql_lose_nothing_duplicate_nothing_and_grow_one_tree(
    tmp_path: Path, pg_url: str
) -> None:
    data = tmp_path / "data"
    init_ledger(data, pg_url)
    root = SigningKey.load(data / "root-registrar.key")
    inspector = create_token_in(data, "inspector", pg_url)
    tokens = [create_token_in(data, "root-writer", pg_url) for _ in range(CLIENTS)]
    started: list[ServeProcess] = []
    stop = threading.Event()
    try:
        # Both try to integrate: the first takes the log's lock; the second finds it held.
        first = ServeProcess(data, tmp_path / "serve-a.log", database_url=pg_url)
        started.append(first)
        verifier = log_verifier(first.url)
        wait_for_checkpoint(first.url, verifier, 1)
        second = ServeProcess(data, tmp_path / "serve-b.log", database_url=pg_url)
        started.append(second)
        servers = [first.url, second.url]

        out = Outcomes()
        seen: list[tuple[str, Checkpoint]] = []
        watcher = threading.Thread(
            target=watch_checkpoints, args=(servers, stop, seen), daemon=True
        )
        watcher.start()
        barrier = threading.Barrier(CLIENTS)
        threads = [
            threading.Thread(
                target=client_run, args=(k, servers, tokens[k], root, barrier, out), daemon=True
            )
            for k in range(CLIENTS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=240)
        stop.set()
        watcher.join(timeout=10)
        assert not any(t.is_alive() for t in threads), "a client hung"
        assert not out.unexpected, out.unexpected
        assert out.stale_calendar > 0, "the clients never raced on the calendar:VN head"

        # Each seq-0 race: exactly one winner; every loser told its head was stale.
        for i in range(ROUNDS):
            assert sorted(out.races[i]) == ["stale-head"] * (CLIENTS - 1) + ["stored"], (
                f"agency:S{i}: {out.races[i]}"
            )
        assert len(out.receipts) == ROUNDS * (2 * CLIENTS + 1)

        # Both servers serve the same log: dense, each receipt's event exactly once.
        items = read_log(first.url, inspector)
        assert read_log(second.url, inspector) == items
        assert [item["index"] for item in items] == list(range(len(items)))
        event_ids = [check_log_item(item, root.public_bytes)["event_id"] for item in items[1:]]
        assert len(event_ids) == len(set(event_ids)), "an event is stored twice"
        assert set(event_ids) == set(out.receipts), "stored entries and receipts differ"
        assert len(items) == 1 + len(out.receipts)
        for event_id, receipt in out.receipts.items():
            item = items[receipt["index"]]
            assert item["entry"]["statement"]["event_id"] == event_id
            assert item["leaf_hash"] == receipt["leaf_hash"]
            for url in servers:
                answer = httpx.get(
                    f"{url}/v1/events/{event_id}", headers=bearer_headers(inspector), timeout=10
                )
                assert answer.status_code == 200, answer.text
                assert answer.json() == receipt

        # calendar:VN is one chain: seq 0, 1, 2, … each naming the one before.
        chain = httpx.get(
            f"{first.url}/v1/subjects/calendar:VN/entries",
            params={"limit": 1000},
            headers=bearer_headers(inspector),
            timeout=10,
        ).json()["entries"]
        assert [c["entry"]["statement"]["seq"] for c in chain] == list(range(len(out.calendar)))
        assert sorted(c["entry"]["statement"]["event_id"] for c in chain) == sorted(out.calendar)
        for before, after in pairwise(chain):
            assert after["entry"]["statement"]["prev"] == before["envelope_hash"]

        # Exactly one integrator.
        logs = [server.log_text() for server in started]
        assert sum("integrating the log" in log for log in logs) == 1, logs
        assert sum("another process integrates this log" in log for log in logs) == 1, logs

        # One tree: both servers come to the same checkpoint of every entry; each checkpoint
        # either served along the way is consistent with it; no two roots for one size.
        final = wait_for_checkpoint(first.url, verifier, len(items))
        assert final.size == len(items)
        assert wait_for_checkpoint(second.url, verifier, len(items)) == final
        roots: dict[int, set[bytes]] = defaultdict(set)
        for _, checkpoint in seen:
            roots[checkpoint.size].add(checkpoint.root)
        assert all(len(r) == 1 for r in roots.values()), "two roots for one tree size: a fork"
        assert len(roots) > 2, "too few checkpoints seen while the clients ran"
        for n, (url, checkpoint) in enumerate(seen):
            assert_consistent(servers[n % 2], checkpoint, final)
            assert url in servers
        for n, receipt in enumerate(out.receipts.values()):
            assert_included(servers[n % 2], receipt["index"], receipt["leaf_hash"], final)
    finally:
        stop.set()
        for server in started:
            server.stop()
    code, output = ledger_verify(data, pg_url)
    assert code == 0, output
    assert "OK" in output, output
