"""The results: issue 6's targets judged against what was measured, the tables, the JSON.

Pure functions of the measurements (no clock, no I/O): ``targets`` judges, ``build``
assembles the report, ``markdown`` renders it. The JSON is the report itself; the markdown
shows the same numbers, formatted by ``show``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

# "Flat" memory: at the full size (8× the entries) the peak is at most this much higher.
FLAT_MEMORY_RATIO = 1.25
READ_P99_MS = 100.0
PROOF_P99_MS = 5.0

READS = (
    ("inclusion_proof", "inclusion proof"),
    ("consistency_proof", "consistency proof"),
    ("timeline_page", "timeline, one page of 1,000 rows"),
    ("timeline_all", "timeline, every row (all pages: several requests)"),
    ("matter", "matter"),
    ("custody", "custody of the matter"),
    ("healthz", "HTTP floor: GET /healthz (does nothing; same stack and client)"),
)


@dataclass(frozen=True)
class Target:
    """One of issue 6's targets: what was measured and whether it meets the bound."""

    key: str
    what: str
    measured: float | None
    op: str  # ">=" or "<" or "<="
    bound: float
    unit: str  # "/s", "ms", "ratio", "MB"
    note: str = ""

    @property
    def met(self) -> bool | None:
        if self.measured is None:
            return None
        if self.op == ">=":
            return self.measured >= self.bound
        if self.op == "<":
            return self.measured < self.bound
        return self.measured <= self.bound

    @property
    def verdict(self) -> str:
        return {True: "met", False: "NOT met", None: "not measured"}[self.met]

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "what": self.what,
            "measured": self.measured,
            "op": self.op,
            "bound": self.bound,
            "unit": self.unit,
            "met": self.met,
            "verdict": self.verdict,
            "note": self.note,
        }


def show(value: float | None, unit: str) -> str:
    """A number as the tables print it."""
    if value is None:
        return "–"
    if unit == "/s":
        return f"{value:,.0f}/s"
    if unit == "ms":
        return f"{value:.2f} ms"
    if unit == "ratio":
        return f"{value:.2f}"
    if unit == "MB":
        return f"{value:,.0f} MB"
    if unit == "s":
        return f"{value:,.1f} s"
    return f"{value:,.0f}"


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _ratio(a: Any, b: Any) -> float | None:
    if isinstance(a, int | float) and isinstance(b, int | float) and b:
        return float(a) / float(b)
    return None


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


SIZES = ("full", "half", "quarter")  # the ledger and its copies, largest first


def largest(area: Any) -> tuple[str, dict[str, Any]] | None:
    """The largest size an area was measured at (beside the 1/8 copy), and its result."""
    for key in SIZES:
        data = _get(area, key)
        if isinstance(data, dict) and "entries_per_s" in data:
            return key, data
    return None


def _memory_target(area: str, results: dict[str, Any]) -> Target:
    big = largest(results.get(area))
    small = _get(results, area, "small") or {}
    big_data = big[1] if big else {}
    entries, small_entries = big_data.get("entries"), small.get("entries")
    sizes = (
        f"{entries:,} entries ÷ at {small_entries:,}"
        if isinstance(entries, int) and isinstance(small_entries, int)
        else "the largest size ÷ at 1/8 of the ledger"
    )
    return Target(
        f"memory_flat_{area}",
        f"{area}: peak memory at {sizes}",
        _ratio(big_data.get("peak_rss_mb"), small.get("peak_rss_mb")),
        "<=",
        FLAT_MEMORY_RATIO,
        "ratio",
    )


