"""End-to-end helpers: ``ledgerctl`` run as a person runs it, and a served ledger.

What a served ledger answers is checked from the outside, as an auditor would, without the
code under test: entries with ``rfc8785`` and ``cryptography``, notes with the spec's rules
written by hand (tests/unit/test_spec_bytes.py), proofs with RFC 9162's verification
algorithms (tests/unit/test_merkle_properties.py).
"""

from __future__ import annotations

import base64
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.note import Checkpoint, Verifier
from tests.unit.test_merkle_properties import rfc9162_verify_consistency, rfc9162_verify_inclusion
from tests.unit.test_spec_bytes import open_checkpoint_by_hand, vkey_by_hand, vkey_parts

LEDGERCTL = str(Path(sys.executable).parent / "ledgerctl")


def run(
    *args: str, stdin: bytes | None = None, cwd: Path | None = None, check: bool = True
) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    result = subprocess.run(
        [LEDGERCTL, *args],
        input=stdin,
        capture_output=True,
        cwd=cwd,
        env=env,
        timeout=60,
        check=False,
    )
    if check:
        assert result.returncode == 0, result.stderr.decode()
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Server:
    """A real ``ledgerctl serve`` process, its data dir, and tokens made with ledgerctl."""

    url: str
    data: Path
    root_writer: str
    inspector: str

    def headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def create_token(data: Path, role: str, agency: str | None = None) -> str:
    """``ledgerctl tokens create``: it prints the token alone on stdout."""
    args = ["tokens", "create", "--role", role, "--data-dir", str(data)]
    if agency:
        args += ["--agency", agency]
    return run(*args).stdout.decode().strip()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """``ledgerctl init`` then ``ledgerctl serve`` as a real process on a free port."""
    data = tmp_path / "data"
    run(
        "init",
        "--origin",
        "e2e.example/ledger",
        "--data-dir",
        str(data),
        "--root-valid-from",
        "2020-01-01T00:00:00Z",
    )
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    # The server's log goes to a file: a pipe nobody reads would block a chatty server.
    log_file = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [LEDGERCTL, "serve", "--data-dir", str(data), "--port", str(port)],
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise AssertionError(
                "ledgerctl serve did not come up:\n" + (tmp_path / "serve.log").read_text()
            )
        yield Server(
            url,
            data,
            root_writer=create_token(data, "root-writer"),
            inspector=create_token(data, "inspector"),
        )
    finally:
        process.terminate()
        process.wait(timeout=10)
        log_file.close()


# --- Served processes that tests stop, kill and restart (crash safety, two servers) --------

E2E_ORIGIN = "e2e.example/ledger"
ROOT_REGISTRAR = "root-registrar"  # `ledgerctl init`'s default root registrar id


def store_args(data: Path, database_url: str | None) -> list[str]:
    """``--data-dir D`` and, for a database outside the data dir, ``--database-url URL``."""
    args = ["--data-dir", str(data)]
    return [*args, "--database-url", database_url] if database_url else args


def init_ledger(data: Path, database_url: str | None = None) -> None:
    """``ledgerctl init`` with a root key valid from 2020, on SQLite or ``database_url``."""
    run(
        "init",
        "--origin",
        E2E_ORIGIN,
        *store_args(data, database_url),
        "--root-valid-from",
        "2020-01-01T00:00:00Z",
    )


def create_token_in(data: Path, role: str, database_url: str | None = None) -> str:
    """``ledgerctl tokens create`` against ``database_url`` (default: the data dir's)."""
    args = ["tokens", "create", "--role", role, *store_args(data, database_url)]
    return run(*args).stdout.decode().strip()


def ledger_verify(data: Path, database_url: str | None = None) -> tuple[int, str]:
    """``ledgerctl verify``: its exit code and what it printed (stdout, then stderr)."""
    result = run("verify", *store_args(data, database_url), check=False)
    return result.returncode, (result.stdout + result.stderr).decode()


