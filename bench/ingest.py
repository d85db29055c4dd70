"""Ingestion over real HTTP: ``ledgerctl serve`` (uvicorn, loopback) on a fresh ledger, fed
by agencies' systems — single appends from several concurrent clients, then batches of 100
and of 1,000 — beside the plain eventsourcing application served the same way and stored
in-process, on the same statements.

The workload is signed once, before anything is timed: a province's registry (stored
in-process before the server starts, not measured) and its matters, each agency's matters
kept within the agency so that each request carries that agency's writer token. Clients
are threads with keep-alive connections, each owning whole agencies (so whole subjects):
their requests never race for a subject's head. Every request is timed end to end, from
before the POST to the parsed answer.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.baselines import plain_rates
from bench.bigledger import append_all, initialise_province
from bench.dataset import Province, Stream, registry_script
from bench.measure import latency_summary, peak_rss_mb, rate
from bench.server import Served, serve_factory, serve_ledger
from ledger.application import Ledger
from ledger.canonical import jcs
from ledger.settings import Settings
from ledger.tokens import TokenStore

# (agency, request body, entries in it)
Request = tuple[str, bytes, int]


@dataclass(frozen=True)
class Sizes:
    """How many entries each phase sends, and by how many concurrent clients."""

    warm: int = 300
    single: int = 5000
    batch_100: int = 15_000
    batch_1000: int = 32_000
    single_clients: int = 4
    batch_clients: int = 2

    @classmethod
    def quick(cls) -> Sizes:
        return cls(warm=100, single=800, batch_100=2000, batch_1000=6000)


@dataclass
class Workload:
    """Signed requests per phase and client, and the registry to store beforehand."""

    registry: list[dict[str, Any]]
    agencies: list[str]
    genesis_at: str
    phases: dict[str, list[list[Request]]] = field(default_factory=dict)
    statements: list[dict[str, Any]] = field(default_factory=list)  # for the in-process plain

    def entries(self, phase: str) -> int:
        return sum(n for client in self.phases[phase] for _, _, n in client)


def workload(sizes: Sizes) -> Workload:
    """Sign a province's registry and enough matters for every phase (nothing timed)."""
    targets = {
        "warm": sizes.warm,
        "single": sizes.single,
        "batch_100": sizes.batch_100,
        "batch_1000": sizes.batch_1000,
    }
    # Four agencies: each single-append client is one agency's system, each batch client
    # two agencies', and every agency has enough matters to fill batches of 1,000.
    province = Province(agencies=4)
    registry_size = sum(1 for _ in registry_script(province))
    # Open matters at the end of the stream are left as they are (a few unfinished lives).
    stream = Stream(
        registry_size + sum(targets.values()) + 1,
        timeline_rows=0,
        matter_events=0,
        external=0.0,
        concurrent_matters=60,
        province=province,
    )
    agency_of = stream.agency_of()
    envelopes = list(stream.envelopes())
    registry, matters = envelopes[:registry_size], envelopes[registry_size:]
    # Whole subjects go to one phase, taken in order of first appearance.
    phase_of: dict[str, str] = {}
    counts: dict[str, int] = defaultdict(int)
    order = list(targets)
    current = 0
    for env in matters:
        subject = env["statement"]["subject"]
        if subject not in phase_of:
            while current < len(order) - 1 and counts[order[current]] >= targets[order[current]]:
                current += 1
            phase_of[subject] = order[current]
        counts[phase_of[subject]] += 1
    agencies = [a.id for a in stream.province.agencies]
    by_phase_agency: dict[str, dict[str, list[dict[str, Any]]]] = {
        p: defaultdict(list) for p in targets
    }
    for env in matters:
        statement = env["statement"]
        by_phase_agency[phase_of[statement["subject"]]][agency_of[statement["actor"]]].append(env)
    result = Workload(
        registry, agencies, stream.genesis_at, statements=[e["statement"] for e in matters]
    )
    for phase, per_agency in by_phase_agency.items():
        size = {"batch_100": 100, "batch_1000": 1000}.get(phase, 1)
        clients = sizes.batch_clients if size > 1 else sizes.single_clients
        result.phases[phase] = _requests(per_agency, agencies, clients, size)
    return result