def targets(results: dict[str, Any]) -> list[Target]:
    """Issue 6's targets, each judged on the measurement it names."""
    one_core = _get(results, "baselines", "verify_one_core_per_s")
    all_cores = _get(results, "baselines", "verify_all_cores_per_s")
    sqlite = _get(results, "ingest", "sqlite", "ledger_http") or {}
    batch = _get(sqlite, "batch_1000", "entries_per_s")
    single = _get(sqlite, "single", "entries_per_s")
    out = [
        Target(
            "batch_sqlite",
            "batch ingestion on SQLite over HTTP (batches of 1,000)",
            _num(batch),
            ">=",
            3000,
            "/s",
        ),
        Target(
            "batch_vs_verify",
            "batch ingestion ÷ one core's raw Ed25519 verify rate",
            _ratio(batch, one_core),
            ">=",
            0.5,
            "ratio",
        ),
        Target(
            "single_sqlite",
            "single appends on SQLite over HTTP (several clients)",
            _num(single),
            ">=",
            500,
            "/s",
        ),
        Target(
            "single_p99",
            "single append latency p99 (SQLite, over HTTP)",
            _num(_get(sqlite, "single", "latency", "p99_ms")),
            "<",
            20,
            "ms",
        ),
        Target(
            "rebuild",
            "projection rebuild, every view, full ledger",
            _num(_get(results, "rebuild", "full", "entries_per_s")),
            ">=",
            20000,
            "/s",
        ),
        Target(
            "rebuild_product",
            "`ledgerctl projections rebuild` of one view (small ledger)",
            _num(_get(results, "rebuild", "product", "entries_per_s")),
            ">=",
            20000,
            "/s",
            note=""
            if _get(results, "rebuild", "product", "completed") in (True, None)
            else "stopped at its time budget; the rate is over the entries it reached",
        ),
        Target(
            "audit_vs_verify",
            "audit (`ledgerctl verify`) ÷ all cores' raw Ed25519 verify rate",
            _ratio(_audit_rate(results), all_cores),
            ">=",
            0.6,
            "ratio",
        ),
    ]
    for side, label in (("server_side", "server side"), ("http", "over HTTP")):
        for key in ("inclusion_proof", "consistency_proof"):
            out.append(
                Target(
                    f"{key}_{side}",
                    f"{key.replace('_', ' ')} p99, {label}",
                    _num(_get(results, "reads", side, key, "p99_ms")),
                    "<",
                    PROOF_P99_MS,
                    "ms",
                )
            )
        for key in ("timeline_page", "matter", "custody"):
            name = dict(READS)[key]
            out.append(
                Target(
                    f"read_{key}_{side}",
                    f"{name} p99, {label}",
                    _num(_get(results, "reads", side, key, "p99_ms")),
                    "<",
                    READ_P99_MS,
                    "ms",
                )
            )
    out += [_memory_target("rebuild", results), _memory_target("audit", results)]
    return out


def _audit_rate(results: dict[str, Any]) -> Any:
    found = largest(results.get("audit"))
    return None if found is None else found[1].get("entries_per_s")


def build(
    machine: dict[str, Any],
    run: dict[str, Any],
    results: dict[str, Any],
    notes: Sequence[str] = (),
) -> dict[str, Any]:
    """The whole report: machine, run, judged targets, ratios, raw results, notes."""
    return {
        "machine": machine,
        "run": run,
        "targets": [t.to_json() for t in targets(results)],
        "ratios": ratios(results),
        "results": results,
        "notes": list(notes),
    }


def ratios(results: dict[str, Any]) -> dict[str, float | None]:
    """The ledger beside its baselines."""
    out: dict[str, float | None] = {}
    one_core = _get(results, "baselines", "verify_one_core_per_s")
    for backend in ("sqlite", "postgres"):
        ingest = _get(results, "ingest", backend) or {}
        for phase in ("single", "batch_100", "batch_1000"):
            ledger = _get(ingest, "ledger_http", phase, "entries_per_s")
            out[f"{backend}_{phase}_vs_plain_http"] = _ratio(
                ledger, _get(ingest, "plain_http", phase, "entries_per_s")
            )
            out[f"{backend}_{phase}_vs_plain_inprocess"] = _ratio(
                ledger, _get(ingest, "plain_inprocess", phase)
            )
            out[f"{backend}_{phase}_vs_verify_one_core"] = _ratio(ledger, one_core)
    out["rebuild_vs_read_decode"] = _ratio(
        _get(results, "rebuild", "full", "entries_per_s"),
        _get(results, "rebuild", "read_decode", "entries_per_s"),
    )
    out["audit_vs_verify_all_cores"] = _ratio(
        _audit_rate(results), _get(results, "baselines", "verify_all_cores_per_s")
    )
    out["audit_vs_verify_one_core"] = _ratio(_audit_rate(results), one_core)
    return out


