"""Servers as real processes on a free loopback port: ``ledgerctl serve`` or any uvicorn
application factory; readiness, peak memory, and a clean stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

import httpx

from bench.measure import tree_peak_rss_mb

LEDGERCTL = str(Path(sys.executable).parent / "ledgerctl")

# The per-token rate limit (200 requests/s by default) is a policy against a runaway
# client, not a capacity: the benchmark lifts it to measure what the server can do.
UNLIMITED = {"LEDGER_RATE_LIMIT_PER_SECOND": "1000000", "LEDGER_RATE_LIMIT_BURST": "1000000"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without ``LEDGER_…`` settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env.update(extra or {})
    return env


class Served:
    """A server process in its own process group, logging to a file."""

    def __init__(
        self, args: Sequence[str], port: int, log_path: Path, env: Mapping[str, str]
    ) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self.started = time.perf_counter()
        with log_path.open("ab") as log_file:
            self.process = subprocess.Popen(  # noqa: S603 - our own executables, argument lists
                list(args),
                env=dict(env),
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.ready_seconds: float | None = None

    def wait_ready(self, timeout: float = 120.0, path: str = "/healthz") -> float:
        """Seconds from start until ``path`` answers 200; raises if it never does."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if httpx.get(self.url + path, timeout=2).status_code == 200:
                    self.ready_seconds = time.perf_counter() - self.started
                    return self.ready_seconds
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        tail = self.log_path.read_text("utf-8", "replace")[-3000:]
        raise RuntimeError(f"{self.url} did not come up within {timeout:.0f} s:\n{tail}")

    def peak_rss_mb(self) -> float | None:
        """Peak resident memory of the server (its largest process), while it runs."""
        if self.process.poll() is not None:
            return None
        return tree_peak_rss_mb(self.process.pid)

    def stop(self) -> None:
        """SIGTERM the process group; SIGKILL if it lingers."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    def __enter__(self) -> Served:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def serve_ledger(
    data_dir: Path,
    log_path: Path,
    *,
    database_url: str | None = None,
    integrate: bool = True,
    projections: bool = True,
) -> Served:
    """``ledgerctl serve`` on a free port, one worker, the rate limit lifted."""
    port = free_port()
    args = [LEDGERCTL, "serve", "--data-dir", str(data_dir), "--port", str(port)]
    if database_url:
        args += ["--database-url", database_url]
    if not integrate:
        args.append("--no-integrate")
    if not projections:
        args.append("--no-projections")
    return Served(args, port, log_path, clean_environment(UNLIMITED))


def serve_factory(factory: str, log_path: Path, env: Mapping[str, str]) -> Served:
    """``uvicorn --factory MODULE:FUNCTION`` on a free port, one worker, no access log."""
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        factory,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    return Served(args, port, log_path, clean_environment({**UNLIMITED, **env}))
