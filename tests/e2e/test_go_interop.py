"""Go's ``golang.org/x/mod/sumdb/note`` and ``sumdb/tlog`` verify what a running server
serves (DESIGN §5): its checkpoints, inclusion proofs, entries' leaf hashes and a
consistency proof, unchanged.

The verifier, ``tests/e2e/go/verifylog``, is built in GOPATH mode from Debian's
``golang-go`` and ``golang-golang-x-mod-dev`` (no network); ``.ci/run`` installs them. Where
they are not installed, the tests skip and say so — except under ``LEDGER_REQUIRE_GO=1``
(CI sets it), where they fail: the only outside check must never be skipped silently.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

from ledger.canonical import jcs
from ledger.client import envelope, envelope_hash, make_statement
from ledger.crypto import SigningKey
from ledger.note import Checkpoint, format_vkey
from tests.e2e.conftest import Server

SOURCE = Path(__file__).parent / "go" / "verifylog"
GOCODE = Path("/usr/share/gocode")  # where Debian's golang-*-dev packages put Go sources
X_MOD = GOCODE / "src" / "golang.org" / "x" / "mod" / "sumdb"
NOT_INSTALLED = "Go toolchain not installed: install golang-go and golang-golang-x-mod-dev"


def go_env(work: Path) -> dict[str, str]:
    """GOPATH mode over Debian's gocode tree: no modules, no proxy, caches in ``work``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GO", "LEDGER_"))}
    env.update(
        GO111MODULE="off",
        GOPATH=f"{work / 'gopath'}{os.pathsep}{GOCODE}",
        GOPROXY="off",
        GOFLAGS="",
        GOCACHE=str(work / "gocache"),
    )
    return env


@pytest.fixture(scope="module")
def verifylog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Go verifier, built once for this module."""
    go = shutil.which("go")
    missing = [
        what
        for what, present in (
            ("`go` is not on PATH", go is not None),
            (f"{X_MOD / 'note'} is missing", (X_MOD / "note").is_dir()),
            (f"{X_MOD / 'tlog'} is missing", (X_MOD / "tlog").is_dir()),
        )
        if not present
    ]
    if go is None or missing:
        reason = f"{NOT_INSTALLED} ({'; '.join(missing)})"
        if os.environ.get("LEDGER_REQUIRE_GO") == "1":
            pytest.fail(f"{reason} (LEDGER_REQUIRE_GO=1)")
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("go")
    binary = work / "verifylog"
    build = subprocess.run(
        [go, "build", "-o", str(binary), "."],
        cwd=SOURCE,
        env=go_env(work),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert build.returncode == 0, f"go build failed:\n{build.stdout}{build.stderr}"
    return binary


def verify(
    binary: Path, server: Server, vkey: str, earlier: Path, indexes: list[int]
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    result = subprocess.run(
        [str(binary), "-old", str(earlier), server.url, vkey, *map(str, indexes)],
        # /v1/log/entries names people: it needs an inspector's token.
        env={**clean, "LEDGER_TOKEN": server.inspector},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    print(result.stdout, result.stderr)  # shown when a test fails
    return result


def populate(server: Server, count: int, save_after: int) -> tuple[str, str]:
    """Append ``count`` calendar adjustments chained on ``calendar:VN``, waiting for a
    checkpoint after the ``save_after``-th and after the last; those two checkpoints."""
    root = SigningKey.load(server.data / "root-registrar.key")
    prev: str | None = None
    notes = []
    with httpx.Client(base_url=server.url, timeout=15) as http:
        for seq in range(count):
            statement = make_statement(
                "calendar.adjusted",
                "calendar:VN",
                seq=seq,
                prev=prev,
                actor="root-registrar",
                key_id=root.key_id,
                body={
                    "date": (date(2025, 1, 1) + timedelta(days=seq)).isoformat(),
                    "kind": "day_off",
                    "source_document": f"Quyết định số {seq + 1}/QĐ-UBND",
                },
            )
            env = envelope(statement, root)
            wait = seq + 1 in (save_after, count)
            response = http.post(
                "/v1/events",
                params={"wait": "true"} if wait else None,
                content=jcs(env),
                headers=server.headers(server.root_writer),
            )
            assert response.status_code == 201, response.text
            if wait:
                notes.append(response.json()["checkpoint"])
            prev = envelope_hash(env)
    return notes[0], notes[1]


def log_checkpoint(text: str) -> tuple[int, str]:
    """A checkpoint note's tree size and base64 root, read with the plainest split."""
    _origin, size, root = text.split("\n")[:3]
    return int(size), root