# --- markdown ---------------------------------------------------------------------------


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def target_row(t: dict[str, Any]) -> list[str]:
    """A target's row: what, measured, bound, verdict (shared with the test)."""
    sign = {">=": "≥", "<": "<"}.get(t["op"], "≤")
    bound = f"{sign} {show(t['bound'], t['unit'])}"
    verdict = t["verdict"] if not t["note"] else f"{t['verdict']} ({t['note']})"
    return [t["what"], show(t["measured"], t["unit"]), bound, f"**{verdict}**"]


def markdown(report: dict[str, Any]) -> str:
    """The report as the markdown committed under bench/results/."""
    machine, run, results = report["machine"], report["run"], report["results"]
    lines = [
        "# Benchmark results (issue 6)",
        "",
        f"Run {machine.get('date')} at commit `{str(machine.get('git_commit'))[:12]}`"
        + (
            f" with uncommitted changes to {', '.join(machine.get('git_modified_files') or [])}"
            if machine.get("git_tracked_changes")
            else " (a clean checkout)"
        )
        + f", mode **{run.get('mode')}**, big ledger of **{show(run.get('entries'), '')}**"
        f" entries; the whole run took {show(run.get('seconds'), 's')}.",
        "",
    ]
    big = results.get("big_ledger")
    if isinstance(big, dict) and "build_seconds" in big:
        copies = ", ".join(f"{n:,}" for n in (big.get("copies") or {}).values())
        when = "in this run" if big.get("built_now") else f"on {big.get('built_at')}, cached"
        lines += [
            f"The big ledger ({show(big.get('entries'), '')} entries; copies of the same log at "
            f"{copies}) was built {when}: {show(big.get('build_seconds'), 's')}, "
            f"{show(big.get('build_rate'), '/s')}, through `Ledger.append_batch` in-process "
            f"(signing in a second process), into `{big.get('cache')}`.",
            "",
        ]
    lines += [
        "## Machine",
        "",
    ]
    lines += _table(
        ("", ""),
        [
            ("CPU", f"{machine.get('cpu')}, {machine.get('cores')} cores"),
            ("memory", f"{machine.get('memory_gb')} GB"),
            ("OS", str(machine.get("os"))),
            ("Python", str(machine.get("python"))),
            ("SQLite", str(machine.get("sqlite"))),
            ("PostgreSQL (server)", str(machine.get("postgresql") or "not reached")),
            (
                "eventsourcing / cryptography",
                f"{machine.get('eventsourcing')} / {machine.get('cryptography')}",
            ),
            ("FastAPI / uvicorn", f"{machine.get('fastapi')} / {machine.get('uvicorn')}"),
            (
                "load average (1, 5, 15 min)",
                f"{machine.get('load_average_at_start')} at start, "
                f"{run.get('load_average_at_end')} at the end",
            ),
        ],
    )
    lines += ["## Targets", ""]
    lines += _table(
        ("target", "measured", "bound", "verdict"), [target_row(t) for t in report["targets"]]
    )
    lines += _ingest_section(results, report["ratios"])
    lines += _rebuild_section(results, report["ratios"])
    lines += _audit_section(results, report["ratios"])
    lines += _reads_section(results)
    lines += _memory_section(results)
    if report["notes"]:
        lines += ["## Notes", ""] + [f"- {n}" for n in report["notes"]] + [""]
    return "\n".join(lines)


