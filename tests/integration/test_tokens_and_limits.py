"""Operating the API: ``ledgerctl tokens``, tokens stored as hashes, per-token rate limits,
the JSON access log, Prometheus metrics, readiness, and settings (DESIGN §8, §10)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import psycopg
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from psycopg.rows import dict_row

import api.observability
from api.auth import RateLimiter
from api.observability import integration_stall
from ledger.canonical import jcs, split_entry
from ledger.crypto import SigningKey
from ledger.errors import ConfigurationError
from ledger.note import format_vkey
from ledger.settings import Settings
from ledger.times import parse_instant, utc_now
from ledger.witness import witness_vkey
from tests.conftest import running_node
from tests.world import Node, World, problem_slug

LEDGERCTL = str(Path(sys.executable).parent / "ledgerctl")


def ledgerctl(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    return subprocess.run(
        [LEDGERCTL, *args],
        capture_output=True,
        text=True,
        env={**clean, "COLUMNS": "200", **(env or {})},
        timeout=timeout,
        check=False,
    )


def where(node: Node) -> list[str]:
    """The CLI options naming the node's data dir and database."""
    return [
        "--data-dir",
        str(node.settings.data_dir),
        "--database-url",
        node.settings.effective_database_url,
    ]


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def forms_of(secret: str) -> list[str]:
    """The token, its random part, and its hash as hex and base64."""
    digest = hashlib.sha256(secret.encode()).digest()
    return [
        secret,
        secret.removeprefix("alt_"),
        digest.hex(),
        base64.b64encode(digest).decode(),
        base64.urlsafe_b64encode(digest).decode().rstrip("="),
    ]


def inspector_read(node: Node, secret: str) -> int:
    """The status of an inspector's read with ``secret``."""
    response = node.http.get("/v1/log/entries?start=0&end=1", headers=bearer(secret))
    return response.status_code


# --- ledgerctl tokens --------------------------------------------------------------------


def test_tokens_create_prints_only_the_token_on_stdout(node: Node) -> None:
    result = ledgerctl("tokens", "create", "--role", "inspector", "--label", "tt", *where(node))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    assert result.stdout == lines[0] + "\n"
    secret = lines[0]
    assert secret.startswith("alt_")
    assert secret.strip() == secret
    assert inspector_read(node, secret) == 200