def test_go_note_and_tlog_verify_the_checkpoints_proofs_and_entries_a_running_server_serves(
    verifylog: Path, server: Server, tmp_path: Path
) -> None:
    url = server.url
    earlier, latest = populate(server, count=36, save_after=9)
    size_m, _ = log_checkpoint(earlier)
    size_n, root_n = log_checkpoint(latest)
    served = httpx.get(url + "/v1/log/checkpoint").text
    assert log_checkpoint(served) == (size_n, root_n)  # nothing appended since
    assert 1 < size_m < size_n == 37  # the genesis entry and 36 adjustments
    (tmp_path / "earlier.checkpoint").write_text(earlier)
    vkey = httpx.get(url + "/v1/log/key").json()["vkey"]

    indexes = sorted({0, 1, size_m - 1, size_m, size_n // 2, size_n - 2, size_n - 1})
    result = verify(verifylog, server, vkey, tmp_path / "earlier.checkpoint", indexes)

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"checkpoint ok: latest: origin e2e.example/ledger, size {size_n}, root {root_n}" in out
    assert f"checkpoint ok: earlier: origin e2e.example/ledger, size {size_m}," in out
    for index in indexes:
        assert f"inclusion ok: index {index} in tree {size_n} " in out
        assert f"entry ok: index {index}, tlog.RecordHash of its " in out
    assert f"consistency ok: tree {size_m} is a prefix of tree {size_n} " in out
    assert out.endswith("all checks passed\n")


def test_the_go_verifier_fails_on_another_key_a_tampered_note_or_a_forged_earlier_root(
    verifylog: Path, server: Server, tmp_path: Path
) -> None:
    url, data = server.url, server.data
    earlier, _ = populate(server, count=12, save_after=5)
    good = tmp_path / "earlier.checkpoint"
    good.write_text(earlier)
    origin, vkey = (httpx.get(url + "/v1/log/key").json()[k] for k in ("origin", "vkey"))
    size_m, _ = log_checkpoint(earlier)
    assert verify(verifylog, server, vkey, good, [1]).returncode == 0

    # Another key under the same name: Go finds no signature it can verify.
    other = format_vkey(origin, SigningKey.generate().public_bytes)
    result = verify(verifylog, server, other, good, [1])
    assert result.returncode == 1
    assert "FAIL: latest: note.Open: note has no verifiable signatures" in result.stderr

    # The earlier note with its size changed after signing: the log's signature breaks.
    tampered = tmp_path / "tampered.checkpoint"
    tampered.write_text(earlier.replace(f"\n{size_m}\n", f"\n{size_m - 1}\n", 1))
    result = verify(verifylog, server, vkey, tampered, [1])
    assert result.returncode == 1
    assert "FAIL: earlier: note.Open: invalid signature for key e2e.example/ledger" in (
        result.stderr
    )

    # A validly signed earlier checkpoint whose root is not the log's: CheckTree refuses.
    log_key = SigningKey.load(data / "log.key")
    forged = tmp_path / "forged.checkpoint"
    forged.write_text(Checkpoint(origin, size_m, bytes(32)).sign(log_key))
    result = verify(verifylog, server, vkey, forged, [1])
    assert result.returncode == 1
    assert "checkpoint ok: earlier" in result.stdout  # the signature itself is fine
    assert "FAIL: tlog.CheckTree(" in result.stderr
    assert "invalid transparency proof" in result.stderr
