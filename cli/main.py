"""``ledgerctl``: the command line, an interface beside the HTTP API (DESIGN §10)."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import httpx
import typer
from rich.console import Console

from cli.bench import bench
from ledger.canonical import jcs, parse_json
from ledger.crypto import SigningKey, load_public_key_file
from ledger.errors import ConfigurationError, ProblemError
from ledger.settings import Settings

if TYPE_CHECKING:
    from evidence.verify import Report

app = typer.Typer(
    name="ledgerctl",
    help="Accountability Ledger (sổ cái trách nhiệm): set up, serve, sign and append.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
keys_app = typer.Typer(
    help="Ed25519 keys for officials, registrars and roots.", no_args_is_help=True
)
app.add_typer(keys_app, name="keys")
log_app = typer.Typer(help="The transparency log.", no_args_is_help=True)
app.add_typer(log_app, name="log")
tokens_app = typer.Typer(help="API bearer tokens (stored as hashes only).", no_args_is_help=True)
app.add_typer(tokens_app, name="tokens")
projections_app = typer.Typer(
    help="Read models: custody, timelines, matters, indicators.", no_args_is_help=True
)
app.add_typer(projections_app, name="projections")
bundle_app = typer.Typer(
    help="Evidence bundles a disciplinary council verifies offline.", no_args_is_help=True
)
app.add_typer(bundle_app, name="bundle")

err = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar="LEDGER_DATA_DIR",
        help="The ledger's data dir (default ./ledger-data).",
        show_default=False,
    ),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="LEDGER_DATABASE_URL",
        help="sqlite:///path.db (default: ledger.db in the data dir) or postgresql://…",
        show_default=False,
    ),
]


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


def _settings(data_dir: Path | None, database_url: str | None = None, **extra: Any) -> Settings:
    overrides = {k: v for k, v in extra.items() if v is not None}
    if database_url:
        overrides["database_url"] = database_url
    try:
        return Settings.load(data_dir, **overrides)
    except ConfigurationError as e:
        raise _fail(str(e)) from None


@app.command()
def init(
    origin: Annotated[
        str | None,
        typer.Option(help="The log's origin and key name, e.g. example.gov.vn/ledger."),
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    root_registrar_id: Annotated[str, typer.Option(help="Id of the first root registrar.")] = (
        "root-registrar"
    ),
    root_registrar_name: Annotated[
        str, typer.Option(help="Full name of the first root registrar.")
    ] = "Cơ quan quản lý danh tính gốc",
    root_valid_from: Annotated[
        str | None,
        typer.Option(help="Root key valid from this instant (earlier, to import history)."),
    ] = None,
    root_registrar_key: Annotated[
        Path | None,
        typer.Option(
            help="Public key file of a root key held elsewhere: write the genesis "
            "statement to sign instead of generating a root key."
        ),
    ] = None,
    genesis_envelope: Annotated[
        Path | None,
        typer.Option(help="Store this signed genesis envelope (second step of the above)."),
    ] = None,
) -> None:
    """Create the data dir, the log key, the database and the genesis."""
    from ledger import datadir

    settings = _settings(data_dir, database_url)
    try:
        if genesis_envelope is not None:
            receipt = datadir.store_genesis(settings, genesis_envelope.read_bytes())
        elif origin is None:
            raise _fail("--origin is required (or --genesis-envelope for the second step)")
        elif root_registrar_key is not None:
            path = datadir.prepare_external_genesis(
                settings,
                origin=origin,
                root_id=root_registrar_id,
                root_name=root_registrar_name,
                root_public_key=load_public_key_file(root_registrar_key),
                root_valid_from=root_valid_from,
            )
            err.print(
                f"Wrote the genesis statement to {path}. Sign it with the root key:\n"
                f"  ledgerctl sign --key ROOT.key < {path} > genesis.json\n"
                f"then store it:\n  ledgerctl init --data-dir {settings.data_dir} "
                "--genesis-envelope genesis.json",
                highlight=False,
            )
            sys.stdout.write(path.read_text("utf-8"))
            return
        else:
            receipt = datadir.initialise(
                settings,
                origin=origin,
                root_id=root_registrar_id,
                root_name=root_registrar_name,
                root_valid_from=root_valid_from,
            )
    except (ConfigurationError, ProblemError, ValueError, OSError) as e:
        detail = e.detail if isinstance(e, ProblemError) else str(e)
        raise _fail(detail) from None
    err.print(
        f"Initialised {settings.data_dir} (genesis at index {receipt.index}, leaf "
        f"{receipt.leaf_hash}).",
        highlight=False,
    )
    sys.stdout.write(json.dumps(receipt.to_json()) + "\n")


@app.command()
def serve(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="uvicorn worker processes.")] = 1,
    no_integrate: Annotated[
        bool,
        typer.Option("--no-integrate", help="Leave log integration to `ledgerctl log integrate`."),
    ] = False,
    no_projections: Annotated[
        bool,
        typer.Option(
            "--no-projections", help="Leave the read models to `ledgerctl projections run`."
        ),
    ] = False,
) -> None:
    """Serve the HTTP API (and, unless told otherwise, integrate the log and run the
    projections, each in one process at a time)."""
    import uvicorn

    from ledger.datadir import open_ledger

    settings = _settings(data_dir, database_url, host=host, port=port)
    try:  # fail here, with a clear message, rather than in each worker
        open_ledger(settings, warm=False)[0].close()
    except ConfigurationError as e:
        raise _fail(str(e)) from None
    os.environ["LEDGER_DATA_DIR"] = str(settings.data_dir)
    if settings.database_url:
        os.environ["LEDGER_DATABASE_URL"] = settings.database_url
    if no_integrate:
        os.environ["LEDGER_INTEGRATE"] = "false"
    if no_projections:
        os.environ["LEDGER_PROJECTIONS"] = "false"
    uvicorn.run(
        "api.app:create_app_from_environment",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_level="info",
        access_log=False,  # the ledger logs each request itself, as JSON with the token id
    )


@app.command()
def demo(
    data_dir: DataDir = None,
    matters: Annotated[int, typer.Option(min=1, help="How many matters (dossiers).")] = 1000,
    seed: Annotated[int, typer.Option(help="Same seed and start: same statements.")] = 1,
    start: Annotated[
        str, typer.Option(help="First working day of the history (YYYY-MM-DD).")
    ] = "2026-01-05",
) -> None:
    """Build a realistic demo province in a new data dir (SQLite), through the real API."""
    from datetime import date

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from demo.build import DemoError, build

    try:
        first_day = date.fromisoformat(start)
    except ValueError:
        raise _fail(f"--start {start!r} is not a date (YYYY-MM-DD)") from None
    settings = _settings(data_dir)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err
    ) as bar:
        tasks: dict[str, Any] = {}

        def progress(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done, total=total)

        try:
            summary = build(
                settings, matters=matters, seed=seed, start=first_day, progress=progress
            )
        except (DemoError, ConfigurationError) as e:
            raise _fail(str(e)) from None
    err.print(
        f"Built the demo province in {summary.data_dir}: {summary.matters} matters, "
        f"{summary.entries} entries, {summary.first_occurred_at[:10]} to "
        f"{summary.last_occurred_at[:10]} (seed {summary.seed}).\n"
        f"An inspector token is in {summary.inspector_token_file}; the officials who "
        f"carry an avoidance pattern are listed in {summary.data_dir / 'demo.json'}.",
        highlight=False,
    )
    sys.stdout.write(json.dumps(summary.to_json(), ensure_ascii=False) + "\n")


@keys_app.command("generate")
def keys_generate(
    out: Annotated[Path, typer.Option(help="Where to write the private key (PEM, 0600).")],
) -> None:
    """Generate an Ed25519 key; print its public key (base64) and key id."""
    key = SigningKey.generate()
    try:
        key.save(out)
    except FileExistsError:
        raise _fail(f"{out} exists; choose another path (keys are never overwritten)") from None
    sys.stdout.write(json.dumps({"public_key": key.public_b64, "key_id": key.key_id}) + "\n")


@app.command()
def sign(
    key: Annotated[Path, typer.Option(help="Private key (PEM) to sign with.")],
) -> None:
    """Sign a statement read from stdin; write the envelope to stdout (fills ``key``)."""
    try:
        signing_key = SigningKey.load(key)
    except (OSError, ValueError) as e:
        raise _fail(f"cannot read the key {key}: {e}") from None
    try:
        statement = parse_json(sys.stdin.buffer.read())
    except ProblemError as e:
        raise _fail(f"stdin: {e.detail}") from None
    if not isinstance(statement, dict):
        raise _fail("stdin must hold one statement (a JSON object)")
    statement["key"] = signing_key.key_id
    envelope = {"statement": statement, "signature": signing_key.sign_statement(jcs(statement))}
    sys.stdout.buffer.write(jcs(envelope) + b"\n")


def _read_envelopes(data: bytes) -> list[Any]:
    text = data.strip()
    if text.startswith(b"["):
        items = parse_json(text)
        assert isinstance(items, list)
        return items
    lines = [line for line in text.splitlines() if line.strip()]
    return [parse_json(line) for line in lines]


@app.command()
def append(
    url: Annotated[str, typer.Argument(help="The ledger's base URL, e.g. http://127.0.0.1:8000")],
    files: Annotated[
        list[Path] | None, typer.Argument(help="Envelope files (default: stdin).")
    ] = None,
    token: Annotated[
        str | None, typer.Option(envvar="LEDGER_TOKEN", help="Bearer token.", show_default=False)
    ] = None,
) -> None:
    """Append envelopes (one object, a JSON array, or JSON lines); print one receipt a line."""
    envelopes: list[Any] = []
    try:
        for data in [p.read_bytes() for p in files] if files else [sys.stdin.buffer.read()]:
            envelopes += _read_envelopes(data)
    except ProblemError as e:
        raise _fail(f"input: {e.detail}") from None
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    failed = 0
    with httpx.Client(base_url=url, timeout=30.0) as http:
        for envelope in envelopes:
            try:
                response = http.post("/v1/events", content=jcs(envelope), headers=headers)
            except httpx.HTTPError as e:
                raise _fail(f"{url}: {e}") from None
            if response.status_code < 300:
                sys.stdout.write(response.text.strip() + "\n")
            else:
                failed += 1
                err.print(f"[red]{response.status_code}[/] {response.text}", highlight=False)
    if failed:
        raise typer.Exit(1)


@log_app.command("integrate")
def log_integrate(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    once: Annotated[bool, typer.Option(help="Integrate what is stored, sign, and exit.")] = False,
) -> None:
    """Integrate stored entries into the tree and sign checkpoints, until stopped.

    Exactly one integrator runs per log: a second one waits, and takes over if the first
    stops.
    """
    import signal
    import threading

    from ledger.datadir import open_ledger

    settings = _settings(data_dir, database_url)
    try:
        ledger, _ = open_ledger(settings, warm=False)
    except ConfigurationError as e:
        raise _fail(str(e)) from None
    transparency = ledger.transparency
    assert transparency is not None
    try:
        if once:
            with transparency.recorder.integrator_lock() as held:
                if not held:
                    raise _fail("another process integrates this log")
                checkpoint = transparency.step()
            size = transparency.recorder.tree_size()
            err.print(
                f"tree size {size}; "
                + (
                    f"signed a checkpoint of size {checkpoint.size}"
                    if checkpoint
                    else "no new checkpoint"
                ),
                highlight=False,
            )
            return
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        err.print(f"integrating {transparency.origin}; stop with Ctrl-C", highlight=False)
        transparency.run_or_stand_by(stop)
    finally:
        ledger.close()


ProjectionName = Annotated[
    str | None,
    typer.Argument(help="matters, custody or timeline (default: all).", show_default=False),
]


def _projection_names(name: str | None) -> list[str]:
    from projections.views import VIEWS

    if name is None:
        return list(VIEWS)
    if name not in VIEWS:
        raise _fail(f"unknown projection {name!r}; known: {', '.join(VIEWS)}")
    return [name]


@projections_app.command("run")
def projections_run(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Keep the read models up to date with the log, until stopped.

    One process runs the projections of a ledger; a second one stands by and takes over.
    """
    import signal
    import threading

    from ledger.datadir import open_ledger
    from projections.runner import ProjectionRunner

    settings = _settings(data_dir, database_url)
    try:
        ledger, _ = open_ledger(settings, warm=False)
    except ConfigurationError as e:
        raise _fail(str(e)) from None
    runner = ProjectionRunner(
        ledger.recorder,
        ledger.database_url,
        poll=settings.projection_poll_seconds,
        watchdog=settings.projection_watchdog_seconds,
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    err.print("running the projections; stop with Ctrl-C", highlight=False)
    try:
        runner.run_or_stand_by(stop)
    finally:
        runner.close()
        ledger.close()


@projections_app.command("rebuild")
def projections_rebuild(
    name: ProjectionName = None, data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    """Rebuild read models from index 0 into a fresh database, then swap it in."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from ledger.datadir import open_ledger
    from projections.runner import rebuild

    settings = _settings(data_dir, database_url)
    names = _projection_names(name)
    try:
        ledger, _ = open_ledger(settings, warm=False)
    except ConfigurationError as e:
        raise _fail(str(e)) from None
    try:
        for projection in names:
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]} entries/s"),
                TimeRemainingColumn(),
                console=err,
            ) as bar:
                task = bar.add_task(f"rebuilding {projection}", total=None, rate="–")
                started = time.perf_counter()

                def progress(
                    done: int, total: int, task: Any = task, started: float = started
                ) -> None:
                    elapsed = max(time.perf_counter() - started, 1e-9)
                    bar.update(task, completed=done, total=total, rate=f"{done / elapsed:,.0f}")

                result = rebuild(
                    ledger.recorder,
                    ledger.database_url,
                    projection,
                    progress=progress,
                )
            err.print(
                f"{projection}: rebuilt {result.entries} entries in {result.seconds:.1f} s "
                f"({result.rate:,.0f} entries/s) and swapped in",
                highlight=False,
            )
    finally:
        ledger.close()


@projections_app.command("status")
def projections_status(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Each projection's position (log index, notification id) and lag behind the log."""
    from ledger.datadir import open_ledger
    from projections.runner import ProjectionRunner

    settings = _settings(data_dir, database_url)
    try:
        ledger, _ = open_ledger(settings, warm=False)
    except ConfigurationError as e:
        raise _fail(str(e)) from None
    try:
        size = ledger.size()
        statuses = ProjectionRunner.positions(ledger.recorder, ledger.database_url)
        for name, index in statuses.items():
            print(f"{name}\tposition {index}\tlag {size - 1 - index}")
    finally:
        ledger.close()


@bundle_app.command("export")
def bundle_export(
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the bundle.")],
    matter: Annotated[str | None, typer.Option("--matter", help="A matter id.")] = None,
    official: Annotated[
        str | None, typer.Option("--official", help="An official id (with --from/--to).")
    ] = None,
    start: Annotated[str | None, typer.Option("--from", help="Period start (instant).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Period end (instant).")] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Bundle what was recorded by this instant.")
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Write the evidence bundle of a matter, or of what an official did in a period."""
    from evidence.bundle import export
    from ledger.datadir import open_ledger
    from ledger.times import parse_instant_argument
    from projections.reads import ReadModels

    if (matter is None) == (official is None):
        raise _fail("give --matter ID, or --official ID with --from/--to")
    settings = _settings(data_dir, database_url)
    try:
        moments = {
            name: parse_instant_argument(name, value)
            for name, value in (("--from", start), ("--to", end), ("--as-of", as_of))
        }
        ledger, _ = open_ledger(settings, warm=False)
    except (ConfigurationError, ProblemError) as e:
        raise _fail(getattr(e, "detail", str(e))) from None
    reads = ReadModels(ledger.recorder, ledger.database_url) if official else None
    try:
        bundle = export(
            ledger,
            matter_id=matter,
            official_id=official,
            start=moments["--from"],
            end=moments["--to"],
            as_of=moments["--as-of"],
            reads=reads,
        )
    except ProblemError as e:
        raise _fail(e.detail) from None
    finally:
        if reads is not None:
            reads.close()
        ledger.close()
    output.write_text(json.dumps(bundle, ensure_ascii=False, indent=1) + "\n", "utf-8")
    err.print(
        f"wrote {output}: {len(bundle['entries'])} entries, checkpoint of size "
        f"{bundle['tree_size']}",
        highlight=False,
    )


VKey = Annotated[
    str | None,
    typer.Option("--vkey", help="The log's verifier key, from a source you trust."),
]
TrustEmbeddedKey = Annotated[
    bool,
    typer.Option(
        "--trust-embedded-key",
        help="Without --vkey: trust the log key written inside the bundle (anyone can write "
        "a bundle with a key of their own; the result says so loudly).",
    ),
]
Witness = Annotated[
    list[str] | None,
    typer.Option(
        "--witness",
        help="A witness's cosignature/v1 vkey whose line the checkpoint must carry "
        "(repeatable); a line from any other key is refused.",
        show_default=False,
    ),
]


def _say(text: str) -> None:
    """A line of a bundle's report on stdout: whatever the bundle holds is shown, escaped,
    and never drives the terminal (a fake 'VERIFIED' line, a verdict drawn black on black)."""
    from evidence.verify import printable

    print(printable(text))


def _warn(label: str, text: str) -> None:
    """A line on stderr, ``label`` (markup) before ``text`` shown as ``_say`` shows it."""
    from rich.markup import escape

    from evidence.verify import printable

    err.print(f"{label}{escape(printable(text))}", highlight=False)


def _bundle_error(message: str) -> typer.Exit:
    """Exit 2 with ``message``: the command was not given what it needs (no bundle read)."""
    _warn("[bold red]error:[/] ", message)
    return typer.Exit(2)


def _trusted_key(vkey: str | None, trust_embedded_key: bool, witnesses: list[str]) -> None:
    """Exit 2 unless the council says which log key it trusts (DESIGN §9 v4)."""
    from ledger.note import COSIGNATURE_V1_ALGORITHM, parse_verifier

    if vkey is None and not trust_embedded_key:
        raise _bundle_error(
            "no --vkey given: give --vkey VKEY, the log's verifier key from a source you trust "
            "(the operator's published record, GET /v1/log/key), or --trust-embedded-key to "
            "trust the key written inside the bundle itself, which anyone can write"
        )
    if vkey is not None and trust_embedded_key:
        raise _bundle_error("give --vkey or --trust-embedded-key, not both")
    for witness in witnesses:
        try:
            if parse_verifier(witness).algorithm != COSIGNATURE_V1_ALGORITHM:
                raise ValueError("not a cosignature/v1 key (type 0x04)")
        except ValueError as e:
            raise _bundle_error(f"--witness {witness}: {e}") from None


def _verified_bundle(
    path: Path, vkey: str | None, witnesses: list[str]
) -> tuple[Any, Report, bytes]:
    """The bundle as read (``None`` if it is no JSON bundle), its report, and its bytes."""
    from evidence.verify import verify_bundle_file

    try:
        data = path.read_bytes()
    except OSError as e:
        raise _bundle_error(f"{path}: cannot read it ({e.strerror})") from None
    bundle, report = verify_bundle_file(data, vkey, witnesses)
    return bundle, report, data


def _print_report(report: Report) -> None:
    for warning in report.warnings:
        _warn("[bold yellow]WARNING:[/] ", warning)
    for what, count in report.checked.items():
        _say(f"checked {what}: {count}")
    for failure in report.failures:
        _say(f"FAIL {failure}")
    if report.ok:
        _say("VERIFIED: every check passed")
    else:
        _say(f"NOT VERIFIED: {len(report.failures)} failure(s)")


@bundle_app.command("verify")
def bundle_verify(
    path: Annotated[Path, typer.Argument(help="The bundle (JSON).")],
    vkey: VKey = None,
    trust_embedded_key: TrustEmbeddedKey = False,
    witness: Witness = None,
) -> None:
    """Re-check a bundle offline; exit 1 on any failure, naming each entry and why."""
    witnesses = witness or []
    _trusted_key(vkey, trust_embedded_key, witnesses)
    _, report, _ = _verified_bundle(path, vkey, witnesses)
    _print_report(report)
    if not report.ok:
        raise typer.Exit(1)


@bundle_app.command("render")
def bundle_render(
    path: Annotated[Path, typer.Argument(help="The bundle (JSON).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The HTML page to write.")],
    lang: Annotated[str, typer.Option(help="vi (default) or en.")] = "vi",
    vkey: VKey = None,
    trust_embedded_key: TrustEmbeddedKey = False,
    witness: Witness = None,
) -> None:
    """Verify a bundle, then render it as a page for people (Vietnamese by default)."""
    import hashlib

    from evidence.render import render_html

    if lang not in ("vi", "en"):
        raise _bundle_error(f"--lang {lang}: use vi or en")
    witnesses = witness or []
    _trusted_key(vkey, trust_embedded_key, witnesses)
    bundle, report, data = _verified_bundle(path, vkey, witnesses)
    # The page's footer names the file's own hash beside the JCS one (``sha256sum`` agrees).
    digest = hashlib.sha256(data).hexdigest()
    page = render_html(bundle, report, lang, file_sha256=digest)  # type: ignore[arg-type]
    output.write_text(page, "utf-8")
    _print_report(report)
    _warn("", f"wrote {output} ({'verified' if report.ok else 'NOT VERIFIED'})")
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def verify(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    url: Annotated[
        str | None, typer.Option(help="Audit a running ledger over HTTP instead of a database.")
    ] = None,
    vkey: Annotated[
        str | None, typer.Option(help="The log's vkey to trust (default: the log key on file).")
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(envvar="LEDGER_TOKEN", help="Bearer token (--url).", show_default=False),
    ] = None,
) -> None:
    """Re-verify the whole ledger from its stored entries; exit 1 naming the first failure."""
    from cli.verify import run_verify

    code = run_verify(
        settings=None if url else _settings(data_dir, database_url),
        url=url,
        vkey=vkey,
        token=token,
        console=err,
    )
    raise typer.Exit(code)


@app.command()
def witness(
    url: Annotated[str, typer.Option(help="The log's base URL.")],
    log_vkey: Annotated[str, typer.Option(help="The log's vkey (GET /v1/log/key).")],
    key: Annotated[Path, typer.Option(help="The witness's private key (PEM).")],
    name: Annotated[str, typer.Option(help="The witness's key name, e.g. thanh-tra.example.")],
    state: Annotated[
        Path, typer.Option(help="Where the witness keeps the last cosigned checkpoint.")
    ] = Path("witness-state.json"),
    interval: Annotated[float, typer.Option(min=0.1, help="Seconds between polls.")] = 5.0,
    once: Annotated[bool, typer.Option(help="Check and cosign once, then exit.")] = False,
    print_vkey: Annotated[
        bool, typer.Option("--print-vkey", help="Print this witness's vkey and exit.")
    ] = False,
) -> None:
    """Follow a log; cosign each new checkpoint consistent with the last one cosigned."""
    import time

    from ledger.note import parse_verifier
    from ledger.witness import Witness, WitnessRefusal, witness_vkey

    try:
        signing_key = SigningKey.load(key)
    except (OSError, ValueError) as e:
        raise _fail(f"cannot read the key {key}: {e}") from None
    if print_vkey:
        sys.stdout.write(witness_vkey(name, signing_key) + "\n")
        return
    try:
        verifier = parse_verifier(log_vkey)
    except ValueError as e:
        raise _fail(f"--log-vkey: {e}") from None
    with httpx.Client(base_url=url, timeout=30.0) as http:
        follower = Witness(log=verifier, key=signing_key, name=name, state_path=state, http=http)
        while True:
            try:
                checkpoint = follower.step()
            except WitnessRefusal as e:
                raise _fail(f"refusing to cosign: {e}", code=1) from None
            except httpx.HTTPError as e:
                err.print(f"[yellow]{url}: {e}[/]", highlight=False)
                checkpoint = None
            if checkpoint is not None:
                sys.stdout.write(f"cosigned {checkpoint.origin} size {checkpoint.size}\n")
                sys.stdout.flush()
            if once:
                return
            time.sleep(interval)


@contextlib.contextmanager
def _token_store(data_dir: Path | None, database_url: str | None) -> Iterator[Any]:
    from ledger.application import Ledger
    from ledger.tokens import TokenStore

    settings = _settings(data_dir, database_url)
    try:
        ledger = Ledger(settings.effective_database_url)
    except (ConfigurationError, OSError) as e:
        raise _fail(str(e)) from None
    try:
        yield TokenStore(ledger.recorder)
    except ProblemError as e:
        raise _fail(e.detail) from None
    finally:
        ledger.close()


@tokens_app.command("create")
def tokens_create(
    role: Annotated[str, typer.Option(help="writer, root-writer, inspector or admin.")],
    agency: Annotated[
        str | None, typer.Option(help="The agency a writer token submits for.")
    ] = None,
    label: Annotated[str, typer.Option(help="Who or what the token is for.")] = "",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a token; print only the token (it is shown once and stored as a hash)."""
    with _token_store(data_dir, database_url) as store:
        token, secret = store.create(role, agency_id=agency, label=label)
    err.print(f"created token {token.token_id} ({token.role})", highlight=False)
    sys.stdout.write(secret + "\n")


@tokens_app.command("list")
def tokens_list(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """List tokens: id, role, agency, label, created, revoked (never the tokens)."""
    from rich.table import Table

    table = Table("token_id", "role", "agency", "label", "created_at", "revoked_at")
    with _token_store(data_dir, database_url) as store:
        tokens = store.list()
    for token in tokens:
        table.add_row(
            token.token_id,
            token.role,
            token.agency_id or "",
            token.label,
            token.created_at,
            token.revoked_at or "",
        )
    Console().print(table)


@tokens_app.command("revoke")
def tokens_revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id (from tokens list).")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Revoke a token at once."""
    with _token_store(data_dir, database_url) as store:
        token = store.revoke(token_id)
    err.print(f"revoked token {token.token_id} at {token.revoked_at}", highlight=False)


app.command()(bench)


def main() -> None:
    app()