def _requests(
    per_agency: dict[str, list[dict[str, Any]]], agencies: Sequence[str], clients: int, size: int
) -> list[list[Request]]:
    """Each client's requests: agencies dealt round-robin to clients; a client's requests
    interleave its agencies', each request holding ``size`` envelopes of one agency."""
    out: list[list[Request]] = []
    for c in range(clients):
        queues: list[list[Request]] = []
        for agency in agencies[c::clients]:
            envs = per_agency.get(agency, [])
            if size > 1:
                # Whole batches only. Dropping the end of an agency's statements leaves
                # every subject a prefix of its chain, which the ledger accepts as it is.
                envs = envs[: len(envs) // size * size]
            queue: list[Request] = []
            for i in range(0, len(envs), size):
                chunk = envs[i : i + size]
                body = jcs(chunk[0]) if size == 1 else b"[" + b",".join(map(jcs, chunk)) + b"]"
                queue.append((agency, body, len(chunk)))
            queues.append(queue)
        mixed: list[Request] = []
        for k in range(max((len(q) for q in queues), default=0)):
            mixed += [q[k] for q in queues if k < len(q)]
        out.append(mixed)
    return out


# --- driving a server -------------------------------------------------------------------


@dataclass
class _ClientRun:
    latencies: list[float] = field(default_factory=list)
    entries: int = 0
    errors: int = 0
    first_error: str | None = None


def drive(
    url: str, path: str, clients: list[list[Request]], tokens: dict[str, str]
) -> dict[str, Any]:
    """Send every client's requests concurrently (one thread and connection each); the
    throughput in entries/s over the whole phase and each request's latency."""
    runs = [_ClientRun() for _ in clients]
    barrier = threading.Barrier(len(clients) + 1)

    def client(requests: list[Request], run: _ClientRun) -> None:
        with httpx.Client(base_url=url, timeout=60.0) as http:
            http.get("/healthz")  # open the keep-alive connection before the clock starts
            barrier.wait()
            for agency, body, count in requests:
                headers = {
                    "Authorization": f"Bearer {tokens.get(agency, 'none')}",
                    "Content-Type": "application/json",
                }
                start = time.perf_counter()
                response = http.post(path, content=body, headers=headers)
                answer = response.json()
                run.latencies.append(time.perf_counter() - start)
                failed = _failures(response.status_code, answer, count)
                run.entries += count - failed
                if failed:
                    run.errors += failed
                    run.first_error = run.first_error or response.text[:500]

    threads = [
        threading.Thread(target=client, args=(requests, run), daemon=True)
        for requests, run in zip(clients, runs, strict=True)
    ]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    entries = sum(r.entries for r in runs)
    errors = sum(r.errors for r in runs)
    return {
        "clients": len(clients),
        "requests": sum(len(r.latencies) for r in runs),
        "entries": entries,
        "seconds": elapsed,
        "entries_per_s": rate(entries, elapsed),
        "latency": latency_summary([s for r in runs for s in r.latencies]),
        "errors": errors,
        "first_error": next((r.first_error for r in runs if r.first_error), None),
    }


def _failures(status: int, answer: Any, count: int) -> int:
    """How many of the request's entries were not stored (items of a batch answer 200 with
    a receipt or a problem each)."""
    if status >= 300:
        return count
    if isinstance(answer, list):
        return sum(1 for item in answer if not isinstance(item, dict) or "type" in item)
    return 0


def _phases(
    served: Served, work: Workload, tokens: dict[str, str], note: Callable[[str], None]
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for phase, path in (
        ("warm", "/v1/events"),
        ("single", "/v1/events"),
        ("batch_100", "/v1/events:batch"),
        ("batch_1000", "/v1/events:batch"),
    ):
        note(f"  {phase}: {work.entries(phase):,} entries")
        results[phase] = drive(served.url, path, work.phases[phase], tokens)
    results.pop("warm")
    return results


# --- one backend ------------------------------------------------------------------------


def _prepare_ledger(data_dir: Path, database_url: str | None, work: Workload) -> dict[str, str]:
    """Initialise the province's ledger, store its registry, make a writer token per agency."""
    settings = Settings.load(data_dir, database_url=database_url or "", integrate=False)
    initialise_province(settings, work.genesis_at)
    ledger = Ledger(settings.effective_database_url)
    try:
        ledger.warm_up()
        for i in range(0, len(work.registry), 1000):
            append_all(ledger, work.registry[i : i + 1000])
        store = TokenStore(ledger.recorder)
        return {
            agency: store.create("writer", agency_id=agency, label="bench")[1]
            for agency in work.agencies
        }
    finally:
        ledger.close()


def ingest_ledger(
    work: Workload, database_url: str | None, scratch: Path, note: Callable[[str], None]
) -> dict[str, Any]:
    """The ledger over HTTP on SQLite (``database_url`` None) or a PostgreSQL schema URL."""
    data_dir = scratch / "ledger"
    tokens = _prepare_ledger(data_dir, database_url, work)
    # Projections run in a process of their own in production (``projections run``); the
    # server integrates the log and signs checkpoints, as ``ledgerctl serve`` does.
    served = serve_ledger(
        data_dir, scratch / "ledger-serve.log", database_url=database_url, projections=False
    )
    with served:
        served.wait_ready()
        results = _phases(served, work, tokens, note)
        results["server_peak_rss_mb"] = served.peak_rss_mb()
    return results


def ingest_plain_http(
    work: Workload, database_url: str, scratch: Path, note: Callable[[str], None]
) -> dict[str, Any]:
    """The plain eventsourcing application behind FastAPI and uvicorn, same requests."""
    served = serve_factory(
        "bench.apps:plain_app",
        scratch / "plain-serve.log",
        {"BENCH_PLAIN_DATABASE_URL": database_url},
    )
    with served:
        served.wait_ready()
        results = _phases(served, work, {}, note)
        results["server_peak_rss_mb"] = served.peak_rss_mb()
    return results


def ingest_plain_inprocess(work: Workload, database_url: str) -> dict[str, float]:
    """The plain application in this process: one save per statement, then per batch (a
    third of the statements, at most 10,000, for each)."""
    statements = work.statements[:30_000]
    envelopes = [{"statement": s} for s in statements]
    return plain_rates(database_url, envelopes, [100, 1000])


def run(
    backend: str,
    *,
    quick: bool,
    postgres_url: str | None = None,
    note: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Every ingestion measurement on ``backend`` (``sqlite`` or ``postgres``)."""
    sizes = Sizes.quick() if quick else Sizes()
    note(f"signing the ingestion workload ({backend})")
    work = workload(sizes)
    result: dict[str, Any] = {
        "backend": backend,
        "sizes": {k: v for k, v in vars(sizes).items()},
        "workload_entries": {p: work.entries(p) for p in work.phases},
    }
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        scratch = Path(tmp)
        if backend == "sqlite":
            note("ledger over HTTP (SQLite)")
            result["ledger_http"] = ingest_ledger(work, None, scratch, note)
            note("plain eventsourcing over HTTP (SQLite)")
            result["plain_http"] = ingest_plain_http(
                work, f"sqlite:///{scratch / 'plain-http.db'}", scratch, note
            )
            note("plain eventsourcing in-process (SQLite)")
            result["plain_inprocess"] = ingest_plain_inprocess(
                work, f"sqlite:///{scratch / 'plain.db'}"
            )
        else:
            result.update(_postgres(work, postgres_url, scratch, note))
    result["driver_peak_rss_mb"] = peak_rss_mb()
    return result


def _postgres(
    work: Workload, postgres_url: str | None, scratch: Path, note: Callable[[str], None]
) -> dict[str, Any]:
    from bench import pg

    result: dict[str, Any] = {}
    assert postgres_url is not None
    bench_url, version = pg.bench_database(postgres_url)
    if bench_url is None:
        result["skipped"] = version
        return result
    result["postgres_version"] = version
    schemas: list[str] = []
    try:
        note("ledger over HTTP (PostgreSQL)")
        url, schema = pg.fresh_schema(bench_url, "bench_ledger")
        schemas.append(schema)
        result["ledger_http"] = ingest_ledger(work, url, scratch, note)
        note("plain eventsourcing over HTTP (PostgreSQL)")
        url, schema = pg.fresh_schema(bench_url, "bench_plain")
        schemas.append(schema)
        result["plain_http"] = ingest_plain_http(work, url, scratch, note)
        note("plain eventsourcing in-process (PostgreSQL)")
        url, schema = pg.fresh_schema(bench_url, "bench_plain")
        schemas.append(schema)
        result["plain_inprocess"] = ingest_plain_inprocess(work, url)
    finally:
        for schema in schemas:
            pg.drop_schema(bench_url, schema)
    return result
