"""Crash safety (DESIGN §4, §5, §8: "nothing acknowledged is ever lost"): a real
``ledgerctl serve`` is SIGKILLed while several clients append, then restarted on the same
data, on SQLite and on PostgreSQL.

After each kill: every acknowledged receipt is in the log at its index with its leaf hash;
every stored entry is whole and verifies (an unanswered request may or may not have been
stored, never half); indexes are dense; ``ledgerctl verify`` passes on the crashed data;
the tree after the restart extends the tree before the crash.

None of this depends on where the kill lands: the checks hold for a kill between two
requests as for one in the middle of a commit, so the test asks for no timing. What it can
make certain, it does: at every kill one request is surely unanswered — its body only half
sent — and after the restart it is resent whole and stored once.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledger.canonical import jcs
from ledger.client import envelope, make_statement
from ledger.crypto import SigningKey
from tests.e2e.conftest import (
    ROOT_REGISTRAR,
    ServeProcess,
    assert_consistent,
    assert_included,
    bearer_headers,
    check_log_item,
    create_token_in,
    init_ledger,
    ledger_verify,
    log_verifier,
    read_log,
    wait_for_checkpoint,
)

KILLS = 3  # crash-and-restart rounds per backend
CLIENTS = 4
ACKS_BEFORE_KILL = 60  # receipts, across clients, before each kill


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str | None:
    """``None``: the data dir's own SQLite file; else a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("pg_url")
    return url


@dataclass
class Attempt:
    """One POST: the envelope sent and what came back, if anything did."""

    envelope: dict[str, Any]
    status: int | None = None
    receipt: dict[str, Any] | None = None  # set only on 200/201: acknowledged
    answer: str = ""
    in_flight: bool = False  # sent, then the connection died before an answer

    @property
    def event_id(self) -> str:
        return str(self.envelope["statement"]["event_id"])


@dataclass
class Client:
    """A client thread appending ``agency.registered`` on fresh subjects of its own (seq 0,
    so clients never race on a head) until the server stops answering."""

    url: str
    token: str
    root: SigningKey
    prefix: str
    attempts: list[Attempt] = field(default_factory=list)

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=15) as http:
            for n in range(100_000):
                statement = make_statement(
                    "agency.registered",
                    f"agency:{self.prefix}-{n}",
                    seq=0,
                    prev=None,
                    actor=ROOT_REGISTRAR,
                    key_id=self.root.key_id,
                    body={"name": f"Ủy ban nhân dân {self.prefix}-{n}", "level": "commune"},
                )
                attempt = Attempt(envelope(statement, self.root))
                self.attempts.append(attempt)
                try:
                    response = http.post(
                        "/v1/events",
                        content=jcs(attempt.envelope),
                        headers=bearer_headers(self.token),
                    )
                except httpx.HTTPError as e:
                    attempt.answer = repr(e)  # no answer: the server is gone
                    attempt.in_flight = not isinstance(e, httpx.ConnectError)
                    return
                attempt.status = response.status_code
                attempt.answer = response.text
                if response.status_code not in (200, 201):
                    return  # any other answer is checked (and fails the test) below
                attempt.receipt = response.json()

    @property
    def acknowledged(self) -> int:
        return sum(a.receipt is not None for a in self.attempts)