def test_tokens_create_makes_a_writer_token_for_its_agency(node: Node, world: World) -> None:
    h10 = world.agency("H10")
    result = ledgerctl("tokens", "create", "--role", "writer", "--agency", "H10", *where(node))
    assert result.returncode == 0, result.stderr
    secret = result.stdout.strip()
    env = world.envelope(
        "unit.registered",
        "agency:H10",
        h10.registrar,
        {"unit_id": "phong-mot", "name": "Phòng một", "parent_unit": "lanh-dao"},
    )
    response = node.http.post(
        "/v1/events",
        content=jcs(env),
        headers={**bearer(secret), "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text
    assert inspector_read(node, secret) == 403  # a writer is not an inspector


def test_tokens_list_shows_each_token_but_never_a_token_or_its_hash(node: Node) -> None:
    made = ledgerctl("tokens", "create", "--role", "admin", "--label", "ops", *where(node))
    secret = made.stdout.strip()
    token_id = node.tokens.store.authenticate(secret).token_id
    listed = ledgerctl("tokens", "list", *where(node))
    assert listed.returncode == 0, listed.stderr
    assert token_id in listed.stdout
    assert "ops" in listed.stdout
    output = listed.stdout + listed.stderr
    for known in (secret, node.tokens.inspector, node.tokens.admin, node.tokens.root_writer):
        for form in forms_of(known):
            assert form not in output


def test_tokens_revoke_refuses_the_token_from_then_on(node: Node) -> None:
    secret = ledgerctl("tokens", "create", "--role", "inspector", *where(node)).stdout.strip()
    assert inspector_read(node, secret) == 200
    token_id = node.tokens.store.authenticate(secret).token_id
    result = ledgerctl("tokens", "revoke", token_id, *where(node))
    assert result.returncode == 0, result.stderr
    assert secret not in result.stdout + result.stderr
    response = node.http.get("/v1/log/entries?start=0&end=1", headers=bearer(secret))
    assert response.status_code == 401
    assert problem_slug(response) == "unauthenticated"
    (record,) = [t for t in node.tokens.store.list() if t.token_id == token_id]
    assert record.revoked_at is not None


def test_tokens_revoke_of_an_unknown_id_fails_naming_it(node: Node) -> None:
    result = ledgerctl("tokens", "revoke", "0123456789ab", *where(node))
    assert result.returncode != 0
    assert "0123456789ab" in result.stderr


def test_a_writer_token_without_an_agency_is_refused_with_a_clear_message(node: Node) -> None:
    before = len(node.tokens.store.list())
    result = ledgerctl("tokens", "create", "--role", "writer", *where(node))
    assert result.returncode == 2
    assert result.stdout == ""
    assert "--agency" in result.stderr
    assert len(node.tokens.store.list()) == before


def token_table(node: Node) -> list[dict[str, Any]]:
    """Every row of ``<events>_tokens``, read from the database directly."""
    table = f"{node.ledger.recorder.events_table_name}_tokens"
    url = node.settings.effective_database_url
    if url.startswith("sqlite:///"):
        with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
            conn.row_factory = sqlite3.Row
            return [dict(r) for r in conn.execute(f'SELECT * FROM "{table}"')]
    base, _, query = url.partition("?")
    schema = parse_qs(query)["schema"][0]
    with psycopg.connect(base, row_factory=dict_row) as conn:
        return list(conn.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall())


def test_the_database_stores_only_a_sha256_of_each_token(node: Node) -> None:
    secret = ledgerctl("tokens", "create", "--role", "inspector", *where(node)).stdout.strip()
    secrets = [secret, node.tokens.inspector, node.tokens.admin, node.tokens.writer("H10")]
    rows = token_table(node)
    assert len(rows) == len(node.tokens.store.list())
    hashes = {bytes(row["token_hash"]) for row in rows}
    for known in secrets:
        assert hashlib.sha256(known.encode()).digest() in hashes
        raw = base64.urlsafe_b64decode(known.removeprefix("alt_") + "=")  # the 32 random bytes
        for row in rows:
            for value in row.values():
                if isinstance(value, bytes | memoryview):
                    assert raw not in bytes(value)
                    assert known.encode() not in bytes(value)
                for form in [*forms_of(known)[:3], raw.hex()]:
                    assert form not in str(value)


# --- rate limits -------------------------------------------------------------------------


class StoppedClock:
    """A monotonic clock that moves only when a test moves it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_tokens_fourth_quick_request_is_rate_limited_while_another_token_is_not(
    database_url: str, tmp_path: Path
) -> None:
    settings = Settings.load(
        tmp_path / "data", database_url=database_url, rate_limit_per_second=1, rate_limit_burst=3
    )
    with running_node(settings) as node:
        # The app's own limiter, made from the settings, on a clock that stands still: four
        # requests "within one second" however slowly this machine sends them.
        assert isinstance(node.http, TestClient)
        limiter: RateLimiter = node.http.app.state.rate_limiter  # type: ignore[attr-defined]
        clock = StoppedClock()
        limiter.clock = clock
        head = "/v1/subjects/ledger/head"
        one, other = bearer(node.tokens.inspector), bearer(node.tokens.root_writer)
        statuses = [node.http.get(head, headers=one).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = node.http.get(head, headers=one)
        assert limited.status_code == 429
        assert problem_slug(limited) == "rate-limited"
        retry_after = limited.headers["retry-after"]
        assert retry_after == "1", retry_after  # one request's worth at one a second
        assert node.tokens.inspector not in limited.text
        # another token has its own budget
        assert node.http.get(head, headers=other).status_code == 200
        # before Retry-After seconds have passed the first token is still refused ...
        clock.now += int(retry_after) / 2
        assert node.http.get(head, headers=one).status_code == 429
        # ... and once they have, it may ask again
        clock.now += int(retry_after) / 2
        assert node.http.get(head, headers=one).status_code == 200


# --- the access log ----------------------------------------------------------------------


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture, node: Node) -> Iterator[pytest.LogCaptureFixture]:
    """Every log record, the ``ledger`` loggers' included (they may not propagate)."""
    ledger_logger = logging.getLogger("ledger")
    attached = not ledger_logger.propagate
    if attached:
        ledger_logger.addHandler(caplog.handler)
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="ledger")
    caplog.clear()
    yield caplog
    if attached:
        ledger_logger.removeHandler(caplog.handler)


def access_records(logs: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in logs.records if r.name == "ledger.access"]


def test_each_request_leaves_one_access_record_with_its_token_id(
    node: Node, logs: pytest.LogCaptureFixture
) -> None:
    inspector = node.tokens.inspector
    inspector_id = node.tokens.store.authenticate(inspector).token_id
    calls = [
        ("GET", "/v1/subjects/ledger/head", bearer(inspector), 200, inspector_id),
        ("POST", "/v1/events", bearer(inspector), 403, inspector_id),
        ("GET", "/v1/log/entries", {}, 401, None),
        ("GET", "/healthz", {}, 200, None),
        ("GET", "/v1/no/such/route", bearer(inspector), 404, None),
    ]
    for method, path, headers, status, _ in calls:
        assert node.http.request(method, path, headers=headers, auth=None).status_code == status
    records = access_records(logs)
    assert len(records) == len(calls)
    for record, (method, path, _, status, token_id) in zip(records, calls, strict=True):
        fields: dict[str, Any] = record.__dict__
        assert (fields["method"], fields["path"], fields["status"]) == (method, path, status)
        assert fields["token_id"] == token_id
        assert isinstance(fields["duration_ms"], float)
        assert fields["duration_ms"] >= 0


def test_the_access_record_is_one_json_line(node: Node, logs: pytest.LogCaptureFixture) -> None:
    node.http.get("/v1/subjects/ledger/head")
    (record,) = access_records(logs)
    handlers = [h for h in logging.getLogger("ledger").handlers if getattr(h, "_ledger", False)]
    assert handlers, "the ledger's own log handler is not installed"
    line = handlers[0].format(record)
    assert "\n" not in line
    fields = json.loads(line)
    assert fields["name"] == "ledger.access"
    assert fields["path"] == "/v1/subjects/ledger/head"
    assert fields["status"] == 200
    assert fields["token_id"] == node.tokens.store.authenticate(node.tokens.inspector).token_id
    assert "duration_ms" in fields


def test_no_log_record_ever_contains_a_bearer_token(
    node: Node, world: World, logs: pytest.LogCaptureFixture
) -> None:
    revoked, revoked_secret = node.tokens.store.create("inspector")
    node.tokens.store.revoke(revoked.token_id)
    unknown = "alt_" + "A" * 43
    writer = node.tokens.writer("H10")
    h10 = world.agency("H10")  # appends on the root-writer token
    env = world.envelope(
        "unit.registered",
        "agency:H10",
        h10.registrar,
        {"unit_id": "phong", "name": "Phòng", "parent_unit": "lanh-dao"},
    )
    json_body = {"Content-Type": "application/json"}
    http = node.http
    http.post("/v1/events", content=jcs(env), headers={**bearer(writer), **json_body})
    http.post("/v1/events", content=b"{", headers={**bearer(writer), **json_body})
    http.post("/v1/events", content=jcs(env), headers={**bearer(node.tokens.inspector)})
    http.post("/v1/tokens", json={"role": "inspector"}, headers=bearer(node.tokens.admin))
    for secret in (revoked_secret, unknown, node.tokens.admin):
        http.get("/v1/log/entries?start=0&end=1", headers=bearer(secret))
        http.get("/v1/log/entries?start=0&end=1", headers={"Authorization": secret})
    assert access_records(logs)
    secrets = [
        revoked_secret,
        unknown,
        writer,
        node.tokens.inspector,
        node.tokens.admin,
        node.tokens.root_writer,
    ]
    formatters = [h for h in logging.getLogger("ledger").handlers if getattr(h, "_ledger", False)]
    for record in logs.records:
        rendered = [record.getMessage(), repr(record.__dict__)]
        rendered += [h.format(record) for h in formatters]
        for text in rendered:
            for secret in secrets:
                assert secret not in text, f"{record.name} logged a bearer token"


# --- metrics -----------------------------------------------------------------------------


def scrape(node: Node) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = node.http.get("/metrics", auth=None)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def appends(metrics: dict[tuple[str, tuple[tuple[str, str], ...]], float], result: str) -> float:
    return metrics.get(("ledger_appends_total", (("result", result),)), 0.0)


def test_metrics_count_appends_by_result_and_show_latency_and_sizes(
    node: Node, world: World
) -> None:
    before = scrape(node)
    h10 = world.agency("H10")  # three appends
    env = world.envelope(
        "unit.registered",
        "agency:H10",
        h10.registrar,
        {"unit_id": "phong", "name": "Phòng", "parent_unit": "lanh-dao"},
    )
    assert world.post(env).status_code == 201
    assert world.post(env).status_code == 200  # an exact replay
    stale = world.envelope(
        "unit.registered",
        "agency:H10",
        h10.registrar,
        {"unit_id": "phong-2", "name": "Phòng 2", "parent_unit": "lanh-dao"},
        seq=0,  # agency:H10 has four statements already
        prev=None,
    )
    response = world.post(stale)
    assert response.status_code == 409
    assert problem_slug(response) == "stale-head"
    # wait until the tree has caught up, so both sizes are the log's
    deadline = time.monotonic() + 15
    while node.ledger.recorder.tree_size() < node.ledger.size() and time.monotonic() < deadline:
        time.sleep(0.05)
    after = scrape(node)
    assert appends(after, "created") - appends(before, "created") == 4
    assert appends(after, "replayed") - appends(before, "replayed") == 1
    assert appends(after, "stale-head") - appends(before, "stale-head") == 1
    count = ("ledger_append_seconds_count", ())
    assert after[count] - before.get(count, 0.0) >= 4
    assert ("ledger_append_seconds_sum", ()) in after
    assert any(name == "ledger_append_seconds_bucket" for name, _ in after)
    size = node.ledger.size()
    assert after[("ledger_log_size", ())] == size
    assert after[("ledger_tree_size", ())] == size


# --- readiness ---------------------------------------------------------------------------


def test_readyz_answers_200_while_the_log_is_integrated(node: Node) -> None:
    response = node.http.get("/readyz", auth=None)
    assert response.status_code == 200, response.text
    deadline = time.monotonic() + 15
    while node.ledger.recorder.tree_size() < node.ledger.size() and time.monotonic() < deadline:
        time.sleep(0.05)
    # nothing waits for the tree, so no clock makes it stalled
    assert integration_stall(node.ledger, now=utc_now() + timedelta(days=1)) is None


def test_readyz_answers_503_when_an_entry_waits_past_the_maximum_merge_delay(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings.load(tmp_path / "data", database_url=database_url, integrate=False)
    with running_node(settings, integrate=False) as node:
        assert node.ledger.recorder.tree_size() == 0
        # the genesis (index 0) waits for the tree: fine for 60 s, stalled after
        genesis = node.ledger.records(0, 1)[0]
        recorded = parse_instant(split_entry(genesis.entry).recorded_at)
        assert integration_stall(node.ledger, now=recorded + timedelta(seconds=59)) is None
        stalled = integration_stall(node.ledger, now=recorded + timedelta(seconds=61))
        assert stalled is not None
        assert "entry 0" in stalled
        assert node.http.get("/readyz", auth=None).status_code == 200

        later = utc_now() + timedelta(minutes=2)
        monkeypatch.setattr(api.observability, "utc_now", lambda: later)
        response = node.http.get("/readyz", auth=None)
        assert response.status_code == 503, response.text
        assert problem_slug(response) == "not-ready"
        assert "stalled" in response.json()["detail"]


# --- settings ----------------------------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("LEDGER_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_environment_variables_override_ledger_toml_which_overrides_defaults(
    tmp_path: Path, clean_env: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "ledger.toml").write_text(
        'port = 9001\nrate_limit_burst = 7\nlog_format = "text"\n', encoding="utf-8"
    )
    clean_env.setenv("LEDGER_PORT", "9002")
    settings = Settings.load(data)
    assert settings.port == 9002  # the environment over the file
    assert settings.rate_limit_burst == 7  # the file over the default
    assert settings.log_format == "text"
    assert settings.max_request_bytes == 64 * 1024  # the default
    assert Settings.load(data, port=9003).port == 9003  # a command-line option over all
    clean_env.delenv("LEDGER_PORT")
    assert Settings.load(data).port == 9001
    clean_env.setenv("LEDGER_DATA_DIR", str(data))
    assert Settings.load().port == 9001  # the data dir named by the environment
    assert Settings.load(tmp_path / "elsewhere").port == 8000


def _ed25519_vkey() -> str:
    # A fixed key: parametrised test ids must be the same in every collecting process.
    return format_vkey("log.example", SigningKey.from_seed(b"\x07" * 32).public_bytes)


BAD_VALUES = [
    # variable, value, the setting the message names
    ("LEDGER_PORT", "abc", "port"),
    ("LEDGER_PORT", "70000", "port"),
    ("LEDGER_RATE_LIMIT_PER_SECOND", "-5", "rate_limit_per_second"),
    ("LEDGER_RATE_LIMIT_BURST", "0", "rate_limit_burst"),
    ("LEDGER_DATABASE_URL", "mysql://ledger@localhost/ledger", "database_url"),
    ("LEDGER_WITNESS_VKEYS", json.dumps([_ed25519_vkey()]), "witness_vkeys"),
    ("LEDGER_WITNESS_VKEYS", '["not a vkey"]', "witness_vkeys"),
    ("LEDGER_LOG_FORMAT", "xml", "log_format"),
]


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(("variable", "value", "setting"), BAD_VALUES)
def test_a_bad_value_fails_with_a_configuration_error_naming_the_setting(
    tmp_path: Path, clean_env: pytest.MonkeyPatch, variable: str, value: str, setting: str
) -> None:
    clean_env.setenv(variable, value)
    with pytest.raises(ConfigurationError) as raised:
        Settings.load(tmp_path / "data")
    assert f"{setting}:" in str(raised.value)


def test_a_bad_value_in_ledger_toml_names_the_setting_and_the_file(
    tmp_path: Path, clean_env: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "ledger.toml").write_text("rate_limit_per_second = -1\n", encoding="utf-8")
    with pytest.raises(ConfigurationError) as raised:
        Settings.load(data)
    assert "rate_limit_per_second:" in str(raised.value)
    assert str(data / "ledger.toml") in str(raised.value)


def test_a_witness_vkey_of_the_right_type_is_accepted(
    tmp_path: Path, clean_env: pytest.MonkeyPatch
) -> None:
    vkey = witness_vkey("thanh-tra.example", SigningKey.generate())
    clean_env.setenv("LEDGER_WITNESS_VKEYS", json.dumps([vkey]))
    assert Settings.load(tmp_path / "data").witness_vkeys == [vkey]


SERVE_CASES = [
    ("LEDGER_PORT", "abc", "port"),
    ("LEDGER_RATE_LIMIT_PER_SECOND", "-5", "rate_limit_per_second"),
    ("LEDGER_DATABASE_URL", "mysql://ledger@localhost/ledger", "database_url"),
    ("LEDGER_WITNESS_VKEYS", json.dumps([_ed25519_vkey()]), "witness_vkeys"),
]


@pytest.mark.parametrize(("variable", "value", "setting"), SERVE_CASES)
def test_ledgerctl_serve_with_a_bad_value_exits_2_naming_the_setting(
    tmp_path: Path, variable: str, value: str, setting: str
) -> None:
    try:
        # a bad value must stop serve before it listens; 20 s is far more than enough
        result = ledgerctl(
            "serve", "--data-dir", str(tmp_path / "data"), env={variable: value}, timeout=20
        )
    except subprocess.TimeoutExpired:
        pytest.fail("ledgerctl serve started with a bad setting instead of failing fast")
    assert result.returncode == 2, result.stderr
    assert f"{setting}:" in _flat(result.stderr)


def test_ledgerctl_serve_with_a_bad_value_in_ledger_toml_exits_2_naming_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "ledger.toml").write_text('port = "abc"\n', encoding="utf-8")
    try:
        result = ledgerctl("serve", "--data-dir", str(data), timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail("ledgerctl serve started with a bad setting instead of failing fast")
    assert result.returncode == 2, result.stderr
    assert "port:" in _flat(result.stderr)
    assert "ledger.toml" in result.stderr
