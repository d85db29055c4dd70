"""The benchmark suite (``ledgerctl bench``): every area in one run, each measurement in a
process of its own, then ``latest.md`` and ``latest.json`` under the output directory."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import bigledger, machine, pg, report

AREAS = ("ingest", "rebuild", "audit", "reads")
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Options:
    quick: bool = False
    entries: int | None = None
    postgres_url: str = DEFAULT_POSTGRES_URL
    only: frozenset[str] = frozenset()
    out: Path = RESULTS
    cache: Path = bigledger.CACHE

    @property
    def size(self) -> int:
        return self.entries or (20_000 if self.quick else 1_000_000)

    @property
    def timeline_rows(self) -> int:
        return 1_500 if self.quick else 10_000

    @property
    def matter_events(self) -> int:
        return 300 if self.quick else 1_000

    @property
    def read_runs(self) -> int:
        return 20 if self.quick else 100

    @property
    def rebuild_budget(self) -> float:
        """Seconds ``ledgerctl projections rebuild`` may run before it is stopped."""
        return 30.0 if self.quick else 90.0

    def audit_budget(self, *, built_now: bool) -> float:
        """Seconds the audit of the largest size may be expected to take (from the rate at
        1/8): the full ledger if it fits, else the largest copy that does. Less when the
        big ledger was built in this run, to keep the whole run well under 40 minutes."""
        if self.quick:
            return float("inf")
        return 420.0 if built_now else 780.0

    def wants(self, area: str) -> bool:
        return not self.only or area in self.only


class TaskFailed(Exception):
    pass


@dataclass
class Suite:
    options: Options
    say: Callable[[str], None] = print
    notes: list[str] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)

    def task(self, name: str, params: dict[str, Any]) -> dict[str, Any]:
        """Run ``bench.worker`` for one measurement and return its result."""
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
            path = Path(out.name)
        try:
            process = subprocess.run(  # noqa: S603 - this interpreter, our module
                [sys.executable, "-m", "bench.worker", name, json.dumps(params), str(path)],
                check=False,
            )
            if process.returncode != 0:
                raise TaskFailed(f"{name} exited with {process.returncode} (see its output)")
            result: dict[str, Any] = json.loads(path.read_text())
            return result
        finally:
            path.unlink(missing_ok=True)

    def attempt(self, key: tuple[str, ...], name: str, params: dict[str, Any]) -> bool:
        """Run a task into ``results[key…]``; a failure is written down, not fatal."""
        target = self.results
        for part in key[:-1]:
            target = target.setdefault(part, {})
        try:
            target[key[-1]] = self.task(name, params)
            return True
        except TaskFailed as e:
            target[key[-1]] = {"error": str(e)}
            self.notes.append(f"{'/'.join(key)}: not measured — {e}")
            return False

    # --- areas -------------------------------------------------------------------------

    def baselines(self, when: str) -> None:
        """Raw verify rates, measured at the start and again at the end of the run: a busy
        machine only lowers a rate, so ratios use the higher of the two."""
        self.say(f"baselines ({when}): raw Ed25519 verify, one core and every core")
        if not self.attempt(("baselines", when), "baselines", {"seconds": 3.0}):
            return
        runs = [
            r
            for r in self.results["baselines"].values()
            if isinstance(r, dict) and "verify_one_core_per_s" in r
        ]
        for key in ("verify_one_core_per_s", "verify_all_cores_per_s", "verify_processes"):
            self.results["baselines"][key] = max(r[key] for r in runs)

    def ingest(self, postgres_reason: str | None) -> None:
        self.say("ingestion over HTTP, SQLite")
        self.attempt(
            ("ingest", "sqlite"), "ingest", {"backend": "sqlite", "quick": self.options.quick}
        )
        if postgres_reason is not None:
            self.results.setdefault("ingest", {})["postgres"] = {"skipped": postgres_reason}
            self.notes.append(f"PostgreSQL parts skipped: {postgres_reason}")
            return
        self.say("ingestion over HTTP, PostgreSQL")
        self.attempt(
            ("ingest", "postgres"),
            "ingest",
            {
                "backend": "postgres",
                "quick": self.options.quick,
                "postgres_url": self.options.postgres_url,
            },
        )

    def big_ledger(self) -> dict[str, bigledger.BigLedger] | None:
        """The cached big ledger and its copies, built first if absent."""
        o = self.options
        root = bigledger.cache_dir(o.size, o.cache)
        manifest = bigledger.read_manifest(root)
        built_now = manifest is None
        if manifest is None or manifest.timeline_rows != o.timeline_rows:
            self.say(f"building the big ledger of {o.size:,} entries into {root} (cached after)")
            try:
                built = self.task(
                    "build",
                    {
                        "root": str(root),
                        "entries": o.size,
                        "timeline_rows": o.timeline_rows,
                        "matter_events": o.matter_events,
                    },
                )
            except TaskFailed as e:
                self.results["big_ledger"] = {"error": str(e)}
                self.notes.append(f"the big ledger could not be built: {e}")
                return None
            manifest = bigledger.read_manifest(root)
            assert manifest is not None
            self.results["big_ledger"] = {**built, "built_now": True, "cache": str(root)}
        else:
            self.say(f"using the cached big ledger {root} (built {manifest.built_at})")
            self.results["big_ledger"] = {
                **vars(manifest),
                "built_now": built_now,
                "cache": str(root),
            }
        return manifest.ledgers(root)

    @staticmethod
    def _params(big: bigledger.BigLedger) -> dict[str, Any]:
        return {
            "data_dir": str(big.data_dir),
            "entries": big.entries,
            "timeline_rows": big.timeline_rows,
            "matter_events": big.matter_events,
        }

    def rebuild(self, ledgers: dict[str, bigledger.BigLedger]) -> None:
        full, small = ledgers["full"], ledgers["small"]
        self.say("projection rebuild: library read-and-decode rate of the log")
        self.attempt(("rebuild", "read_decode"), "read_decode", self._params(full))
        for key, big in (("small", small), ("full", full)):
            self.say(f"projection rebuild: every view, {big.entries:,} entries")
            self.attempt(("rebuild", key), "catch_up", self._params(big))
        self.say("projection rebuild: `projections rebuild timeline` on the small ledger")
        self.attempt(
            ("rebuild", "product"),
            "product_rebuild",
            {
                **self._params(small),
                "view": "timeline",
                "budget_seconds": self.options.rebuild_budget,
            },
        )
        self.say("start-up replay (Ledger.warm_up) on the small ledger")
        self.attempt(("rebuild", "warm_up"), "warm_up", self._params(small))

    def audit(self, ledgers: dict[str, bigledger.BigLedger]) -> None:
        small = ledgers["small"]
        self.say(f"audit: ledgerctl verify, {small.entries:,} entries")
        if not self.attempt(("audit", "small"), "audit", self._params(small)):
            return
        per_s = float(self.results["audit"]["small"]["entries_per_s"])
        budget = self.options.audit_budget(
            built_now=bool(self.results.get("big_ledger", {}).get("built_now"))
        )
        for key, big in ledgers.items():
            if key == "small":
                continue
            expected = big.entries / per_s
            if expected <= budget:
                self.say(f"audit: ledgerctl verify, {big.entries:,} entries")
                self.attempt(("audit", key), "audit", self._params(big))
                return
            self.notes.append(
                f"audit of {big.entries:,} entries not run: at the rate measured on "
                f"{small.entries:,} ({per_s:,.0f}/s) it would take about {expected:.0f} s, "
                f"over this area's budget of {budget:.0f} s; measured on a copy of the same "
                "log at a smaller size instead"
            )

    def reads(self, full: bigledger.BigLedger) -> None:
        self.say("reads: proofs, timeline, matter (server side, then over HTTP)")
        self.attempt(("reads",), "reads", {**self._params(full), "runs": self.options.read_runs})

    def _check_baselines(self) -> None:
        base = self.results.get("baselines", {})
        one, every = base.get("verify_one_core_per_s"), base.get("verify_all_cores_per_s")
        cores = base.get("verify_processes") or 1
        if one and every and cores > 1 and every < 0.8 * cores * one:
            self.notes.append(
                f"the all-core verify baseline reached {every / one:.2f}× one core's rate on "
                f"{cores} cores: other work was using the cores while it ran, so ratios to it "
                "flatter the ledger"
            )

    # --- the run -----------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        o = self.options
        started = time.perf_counter()
        bench_url, pg_version = pg.bench_database(o.postgres_url)
        postgres_reason = None if bench_url else pg_version
        described = machine.describe(pg_version if bench_url else None)
        self.notes += method_notes(o)
        self.baselines("start")
        if o.wants("ingest"):
            self.ingest(postgres_reason)
        if any(o.wants(a) for a in ("rebuild", "audit", "reads")):
            ledgers = self.big_ledger()
            if ledgers is not None:
                if o.wants("rebuild"):
                    self.rebuild(ledgers)
                if o.wants("audit"):
                    self.audit(ledgers)
                if o.wants("reads"):
                    self.reads(ledgers["full"])
        self.baselines("end")
        self._check_baselines()
        seconds = time.perf_counter() - started
        run = {
            "mode": "quick" if o.quick else "full",
            "entries": o.size,
            "areas": sorted(o.only) if o.only else list(AREAS),
            "seconds": round(seconds, 1),
            "load_average_at_end": machine.load_average(),
            "command": "ledgerctl bench" + (" --quick" if o.quick else ""),
        }
        return report.build(described, run, self.results, self.notes)


def method_notes(o: Options) -> list[str]:
    """How each number was obtained, written into every report."""
    return [
        "Each measurement runs in a process of its own; peak RSS is that process's VmHWM "
        "(servers: their own, read before they stop; `ledgerctl verify`: the child's "
        "maximum resident set from the kernel).",
        "Ingestion: `ledgerctl serve` (one uvicorn worker, integrating the log, projections "
        "off — in production they run in their own process) on a fresh ledger whose registry "
        "was stored beforehand; clients are threads of one process on the same 2 cores, with "
        "requests signed before the clock starts; each client is one agency's system with "
        "its writer token. The per-token rate limit (200/s by default) is lifted: it is a "
        "policy, not a capacity. Latency is per request (a batch is one request).",
        "Plain eventsourcing baseline: the library's Application with one Aggregate per "
        "subject whose events carry the statement dict (no signature, no chain, no checks), "
        "subjects kept in memory, one save per request; served by the same FastAPI + uvicorn "
        "stack for the HTTP figures, and called in-process for the others.",
        "Raw Ed25519 verify: `cryptography` over real statement messages with the public "
        "keys loaded once; all cores = one process per core (multiprocessing).",
        "Rebuild: the projection runner with every view (matters, custody, timeline) from "
        "index 0 into empty databases in one pass over the log; `ledgerctl projections "
        f"rebuild timeline` itself is measured on 1/8 of the ledger with a budget of "
        f"{o.rebuild_budget:.0f} s. Raw read-and-decode: the library recorder's "
        "select_notifications pages, each state decoded by its JSONTranscoder.",
        "Reads over HTTP: the ledger's own FastAPI app served by uvicorn around the ledger "
        "opened without the start-up replay (which only appends need; its rate is the "
        "warm_up row); one client, keep-alive, sequential requests. Server side: the same "
        "calls in-process (TransparencyLog proofs, ReadModels reads), no HTTP or JSON.",
        f"Memory 'flat' means the peak at the largest size measured is at most "
        f"{report.FLAT_MEMORY_RATIO}× the peak at 1/8 of the ledger (copies of the same log "
        "are kept as the build passes 1/8, 1/4 and 1/2 of it).",
        "The machine is shared: other work may run at the same time (see the load averages).",
    ]


def write(report_: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """``latest.md`` and ``latest.json`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    md, js = out / "latest.md", out / "latest.json"
    md.write_text(report.markdown(report_) + "\n", "utf-8")
    js.write_text(json.dumps(report_, indent=1, ensure_ascii=False, default=str) + "\n", "utf-8")
    return md, js