def _ingest_section(results: dict[str, Any], ratio: dict[str, float | None]) -> list[str]:
    base = results.get("baselines") or {}
    lines = [
        "## 1. Ingestion over HTTP",
        "",
        f"Raw Ed25519 verify (`cryptography`): one core "
        f"{show(base.get('verify_one_core_per_s'), '/s')}, all cores "
        f"({base.get('verify_processes')} processes) "
        f"{show(base.get('verify_all_cores_per_s'), '/s')}" + _baseline_runs(base) + ".",
        "",
    ]
    for backend, title in (("sqlite", "SQLite"), ("postgres", "PostgreSQL")):
        data = _get(results, "ingest", backend)
        lines += [f"### {title}", ""]
        if not isinstance(data, dict) or "ledger_http" not in data:
            why = _get(data, "skipped") or _get(data, "error") or "not run"
            lines += [f"Not measured: {why}", ""]
            continue
        rows = []
        for phase, label in (
            ("single", "single appends"),
            ("batch_100", "batches of 100"),
            ("batch_1000", "batches of 1,000"),
        ):
            led = data["ledger_http"].get(phase) or {}
            plain = _get(data, "plain_http", phase) or {}
            rows.append(
                [
                    f"{label} ({led.get('clients')} clients, "
                    f"{show(led.get('entries'), '')} entries)",
                    show(led.get("entries_per_s"), "/s"),
                    show(_get(led, "latency", "p50_ms"), "ms"),
                    show(_get(led, "latency", "p99_ms"), "ms"),
                    show(plain.get("entries_per_s"), "/s"),
                    show(_get(plain, "latency", "p99_ms"), "ms"),
                    show(_get(data, "plain_inprocess", phase), "/s"),
                    show(ratio.get(f"{backend}_{phase}_vs_plain_http"), "ratio"),
                    show(ratio.get(f"{backend}_{phase}_vs_verify_one_core"), "ratio"),
                    str(led.get("errors", "–")),
                ]
            )
        lines += _table(
            (
                "ledger, over HTTP",
                "entries/s",
                "p50 (per request)",
                "p99",
                "plain ES over HTTP",
                "its p99",
                "plain ES in-process",
                "ledger ÷ plain HTTP",
                "ledger ÷ 1-core verify",
                "refused",
            ),
            rows,
        )
        lines += [
            f"Server peak RSS: ledger {show(_get(data, 'ledger_http', 'server_peak_rss_mb'), 'MB')}"
            f", plain {show(_get(data, 'plain_http', 'server_peak_rss_mb'), 'MB')}; "
            f"load generator {show(data.get('driver_peak_rss_mb'), 'MB')}.",
            "",
        ]
    return lines


def _baseline_runs(base: dict[str, Any]) -> str:
    runs = [
        f"{when} {show(run.get('verify_one_core_per_s'), '/s')} and "
        f"{show(run.get('verify_all_cores_per_s'), '/s')}"
        for when, run in base.items()
        if isinstance(run, dict) and "verify_one_core_per_s" in run
    ]
    return (
        f" (the higher of two runs — {'; '.join(runs)} — used in ratios)" if len(runs) > 1 else ""
    )


def _rebuild_section(results: dict[str, Any], ratio: dict[str, float | None]) -> list[str]:
    rebuild = results.get("rebuild")
    lines = ["## 2. Projection rebuild", ""]
    if not isinstance(rebuild, dict):
        return [*lines, "Not measured.", ""]
    rows = []
    for key, label in (
        ("full", "every view, one pass, into empty databases (full ledger)"),
        ("small", "the same at 1/8 of the ledger"),
        ("product", "`ledgerctl projections rebuild` of one view (1/8 of the ledger)"),
        ("warm_up", "`ledgerctl serve` start-up replay, `Ledger.warm_up` (1/8)"),
        ("read_decode", "library raw read-and-decode of the same log (full ledger)"),
    ):
        data = rebuild.get(key)
        if not isinstance(data, dict):
            continue
        entries = show(data.get("entries"), "")
        if key == "product":
            label = label.replace("one view", f"`{data.get('view')}`")
            if data.get("completed") is False:
                entries += f" of {show(data.get('of'), '')} (stopped at its budget)"
        rows.append(
            [
                label,
                entries,
                show(data.get("seconds"), "s"),
                show(data.get("entries_per_s"), "/s"),
                show(data.get("peak_rss_mb"), "MB"),
            ]
        )
    lines += _table(("what", "entries", "time", "entries/s", "peak RSS"), rows)
    lines += [
        f"Rebuild ÷ raw read-and-decode: {show(ratio.get('rebuild_vs_read_decode'), 'ratio')}.",
        "",
    ]
    return lines


