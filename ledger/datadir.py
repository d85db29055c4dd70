"""A ledger's home: its data dir, its keys, its genesis (DESIGN §10 ``init``), and opening it.

The data dir holds ``log.key`` (the log's Ed25519 key, PEM PKCS#8, mode 0600), for a
generated root ``root-registrar.key`` (same form), ``ledger.toml`` (settings) and, by
default, the SQLite database ``ledger.db``. The genesis entry names the origin and the
log's vkey; opening a ledger checks that ``log.key`` is that key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.application import Ledger, Receipt
from ledger.canonical import jcs, parse_json
from ledger.client import envelope, make_statement
from ledger.crypto import SigningKey, b64encode, key_id
from ledger.entries import decode_entry
from ledger.errors import ConfigurationError
from ledger.note import check_key_name, format_vkey, parse_verifier
from ledger.rules import LATEST_RULES
from ledger.settings import Settings
from ledger.statements import LedgerGenesis
from ledger.times import parse_instant
from ledger.transparency import TransparencyLog

GENESIS_STATEMENT_FILE = "genesis-statement.json"


@dataclass(frozen=True)
class Genesis:
    origin: str
    log_vkey: str


def read_genesis(ledger: Ledger) -> Genesis | None:
    records = ledger.records(0, 1)
    if not records:
        return None
    body = decode_entry(records[0]).envelope.statement.body
    if not isinstance(body, LedgerGenesis):
        raise ConfigurationError("the log's first entry is not a ledger.genesis")
    return Genesis(body.origin, body.log_vkey)


def load_log_key(settings: Settings) -> SigningKey:
    path = settings.log_key_path
    if not path.is_file():
        raise ConfigurationError(
            f"{path} not found: run `ledgerctl init --origin ORIGIN --data-dir "
            f"{settings.data_dir}` first"
        )
    return SigningKey.load(path)


def open_ledger(settings: Settings, *, warm: bool = True) -> tuple[Ledger, Genesis]:
    """Open an initialised ledger, checking that ``log.key`` is the genesis's log key."""
    log_key = load_log_key(settings)
    ledger = Ledger(settings.effective_database_url)
    genesis = read_genesis(ledger)
    if genesis is None:
        raise ConfigurationError(
            f"the database {settings.effective_database_url} has no genesis yet: finish "
            "`ledgerctl init` (with --genesis-envelope if the root key is held elsewhere)"
        )
    if format_vkey(genesis.origin, log_key.public_bytes) != genesis.log_vkey:
        raise ConfigurationError(
            f"{settings.log_key_path} is not the log key named in the genesis ({genesis.log_vkey})"
        )
    ledger.attach_log(
        TransparencyLog(
            ledger.recorder,
            origin=genesis.origin,
            log_key=log_key,
            witnesses=[parse_verifier(v) for v in settings.witness_vkeys],
            checkpoint_interval=settings.checkpoint_interval_seconds,
        )
    )
    if warm:
        ledger.warm_up()
    return ledger, genesis


def _genesis_statement(
    origin: str,
    log_key: SigningKey,
    root_id: str,
    root_name: str,
    root_public_key: bytes,
    root_valid_from: str | None,
    occurred_at: str | None,
    event_id: str | None = None,
    rules: int | None = LATEST_RULES,
) -> dict[str, Any]:
    root: dict[str, Any] = {
        "id": root_id,
        "full_name": root_name,
        "public_key": b64encode(root_public_key),
    }
    if root_valid_from:
        root["valid_from"] = root_valid_from
    body: dict[str, Any] = {
        "origin": origin,
        "log_vkey": format_vkey(origin, log_key.public_bytes),
        "roots": [root],
    }
    if rules is not None:
        # A new ledger starts under the latest rules this release knows (DESIGN §4 v4).
        body["rules"] = rules
    return make_statement(
        "ledger.genesis",
        "ledger",
        seq=0,
        prev=None,
        actor=root_id,
        key_id=key_id(root_public_key),
        body=body,
        occurred_at=occurred_at,
        event_id=event_id,
    )


def _prepare(settings: Settings, origin: str, log_key: SigningKey | None = None) -> SigningKey:
    try:
        check_key_name(origin)
    except ValueError as e:
        raise ConfigurationError(f"--origin: {e}") from None
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if settings.log_key_path.exists():
        raise ConfigurationError(
            f"{settings.log_key_path} already exists: {settings.data_dir} is initialised"
        )
    log_key = log_key or SigningKey.generate()
    log_key.save(settings.log_key_path)
    return log_key


def initialise(
    settings: Settings,
    *,
    origin: str,
    root_id: str,
    root_name: str,
    root_valid_from: str | None = None,
    occurred_at: str | None = None,
    log_key: SigningKey | None = None,
    root_key: SigningKey | None = None,
    event_id: str | None = None,
    rules: int | None = LATEST_RULES,
) -> Receipt:
    """Create the data dir, log key, root key and database, and store the genesis.

    Keys and the genesis's event id are generated unless given (the demo derives them
    from its seed, so that a seed gives the same log byte for byte). ``rules`` is the rules
    version the genesis names; ``None`` writes none (version 3: a ledger as releases before
    DESIGN v4 made them — tests of upgrades use it)."""
    if root_valid_from:
        parse_instant(root_valid_from)
    log_key = _prepare(settings, origin, log_key)
    root_key = root_key or SigningKey.generate()
    root_key.save(settings.root_key_path)
    statement = _genesis_statement(
        origin,
        log_key,
        root_id,
        root_name,
        root_key.public_bytes,
        root_valid_from,
        occurred_at,
        event_id,
        rules,
    )
    return store_genesis(settings, envelope(statement, root_key))


def prepare_external_genesis(
    settings: Settings,
    *,
    origin: str,
    root_id: str,
    root_name: str,
    root_public_key: bytes,
    root_valid_from: str | None = None,
) -> Path:
    """Step one for a root key held elsewhere: write the genesis statement to sign."""
    log_key = _prepare(settings, origin)
    statement = _genesis_statement(
        origin, log_key, root_id, root_name, root_public_key, root_valid_from, None
    )
    path = settings.data_dir / GENESIS_STATEMENT_FILE
    path.write_text(json.dumps(statement, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return path


def store_genesis(settings: Settings, genesis_envelope: dict[str, Any] | bytes) -> Receipt:
    """Store a signed genesis envelope as index 0 (step two, or the end of ``initialise``)."""
    log_key = load_log_key(settings)
    raw = genesis_envelope if isinstance(genesis_envelope, bytes) else jcs(genesis_envelope)
    # The log key's vkey depends on the origin the genesis names; the genesis check then
    # holds the statement to exactly that vkey.
    decoded = parse_json(raw)
    statement = decoded.get("statement") if isinstance(decoded, dict) else None
    body = statement.get("body") if isinstance(statement, dict) else None
    origin = body.get("origin") if isinstance(body, dict) else None
    try:
        expected_vkey: str | None = format_vkey(str(origin), log_key.public_bytes)
    except ValueError:
        expected_vkey = None  # the statement's own schema check names what is wrong
    ledger = Ledger(
        settings.effective_database_url,
        log_vkey=expected_vkey,
    )
    try:
        if ledger.size() > 0:
            raise ConfigurationError(
                f"the database {settings.effective_database_url} already holds a log"
            )
        return ledger.append(raw).receipt
    finally:
        ledger.close()