class ServeProcess:
    """``ledgerctl serve`` in its own process group, so a SIGKILL takes all of it down."""

    def __init__(
        self,
        data: Path,
        log_path: Path,
        *,
        database_url: str | None = None,
        integrate: bool = True,
        projections: bool = True,
        workers: int = 1,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        args = [LEDGERCTL, "serve", *store_args(data, database_url), "--port", str(self.port)]
        if not integrate:
            args.append("--no-integrate")
        if not projections:
            args.append("--no-projections")
        if workers > 1:
            args += ["--workers", str(workers)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
        # The log goes to a file: a pipe nobody reads would block a chatty server.
        with log_path.open("ab") as log_file:
            self.process = subprocess.Popen(
                args, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._wait_healthy()

    def log_text(self) -> str:
        return self.log_path.read_text("utf-8", "replace")

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError("ledgerctl serve did not come up:\n" + self.log_text())

    def kill(self) -> None:
        """SIGKILL the server's process group: no shutdown, no flush, no goodbye."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM, and SIGKILL if it has not stopped within 10 s."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


# --- Reading a served log back and checking it from the outside ----------------------------


def bearer_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def read_log(url: str, inspector: str) -> list[dict[str, Any]]:
    """Every item of ``GET /v1/log/entries``, page by page, as served."""
    items: list[dict[str, Any]] = []
    with httpx.Client(base_url=url, timeout=30) as http:
        while True:
            start = len(items)
            response = http.get(
                "/v1/log/entries",
                params={"start": start, "end": start + 1000},
                headers=bearer_headers(inspector),
            )
            assert response.status_code == 200, response.text
            page = response.json()["entries"]
            if not page:
                return items
            items += page


def check_log_item(item: dict[str, Any], root_public_key: bytes) -> dict[str, Any]:
    """A whole entry: exactly its three members, the leaf hash of its bytes (SHA-256 of 0x00
    and its JCS), a statement the root key signed over the DESIGN §4 message (every entry
    these tests write is root-signed); its statement."""
    entry = item["entry"]
    assert set(entry) == {"recorded_at", "signature", "statement"}, item
    leaf_hash = hashlib.sha256(b"\x00" + rfc8785.dumps(entry)).hexdigest()
    assert leaf_hash == item["leaf_hash"], f"leaf hash of {item['index']}"
    statement: dict[str, Any] = entry["statement"]
    signature = base64.b64decode(entry["signature"], validate=True)
    assert base64.b64encode(signature).decode() == entry["signature"], "canonical base64"
    message = b"accountability-ledger/v1 statement\n" + rfc8785.dumps(statement)
    Ed25519PublicKey.from_public_bytes(root_public_key).verify(signature, message)
    return statement


def log_verifier(url: str) -> Verifier:
    """The served log vkey's parts, its key hash checked by hand."""
    vkey = httpx.get(url + "/v1/log/key", timeout=10).json()["vkey"]
    name, key_type, public_key = vkey_parts(vkey)
    assert key_type == 0x01, vkey
    return Verifier(name, key_type, public_key)


def open_served(note: str, verifier: Verifier) -> Checkpoint:
    """A checkpoint note, its log signature checked by hand."""
    vkey = vkey_by_hand(verifier.name, verifier.algorithm, verifier.public_key)
    return Checkpoint(*open_checkpoint_by_hand(note, vkey))


def latest_checkpoint(url: str, verifier: Verifier) -> tuple[Checkpoint, str]:
    """The served checkpoint, its log signature checked by hand; and its note text."""
    response = httpx.get(url + "/v1/log/checkpoint", timeout=10)
    assert response.status_code == 200, response.text
    return open_served(response.text, verifier), response.text


def wait_for_checkpoint(url: str, verifier: Verifier, size: int, timeout: float = 30) -> Checkpoint:
    """The first served checkpoint of at least ``size`` entries (integration catching up)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            response = httpx.get(url + "/v1/log/checkpoint", timeout=10)
        except httpx.HTTPError:
            response = None  # not serving yet
        if response is not None and response.status_code == 200:
            checkpoint = open_served(response.text, verifier)  # a bad signature fails here
            if checkpoint.size >= size:
                return checkpoint
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} served no checkpoint of size {size} within {timeout} s")
        time.sleep(0.1)


def assert_consistent(url: str, older: Checkpoint, newer: Checkpoint) -> None:
    """The served consistency proof from ``older`` to ``newer`` verifies (one tree)."""
    response = httpx.get(
        url + "/v1/log/proof/consistency",
        params={"first": older.size, "second": newer.size},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    hashes = [bytes.fromhex(h) for h in response.json()["hashes"]]
    assert rfc9162_verify_consistency(older.size, newer.size, older.root, newer.root, hashes), (
        f"no consistency from {older.size} to {newer.size}"
    )


def assert_included(url: str, index: int, leaf_hash_hex: str, checkpoint: Checkpoint) -> None:
    """The served inclusion proof of entry ``index`` verifies against ``checkpoint``."""
    response = httpx.get(
        url + "/v1/log/proof/inclusion",
        params={"index": index, "tree_size": checkpoint.size},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    proof = response.json()
    assert proof["leaf_hash"] == leaf_hash_hex, f"entry {index}: {proof}"
    hashes = [bytes.fromhex(h) for h in proof["hashes"]]
    leaf = bytes.fromhex(leaf_hash_hex)
    assert rfc9162_verify_inclusion(index, checkpoint.size, leaf, hashes, checkpoint.root), (
        f"entry {index} is not included in the tree of size {checkpoint.size}"
    )
