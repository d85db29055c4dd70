"""A served ledger under hostile writers (issue 13, item 8): big bodies are read, sized and
parsed off the event loop, so the server keeps answering everyone else while it refuses
them.

One real ``ledgerctl serve`` (uvicorn on 127.0.0.1). Three writers each send a 16 MiB
batch at once while a prober asks ``/healthz`` every few milliseconds; the probe's p99
stays under 100 ms, and every batch is refused with 413 and leaves the log unchanged.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from bench.measure import latency_summary, percentile
from ledger.canonical import jcs
from ledger.client import envelope, make_statement
from ledger.crypto import SigningKey
from tests.e2e.conftest import Server

LIMIT = 16 * 1024 * 1024  # the batch route's byte limit (DESIGN §8)
PROBE_EVERY = 0.005
HEALTHZ_P99 = 0.100  # seconds: the bound this test states
ATTACK_TIMEOUT = 120.0  # seconds: the loops below stop here whatever happens
ROUNDS = 3


def calendar_envelope(root: SigningKey, seq: int) -> bytes:
    """A root's statement as an agency's system would sign it, about 600 bytes of JSON."""
    statement = make_statement(
        "calendar.adjusted",
        "calendar:VN",
        seq=seq,
        prev=None if seq == 0 else "0" * 64,
        actor="root-registrar",
        key_id=root.key_id,
        body={"date": "2027-01-02", "kind": "day_off", "source_document": "Công văn 1/BNV"},
        event_id=str(uuid.uuid4()),
    )
    return jcs(envelope(statement, root))


def too_many_items(root: SigningKey) -> bytes:
    """The attack: a JSON array within the byte limit holding far more than 1,000
    envelopes (refused 413 for its count, which is known only once it is parsed)."""
    item = calendar_envelope(root, 1)
    count = (LIMIT - 2) // (len(item) + 1)
    body = b"[" + b",".join([item] * count) + b"]"
    assert len(body) <= LIMIT
    assert count > 1000
    return body


def over_the_byte_limit(root: SigningKey) -> bytes:
    """The variant: one byte over the limit, sent without Content-Length (chunked)."""
    body = too_many_items(root)
    return body[:-1] + b" " * (LIMIT + 1 - len(body) + 1) + b"]"


def log_size(server: Server) -> int:
    response = httpx.get(
        server.url + "/v1/log/entries",
        params={"start": 0, "end": 1000},
        headers=server.headers(server.inspector),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return len(response.json()["entries"])


# A writer of its own process: this test's process only probes, so what the probe measures
# is the server, not this process's threads sharing one interpreter lock. Writers run at the
# lowest CPU priority: in service they are other machines, not rivals for the server's cores.
WRITER = """
import os, sys, httpx
os.nice(19)
url, token, path, streamed, timeout = sys.argv[1:6]
body = open(path, "rb").read()
def chunks():
    for start in range(0, len(body), 1 << 20):
        yield body[start : start + (1 << 20)]
print("ready", flush=True)
sys.stdin.readline()
with httpx.Client(timeout=float(timeout)) as client:
    response = client.post(
        url + "/v1/events:batch",
        content=chunks() if streamed == "1" else body,
        headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"},
    )
print(response.status_code, flush=True)
"""


def attack(
    server: Server, body: bytes, tmp_path: Path, *, streamed: bool, writers: int = 3
) -> tuple[list[int], list[float]]:
    """``writers`` processes each post ``body`` at the same moment; meanwhile /healthz is
    probed on a keep-alive connection. The answers' statuses and the probes' latencies in
    seconds."""
    path = tmp_path / "body.json"
    path.write_bytes(body)
    args = [server.url, server.root_writer, str(path), "1" if streamed else "0"]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, *args, str(ATTACK_TIMEOUT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(writers)
    ]
    latencies: list[float] = []
    try:
        for process in processes:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "ready"
        with httpx.Client(base_url=server.url, timeout=ATTACK_TIMEOUT) as probe:
            probe.get("/healthz")  # the connection is open before the attack starts
            for process in processes:
                assert process.stdin is not None
                process.stdin.write("go\n")
                process.stdin.flush()
            deadline = time.monotonic() + ATTACK_TIMEOUT
            while any(p.poll() is None for p in processes) and time.monotonic() < deadline:
                began = time.perf_counter()
                response = probe.get("/healthz")
                latencies.append(time.perf_counter() - began)
                assert response.status_code == 200, response.text
                time.sleep(PROBE_EVERY)
        statuses = []
        for process in processes:
            out, _ = process.communicate(timeout=max(1.0, deadline - time.monotonic()))
            statuses.append(int(out.strip()))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    return statuses, latencies


@pytest.fixture
def root_key(server: Server) -> SigningKey:
    return SigningKey.load(server.data / "root-registrar.key")


@pytest.mark.parametrize(
    ("make", "streamed"),
    [(too_many_items, False), (over_the_byte_limit, True)],
    ids=["16-MiB-of-envelopes", "one-byte-over-chunked"],
)
def test_healthz_answers_within_100_ms_while_three_16_mib_batches_are_refused(
    server: Server,
    root_key: SigningKey,
    make: Callable[[SigningKey], bytes],
    streamed: bool,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = log_size(server)
    body = make(root_key)

    # Three rounds of the attack, their probes pooled: on a shared two-core machine one
    # probe in a round can meet a scheduling hiccup of the machine; a stall of the server's
    # event loop shows in every round (it was 1.5–3.8 s here before the fix).
    latencies: list[float] = []
    for _ in range(ROUNDS):
        statuses, probes = attack(server, body, tmp_path, streamed=streamed)
        assert statuses == [413, 413, 413]
        assert probes, "the refusals came before any probe could run"
        latencies += probes

    summary = latency_summary(latencies)
    with capsys.disabled():  # the measurement, for the report
        print(f"\n/healthz during three refused 16 MiB batches ({make.__name__}): {summary}")
    assert percentile(latencies, 99) < HEALTHZ_P99, summary
    # the log is unchanged, and the server answers promptly afterwards
    assert log_size(server) == before
    began = time.perf_counter()
    assert httpx.get(server.url + "/healthz", timeout=5).status_code == 200
    assert time.perf_counter() - began < HEALTHZ_P99


def test_the_server_log_names_no_body_it_refused(
    server: Server, root_key: SigningKey, tmp_path: Path
) -> None:
    """A refused body leaves nothing of itself in the server's log (its size, not its
    bytes)."""
    statuses, _ = attack(server, too_many_items(root_key), tmp_path, streamed=False, writers=1)
    assert statuses == [413]
    log = (Path(server.data).parent / "serve.log").read_text("utf-8", "replace")
    assert "calendar.adjusted" not in log
