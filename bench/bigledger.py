"""The big ledger the rebuild, audit and read benchmarks run on, built once and cached.

A province's log (``bench.dataset``) of ``entries`` entries, stored through the ledger's own
``Ledger.append_batch`` in this process (every signature verified, every rule checked),
integrated into the Merkle tree with a signed checkpoint every 10,000 entries. Copies of
the ledger as it stood at 1/8, 1/4 and 1/2 of its entries (integrated and checkpointed
there) are kept beside it, so that rebuild and audit can be measured at several sizes of
the same log, and at a smaller one when the full size would take too long.

Cache: ``bench/.cache/suite-v<FORMAT>-<entries>/`` with the data dirs ``full/``, ``half/``,
``quarter/`` and ``small/`` and ``manifest.json`` (written last: a directory without it is
an unfinished build and is built again). Bump ``FORMAT`` whenever the stream or the layout
changes.
"""

from __future__ import annotations

import json
import multiprocessing
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.dataset import EPOCH, ORIGIN, ROOT_ID, ROOT_NAME, Stream, derived_key
from ledger.application import Ledger
from ledger.client import envelope
from ledger.datadir import load_log_key, prepare_external_genesis, store_genesis
from ledger.settings import Settings
from ledger.transparency import TransparencyLog

FORMAT = 2
CACHE = Path(__file__).resolve().parent / ".cache"
COPIES = {"small": 8, "quarter": 4, "half": 2}  # name: the ledger's entries divided by
CHECKPOINT_EVERY = 10_000
BATCH = 1000


@dataclass(frozen=True)
class BigLedger:
    """A cached ledger: where it is and what it holds."""

    data_dir: Path
    entries: int
    timeline_rows: int
    matter_events: int

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.data_dir / 'ledger.db'}"


@dataclass(frozen=True)
class Manifest:
    format: int
    entries: int
    copies: dict[str, int]  # name: entries
    timeline_rows: int
    matter_events: int
    build_seconds: float
    build_rate: float
    built_at: str
    checkpoints: int

    def ledgers(self, root: Path) -> dict[str, BigLedger]:
        """The full ledger and its copies by name, the largest first."""
        full = BigLedger(root / "full", self.entries, self.timeline_rows, self.matter_events)
        copies = {name: BigLedger(root / name, n, 0, 0) for name, n in self.copies.items()}
        ordered = sorted(copies.items(), key=lambda item: -item[1].entries)
        return {"full": full, **dict(ordered)}


def cache_dir(entries: int, cache: Path = CACHE) -> Path:
    return cache / f"suite-v{FORMAT}-{entries}"


def read_manifest(root: Path) -> Manifest | None:
    try:
        data = json.loads((root / "manifest.json").read_text())
        manifest = Manifest(**data)
    except (OSError, ValueError, TypeError):
        return None
    return manifest if manifest.format == FORMAT else None


def initialise_province(settings: Settings, genesis_at: str) -> None:
    """``ledgerctl init`` for the bench province: its genesis names the province's root key
    (derived, so streams signed beforehand fit any ledger initialised this way)."""
    root = derived_key(ROOT_ID)
    path = prepare_external_genesis(
        settings,
        origin=ORIGIN,
        root_id=ROOT_ID,
        root_name=ROOT_NAME,
        root_public_key=root.public_bytes,
        root_valid_from=EPOCH,
    )
    statement = json.loads(path.read_text("utf-8"))
    statement["occurred_at"] = genesis_at
    store_genesis(settings, envelope(statement, root))


def append_all(ledger: Ledger, batch: list[dict[str, Any]]) -> None:
    """Store a batch in-process; any refused item is a bug of the generator: stop."""
    outcomes = ledger.append_batch(batch)
    problems = [o.problem for o in outcomes if o.problem is not None]
    if problems:
        first = next((p for p in problems if p.slug != "batch-item-aborted"), problems[0])
        raise RuntimeError(f"the ledger refused {len(problems)} generated statements: {first}")


def _sign(stream: Stream, splits: set[int], out: Any) -> None:
    """Child process: sign the stream and hand it over in batches (split at ``splits``)."""
    batch: list[dict[str, Any]] = []
    position = 1  # the genesis is entry 0
    for env in stream.envelopes():
        batch.append(env)
        position += 1
        if len(batch) == BATCH or position in splits:
            out.put(batch)
            batch = []
    if batch:
        out.put(batch)
    out.put(None)


def _batches(stream: Stream, splits: set[int]) -> Iterator[list[dict[str, Any]]]:
    """The stream's batches, signed in a child process while this one stores them."""
    context = multiprocessing.get_context("fork")
    queue: Any = context.Queue(maxsize=16)
    signer = context.Process(target=_sign, args=(stream, splits, queue), daemon=True)
    signer.start()
    try:
        while True:
            batch = queue.get()
            if batch is None:
                return
            yield batch
    finally:
        signer.join(timeout=5)
        if signer.is_alive():
            signer.terminate()


def _snapshot(source: Settings, target: Path) -> None:
    """A consistent copy of a SQLite ledger and its log key (the library's connections stay
    open: SQLite's backup API copies a committed state)."""
    target.mkdir(parents=True)
    shutil.copy2(source.log_key_path, target / "log.key")
    src = sqlite3.connect(source.effective_database_url[len("sqlite:///") :])
    dst = sqlite3.connect(target / "ledger.db")
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def build(
    root: Path,
    entries: int,
    *,
    timeline_rows: int,
    matter_events: int,
    progress: Callable[[int], None] | None = None,
) -> Manifest:
    """Build the ledger (and its copies) into ``root``; replaces what is there."""
    if entries < 2000:
        raise ValueError("the big ledger needs at least 2,000 entries (registry included)")
    building = root.with_name(root.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    shutil.rmtree(root, ignore_errors=True)
    settings = Settings.load(building / "full", integrate=False)
    stream = Stream(entries, timeline_rows=timeline_rows, matter_events=matter_events)
    copies = {name: entries // divisor for name, divisor in COPIES.items()}
    splits = {*copies.values(), entries}
    started = time.perf_counter()
    initialise_province(settings, stream.genesis_at)
    # No log key on this Ledger: receipts need no signed promise while building, and the
    # tree is integrated (and checkpoints signed) by the TransparencyLog below.
    ledger = Ledger(settings.effective_database_url)
    log = TransparencyLog(ledger.recorder, origin=ORIGIN, log_key=load_log_key(settings))
    checkpoints = 0
    try:
        ledger.warm_up()
        size = ledger.size()
        for batch in _batches(stream, splits):
            append_all(ledger, batch)
            before, size = size, size + len(batch)
            if size // CHECKPOINT_EVERY > before // CHECKPOINT_EVERY or size in splits:
                log.integrate_pending()
                checkpoints += log.sign_checkpoint() is not None
            for name, at in copies.items():
                if size == at:
                    _snapshot(settings, building / name)
            if progress is not None:
                progress(size)
        log.integrate_pending()
        checkpoints += log.sign_checkpoint() is not None
        final = ledger.size()
    finally:
        ledger.close()
    if final != entries:
        raise RuntimeError(f"built {final} entries, not {entries}")
    seconds = time.perf_counter() - started
    manifest = Manifest(
        format=FORMAT,
        entries=entries,
        copies=copies,
        timeline_rows=timeline_rows,
        matter_events=matter_events,
        build_seconds=round(seconds, 1),
        build_rate=round(entries / seconds, 1),
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        checkpoints=checkpoints,
    )
    (building / "manifest.json").write_text(json.dumps(asdict(manifest), indent=1) + "\n")
    building.rename(root)
    return manifest