def send_half(port: int, token: str, attempt: Attempt) -> socket.socket:
    """POST ``attempt``'s envelope, stopping halfway through its body: a request the server
    cannot answer before the kill, and must not store."""
    body = jcs(attempt.envelope)
    head = (
        "POST /v1/events HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    )
    connection = socket.create_connection(("127.0.0.1", port), timeout=15)
    connection.sendall(head.encode() + body[: len(body) // 2])
    attempt.in_flight = True
    return connection


def no_answer(connection: socket.socket) -> bytes:
    """What the killed server sent back on a connection: nothing, then the connection's end."""
    try:
        return connection.recv(4096)
    except ConnectionResetError:
        return b""
    finally:
        connection.close()


def start_clients(
    url: str, tokens: list[str], root: SigningKey, round_: int
) -> list[tuple[Client, threading.Thread]]:
    clients = [Client(url, tokens[k], root, f"R{round_}-C{k}") for k in range(CLIENTS)]
    threads = [threading.Thread(target=c.run, daemon=True) for c in clients]
    for thread in threads:
        thread.start()
    return list(zip(clients, threads, strict=True))


@pytest.mark.slow
def test_a_server_killed_mid_stream_loses_no_acknowledged_entry_and_stores_nothing_half_written(
    tmp_path: Path, store_url: str | None
) -> None:
    data = tmp_path / "data"
    init_ledger(data, store_url)
    root = SigningKey.load(data / "root-registrar.key")
    inspector = create_token_in(data, "inspector", store_url)
    # A token per client and one for the half-sent requests: the rate limit is per token.
    tokens = [create_token_in(data, "root-writer", store_url) for _ in range(CLIENTS + 1)]
    attempts: dict[str, Attempt] = {}
    server = ServeProcess(data, tmp_path / "serve.log", database_url=store_url)
    try:
        verifier = log_verifier(server.url)
        for round_ in range(KILLS):
            running = start_clients(server.url, tokens, root, round_)
            clients = [c for c, _ in running]
            deadline = time.monotonic() + 60
            while sum(c.acknowledged for c in clients) < ACKS_BEFORE_KILL:
                assert time.monotonic() < deadline, "the clients stalled before the kill"
                assert any(t.is_alive() for _, t in running), [
                    c.attempts[-1].answer for c in clients if c.attempts
                ]
                time.sleep(0.005)
            before = wait_for_checkpoint(server.url, verifier, 1)  # the tree before the crash
            half = Attempt(
                envelope(
                    make_statement(
                        "agency.registered",
                        f"agency:R{round_}-half",
                        seq=0,
                        prev=None,
                        actor=ROOT_REGISTRAR,
                        key_id=root.key_id,
                        body={"name": f"Ủy ban nhân dân R{round_}-half", "level": "commune"},
                    ),
                    root,
                )
            )
            connection = send_half(server.port, tokens[CLIENTS], half)
            server.kill()  # the clients send back to back; where the kill lands is chance
            assert no_answer(connection) == b"", "the server answered half a request"
            for _, thread in running:
                thread.join(timeout=30)
                assert not thread.is_alive(), "a client hung after the kill"
            round_attempts = [half, *(a for c in clients for a in c.attempts)]
            attempts.update((a.event_id, a) for a in round_attempts)
            # Before the kill every answer was a receipt; after it, no answer at all.
            refused = [
                (a.status, a.answer) for a in round_attempts if a.status not in (None, 200, 201)
            ]
            assert not refused, refused
            unanswered = [a for a in round_attempts if a.status is None]

            # The crashed data, as the kill left it, audits clean.
            code, output = ledger_verify(data, store_url)
            assert code == 0, f"ledgerctl verify after kill {round_ + 1}:\n{output}"

            server = ServeProcess(data, tmp_path / "serve.log", database_url=store_url)
            items = read_log(server.url, inspector)
            # Dense indexes; every entry whole and signed; each one of ours, exactly once.
            assert [item["index"] for item in items] == list(range(len(items)))
            stored: dict[str, dict[str, Any]] = {}
            for item in items[1:]:
                statement = check_log_item(item, root.public_bytes)
                event_id = statement["event_id"]
                assert event_id not in stored, f"{event_id} is stored twice"
                assert event_id in attempts, f"index {item['index']} holds a foreign entry"
                sent = attempts[event_id].envelope
                assert statement == sent["statement"], f"index {item['index']} is not as sent"
                assert item["entry"]["signature"] == sent["signature"]
                stored[event_id] = item
            assert half.event_id not in stored, "half a request body was stored"

            # Every acknowledged receipt: stored, at its index, with its leaf hash; the
            # restarted server answers the same receipt.
            with httpx.Client(base_url=server.url, timeout=15) as http:
                for attempt in attempts.values():
                    if attempt.receipt is None:
                        continue
                    receipt = attempt.receipt
                    assert attempt.event_id in stored, f"acknowledged {receipt} is lost"
                    item = items[receipt["index"]]
                    assert item["entry"]["statement"]["event_id"] == attempt.event_id
                    assert item["leaf_hash"] == receipt["leaf_hash"]
                    answer = http.get(
                        f"/v1/events/{attempt.event_id}", headers=bearer_headers(inspector)
                    )
                    assert answer.status_code == 200, answer.text
                    assert answer.json() == receipt

                # A client resending what got no answer: 200 and the stored receipt if the
                # entry was stored, else 201 — never a second copy.
                for attempt in unanswered:
                    again = http.post(
                        "/v1/events",
                        content=jcs(attempt.envelope),
                        headers=bearer_headers(tokens[0]),
                    )
                    was_stored = attempt.event_id in stored
                    assert again.status_code == (200 if was_stored else 201), again.text
                    receipt = again.json()
                    if was_stored:
                        assert receipt["index"] == stored[attempt.event_id]["index"]
                        assert receipt["leaf_hash"] == stored[attempt.event_id]["leaf_hash"]
                    attempt.receipt = receipt
                    attempt.status = again.status_code

            # Integration resumes: the new tree holds every entry and extends the old one.
            size = len(read_log(server.url, inspector))
            after = wait_for_checkpoint(server.url, verifier, size)
            assert after.size == size
            assert_consistent(server.url, before, after)
            for attempt in attempts.values():
                assert attempt.receipt is not None
                assert_included(
                    server.url, attempt.receipt["index"], attempt.receipt["leaf_hash"], after
                )
    finally:
        server.stop()
    code, output = ledger_verify(data, store_url)
    assert code == 0, output
    assert "OK" in output, output
