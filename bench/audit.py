"""The audit of the big ledger: ``ledgerctl verify`` as a person runs it, in its own
process, timed from start to exit, with that process's peak memory."""

from __future__ import annotations

import resource
import subprocess
import time
from typing import Any

from bench.bigledger import BigLedger
from bench.measure import rate
from bench.server import LEDGERCTL, clean_environment


def verify(big: BigLedger) -> dict[str, Any]:
    """Run ``ledgerctl verify --data-dir DIR``: entries/s, exit code, summary, peak RSS.

    Meant to run in a process that starts no other child: the peak RSS of the waited-for
    children is then the verify process's own.
    """
    start = time.perf_counter()
    process = subprocess.run(  # noqa: S603 - our own executable, an argument list
        [LEDGERCTL, "verify", "--data-dir", str(big.data_dir)],
        capture_output=True,
        env=clean_environment(),
        check=False,
    )
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "entries": big.entries,
        "seconds": seconds,
        "entries_per_s": rate(big.entries, seconds),
        "exit_code": process.returncode,
        "summary": process.stdout.decode("utf-8", "replace").strip()[:400],
        "stderr": process.stderr.decode("utf-8", "replace")[-800:],
        "peak_rss_mb": peak,
    }