def _audit_section(results: dict[str, Any], ratio: dict[str, float | None]) -> list[str]:
    audit = results.get("audit")
    lines = ["## 3. Audit (`ledgerctl verify`)", ""]
    if not isinstance(audit, dict):
        return [*lines, "Not measured.", ""]
    rows = []
    for key, label in (
        ("full", "the ledger"),
        ("half", "1/2 of the ledger"),
        ("quarter", "1/4 of the ledger"),
        ("small", "1/8 of the ledger"),
    ):
        data = audit.get(key)
        if isinstance(data, dict):
            rows.append(
                [
                    label,
                    show(data.get("entries"), ""),
                    show(data.get("seconds"), "s"),
                    show(data.get("entries_per_s"), "/s"),
                    show(data.get("peak_rss_mb"), "MB"),
                    f"exit {data.get('exit_code')}: {str(data.get('summary'))[:60]}",
                ]
            )
    lines += _table(("ledger", "entries", "time", "entries/s", "peak RSS", "result"), rows)
    lines += [
        "Audit ÷ all cores' raw verify: "
        f"{show(ratio.get('audit_vs_verify_all_cores'), 'ratio')}; ÷ one core's: "
        f"{show(ratio.get('audit_vs_verify_one_core'), 'ratio')}.",
        "",
    ]
    return lines


def _reads_section(results: dict[str, Any]) -> list[str]:
    reads = results.get("reads")
    lines = ["## 4. Reads", ""]
    if not isinstance(reads, dict):
        return [*lines, "Not measured.", ""]
    facts = reads.get("facts") or {}
    lines += [
        f"Tree size {show(facts.get('tree_size'), '')}; the official's timeline has "
        f"{show(facts.get('timeline_rows'), '')} rows; the matter has "
        f"{show(facts.get('matter_events'), '')} events "
        f"({show(facts.get('matter_custody_intervals'), '')} custody intervals).",
        "",
    ]
    rows = []
    for key, label in READS:
        server = _get(reads, "server_side", key) or {}
        http = _get(reads, "http", key) or {}
        rows.append(
            [
                label,
                show(server.get("p50_ms"), "ms"),
                show(server.get("p99_ms"), "ms"),
                show(http.get("p50_ms"), "ms"),
                show(http.get("p99_ms"), "ms"),
                str(http.get("samples", "–")),
            ]
        )
    lines += _table(
        ("read", "server p50", "server p99", "HTTP p50", "HTTP p99", "samples (HTTP)"), rows
    )
    return lines


def _memory_section(results: dict[str, Any]) -> list[str]:
    rows: list[list[str]] = []

    def add(label: str, value: Any) -> None:
        if value is not None:
            rows.append([label, show(_num(value), "MB")])

    for backend in ("sqlite", "postgres"):
        add(
            f"ingestion ({backend}): ledger server",
            _get(results, "ingest", backend, "ledger_http", "server_peak_rss_mb"),
        )
        add(
            f"ingestion ({backend}): load generator",
            _get(results, "ingest", backend, "driver_peak_rss_mb"),
        )
    add("big ledger build", _get(results, "big_ledger", "peak_rss_mb"))
    for key in ("full", "small", "product", "warm_up", "read_decode"):
        add(f"rebuild: {key}", _get(results, "rebuild", key, "peak_rss_mb"))
    for key in (*SIZES, "small"):
        add(f"audit: {key}", _get(results, "audit", key, "peak_rss_mb"))
    add("reads: server (HTTP)", _get(results, "reads", "http", "server_peak_rss_mb"))
    add("reads: server-side process", _get(results, "reads", "peak_rss_mb"))
    lines = ["## 5. Peak memory (RSS of each process)", ""]
    lines += _table(("process", "peak RSS"), rows)
    return lines


Renderer = Callable[[dict[str, Any]], str]
