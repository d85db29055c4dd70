"""``ledgerctl`` as a person runs it: init, keys, sign, serve, append."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from ledger.canonical import jcs
from ledger.client import envelope, make_statement
from ledger.crypto import SigningKey
from tests.e2e.conftest import Server, run


def test_init_creates_the_data_dir_keys_and_genesis_and_refuses_to_run_twice(
    tmp_path: Path,
) -> None:
    data = tmp_path / "ledger-data"
    result = run(
        "init",
        "--origin",
        "tinh.example.gov.vn/ledger",
        "--data-dir",
        str(data),
        "--root-registrar-id",
        "so-noi-vu",
        "--root-registrar-name",
        "Sở Nội vụ",
    )
    receipt = json.loads(result.stdout)
    assert receipt["index"] == 0
    assert receipt["subject"] == "ledger"
    assert receipt["seq"] == 0
    for name in ("log.key", "root-registrar.key"):
        mode = stat.S_IMODE((data / name).stat().st_mode)
        assert mode == 0o600, f"{name} has mode {oct(mode)}"
        assert b"BEGIN PRIVATE KEY" in (data / name).read_bytes()  # PEM PKCS#8
    again = run(
        "init", "--origin", "tinh.example.gov.vn/ledger", "--data-dir", str(data), check=False
    )
    assert again.returncode != 0
    assert b"already" in again.stderr


def test_init_refuses_an_origin_with_whitespace_or_a_plus(tmp_path: Path) -> None:
    for origin in ("bad origin", "bad+origin"):
        result = run("init", "--origin", origin, "--data-dir", str(tmp_path / "d"), check=False)
        assert result.returncode == 2
        assert b"origin" in result.stderr


def test_a_root_key_held_elsewhere_signs_the_genesis_in_two_steps(tmp_path: Path) -> None:
    data = tmp_path / "data"
    key_info = json.loads(run("keys", "generate", "--out", str(tmp_path / "root.key")).stdout)
    public = tmp_path / "root.pub"
    public.write_text(key_info["public_key"])
    # Step one writes the genesis statement; nothing is stored yet.
    run(
        "init",
        "--origin",
        "e2e.example/ledger",
        "--data-dir",
        str(data),
        "--root-registrar-key",
        str(public),
    )
    statement = (data / "genesis-statement.json").read_bytes()
    signed = run("sign", "--key", str(tmp_path / "root.key"), stdin=statement).stdout
    (tmp_path / "genesis.json").write_bytes(signed)
    # Step two stores the signed genesis at index 0.
    receipt = json.loads(
        run(
            "init", "--data-dir", str(data), "--genesis-envelope", str(tmp_path / "genesis.json")
        ).stdout
    )
    assert receipt["index"] == 0


def test_keys_generate_prints_the_public_key_and_id_and_never_overwrites(tmp_path: Path) -> None:
    out = tmp_path / "k.pem"
    info = json.loads(run("keys", "generate", "--out", str(out)).stdout)
    key = SigningKey.load(out)
    assert info == {"public_key": key.public_b64, "key_id": key.key_id}
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert run("keys", "generate", "--out", str(out), check=False).returncode != 0


def test_sign_fills_the_key_and_signs_the_canonical_statement(tmp_path: Path) -> None:
    key = SigningKey.generate()
    key.save(tmp_path / "k.pem")
    statement = make_statement(
        "matter.closed",
        "matter:M-1",
        seq=3,
        prev="ab" * 32,
        actor="a",
        key_id="",
        body={"result": "completed"},
    )
    env = json.loads(
        run("sign", "--key", str(tmp_path / "k.pem"), stdin=json.dumps(statement).encode()).stdout
    )
    assert env["statement"]["key"] == key.key_id
    assert env == envelope({**statement, "key": key.key_id}, key)


def test_serve_refuses_an_uninitialised_data_dir_with_a_clear_message(tmp_path: Path) -> None:
    result = run("serve", "--data-dir", str(tmp_path / "empty"), check=False)
    assert result.returncode == 2
    assert b"ledgerctl init" in result.stderr


def test_append_posts_envelopes_to_a_running_server_and_prints_receipts(
    server: Server, tmp_path: Path
) -> None:
    url, data = server.url, server.data
    root = SigningKey.load(data / "root-registrar.key")
    statement = make_statement(
        "agency.registered",
        "agency:000.00.15.H10",
        seq=0,
        prev=None,
        actor="root-registrar",
        key_id=root.key_id,
        body={"name": "Sở Tư pháp tỉnh", "level": "province"},
    )
    path = tmp_path / "agency.json"
    path.write_bytes(jcs(envelope(statement, root)))
    token = ("--token", server.root_writer)
    unauthenticated = run("append", url, str(path), check=False)
    assert unauthenticated.returncode == 1
    assert b"unauthenticated" in unauthenticated.stderr
    first = json.loads(run("append", url, str(path), *token).stdout)
    assert first["index"] == 1
    assert first["subject"] == "agency:000.00.15.H10"
    # An exact replay answers the same receipt; a broken envelope fails the command.
    assert json.loads(run("append", url, str(path), *token).stdout) == first
    bad = tmp_path / "bad.json"
    bad.write_text('{"statement": {}, "signature": "x"}')
    failed = run("append", url, str(bad), *token, check=False)
    assert failed.returncode == 1
    assert b"invalid-statement" in failed.stderr
