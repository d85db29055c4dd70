"""End-to-end helpers: ``ledgerctl`` run as a person runs it, and a served ledger."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

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
