"""Witnesses (DESIGN §5): a witness cosigns only checkpoints consistent with the last one it
cosigned, and the log keeps the cosignatures of configured witnesses only.

The node integrates only when a test calls ``transparency.step()``; a witness talks to it
through the in-process client, or to a stub log (``httpx.MockTransport``) serving
checkpoints forged with the node's own log key.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from ledger.canonical import jcs
from ledger.client import envelope, make_statement
from ledger.crypto import SigningKey
from ledger.note import parse_verifier
from ledger.settings import Settings
from ledger.storage import StoredCheckpoint
from ledger.transparency import TransparencyLog
from ledger.witness import Witness, WitnessRefusal, WitnessState
from tests.conftest import running_node
from tests.unit.test_merkle_properties import Reference
from tests.unit.test_spec_bytes import (
    checkpoint_note_by_hand,
    cosignature_line_by_hand,
    cosignature_time_by_hand,
    leaf_hash_by_hand,
    open_checkpoint_by_hand,
    vkey_by_hand,
)
from tests.world import ORIGIN, Node, World, problem_slug

NAME = "thanh-tra.example"
LEDGERCTL = str(Path(sys.executable).parent / "ledgerctl")
TEXT = {"Content-Type": "text/plain; charset=utf-8"}


# Expectations come from the spec, not from the code under test: vkeys, checkpoint texts,
# notes and cosignature lines are made and checked by hand with ``hashlib`` and
# ``cryptography`` (tests/unit/test_spec_bytes.py), forked trees are RFC 6962's recursive
# definitions (tests/unit/test_merkle_properties.py).


@pytest.fixture
def witness_key() -> SigningKey:
    return SigningKey.generate()


def witness_vkey_by_hand(name: str, key: SigningKey) -> str:
    """The cosignature/v1 vkey (type 0x04) of ``key`` under ``name``."""
    return vkey_by_hand(name, 0x04, key.private.public_key().public_bytes_raw())


def log_vkey_by_hand(log: TransparencyLog) -> str:
    """The Ed25519 note vkey (type 0x01) of the log's key under its origin."""
    assert log.log_key is not None
    return vkey_by_hand(log.origin, 0x01, log.log_key.private.public_key().public_bytes_raw())


def checkpoint_text(size: int, root: bytes) -> str:
    """C2SP tlog-checkpoint: origin, tree size, base64 root hash, each on its line."""
    return f"{ORIGIN}\n{size}\n{base64.b64encode(root).decode()}\n"


@pytest.fixture
def node(database_url: str, tmp_path: Path, witness_key: SigningKey) -> Iterator[Node]:
    """The shared ``node`` with one witness configured, integrating only on ``step()``."""
    settings = Settings.load(
        tmp_path / "data",
        database_url=database_url,
        integrate=False,
        witness_vkeys=[witness_vkey_by_hand(NAME, witness_key)],
    )
    with running_node(settings, integrate=False) as running:
        yield running


@pytest.fixture
def log(node: Node) -> TransparencyLog:
    assert node.ledger.transparency is not None
    return node.ledger.transparency


@pytest.fixture
def log_key(node: Node) -> SigningKey:
    return SigningKey.load(node.settings.log_key_path)


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    return tmp_path / "witness" / "state.json"


def witness(log: TransparencyLog, key: SigningKey, state_path: Path, http: httpx.Client) -> Witness:
    return Witness(
        log=parse_verifier(log_vkey_by_hand(log)),
        key=key,
        name=NAME,
        state_path=state_path,
        http=http,
    )


def stored_leaves(node: Node, size: int) -> list[bytes]:
    """SHA-256(0x00 || entry) of the first ``size`` stored entries."""
    return [leaf_hash_by_hand(r.entry) for r in node.ledger.records(0, size)]


def grow(world: World, log: TransparencyLog, agencies: int = 1) -> StoredCheckpoint:
    """Append a few registry entries (three an agency) and sign a checkpoint over them: the
    log's signed note of the RFC 6962 root of every stored entry."""
    for _ in range(agencies):
        world.agency(f"A{world.ledger.size()}")
    signed = log.step()
    assert signed is not None
    root = Reference(stored_leaves(world.node, signed.size)).mth(0, signed.size)
    assert signed.root == root
    assert open_checkpoint_by_hand(signed.note, log_vkey_by_hand(log)) == (
        ORIGIN,
        signed.size,
        root,
    )
    return signed


def signature_names(note: str) -> list[str]:
    """The key names of a note's signature lines, in order."""
    _, _, block = note.partition("\n\n")
    return [line.split(" ")[1] for line in block.splitlines()]


class StubLog:
    """A log served by hand: one checkpoint note and one consistency proof; it records
    every request, and accepts any cosignature posted."""

    def __init__(self, note: str, proof: list[bytes]) -> None:
        self.note = note
        self.proof = proof
        self.requests: list[httpx.Request] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.method == "GET" and request.url.path == "/v1/log/checkpoint":
            return httpx.Response(200, text=self.note, headers=TEXT)
        if request.method == "GET" and request.url.path == "/v1/log/proof/consistency":
            params = request.url.params
            return httpx.Response(
                200,
                json={
                    "first": int(params["first"]),
                    "second": int(params["second"]),
                    "hashes": [h.hex() for h in self.proof],
                },
            )
        if request.method == "POST" and request.url.path == "/v1/log/cosignatures":
            return httpx.Response(200, json={"tree_size": 0, "accepted": [NAME]})
        return httpx.Response(404)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handle), base_url="http://stub")

    @property
    def posted(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == "POST"]


def refused(follower: Witness, stub: StubLog, state_path: Path) -> str:
    """Require a refusal that posted nothing and left the state file as it was."""
    before = state_path.read_bytes() if state_path.exists() else None
    with pytest.raises(WitnessRefusal) as refusal:
        follower.step()
    assert stub.posted == []
    assert (state_path.read_bytes() if state_path.exists() else None) == before
    return str(refusal.value)


# --- cosigning a consistent log -------------------------------------------------------


def test_a_witness_cosigns_the_first_checkpoint_then_a_later_consistent_one(
    node: Node,
    world: World,
    log: TransparencyLog,
    witness_key: SigningKey,
    state_path: Path,
) -> None:
    vkey = witness_vkey_by_hand(NAME, witness_key)
    follower = witness(log, witness_key, state_path, node.http)
    for agencies in (2, 3):
        signed = grow(world, log, agencies)
        cosigned = follower.step()
        assert cosigned is not None
        assert (cosigned.size, cosigned.root) == (signed.size, signed.root)
        # the log serves the checkpoint with the witness's verifying line after its own
        served = node.http.get("/v1/log/checkpoint/cosigned")
        assert served.status_code == 200
        assert served.headers["content-type"].startswith("text/plain")
        assert served.text.startswith(signed.note)
        assert signature_names(served.text) == [ORIGIN, NAME]
        assert abs(cosignature_time_by_hand(served.text, vkey) - time.time()) < 60
        assert open_checkpoint_by_hand(served.text, log_vkey_by_hand(log)) == (
            ORIGIN,
            signed.size,
            signed.root,
        )
        # the witness remembers what it cosigned
        assert WitnessState.load(state_path) == WitnessState(ORIGIN, signed.size, signed.root)
        saved = json.loads(state_path.read_text("utf-8"))
        root = base64.b64encode(signed.root).decode()
        assert saved == {"origin": ORIGIN, "size": signed.size, "root": root}


def test_the_evidence_page_of_a_cosigned_checkpoint_verifies_with_the_configured_witness(
    node: Node,
    world: World,
    log: TransparencyLog,
    witness_key: SigningKey,
    state_path: Path,
) -> None:
    """The server's HTML rendering verifies the bundle it sent against its own log key and
    the witnesses it is configured with: a cosigned checkpoint is no unknown line."""
    agency = world.agency("so-tnmt")
    clerk = world.official("chuyen.vien.a", agency)
    world.open_matter("H10-0001", clerk, agency)
    assert log.step() is not None
    assert witness(log, witness_key, state_path, node.http).step() is not None

    bundle = node.http.get("/v1/matters/H10-0001/evidence").json()
    assert signature_names(bundle["checkpoint"]) == [ORIGIN, NAME]
    page = node.http.get("/v1/matters/H10-0001/evidence", params={"format": "html"})
    assert page.status_code == 200
    assert "ĐÃ KIỂM CHỨNG" in page.text
    assert "KHÔNG ĐẠT KIỂM CHỨNG" not in page.text


def test_a_witness_with_no_new_checkpoint_cosigns_nothing_again(
    node: Node,
    world: World,
    log: TransparencyLog,
    witness_key: SigningKey,
    state_path: Path,
) -> None:
    signed = grow(world, log)
    follower = witness(log, witness_key, state_path, node.http)
    assert follower.step() is not None
    lines, state = log.recorder.cosignature_lines(signed.size), state_path.read_bytes()
    assert follower.step() is None
    assert log.recorder.cosignature_lines(signed.size) == lines
    assert state_path.read_bytes() == state


# --- refusing what it must not cosign -------------------------------------------------


@pytest.mark.parametrize("proof_from", ["the fork", "the real log", "nowhere"])
def test_a_witness_refuses_a_checkpoint_that_forks_from_the_one_it_cosigned(
    node: Node,
    world: World,
    log: TransparencyLog,
    log_key: SigningKey,
    witness_key: SigningKey,
    state_path: Path,
    proof_from: str,
) -> None:
    first = grow(world, log)
    assert witness(log, witness_key, state_path, node.http).step() is not None
    second = grow(world, log, 2)
    # Another history, signed with the log's own key: one entry of the first tree differs.
    leaves = stored_leaves(node, second.size)
    leaves[first.size - 1] = leaf_hash_by_hand(b"an entry the witness never saw")
    fork = Reference(leaves)
    proof = {
        "the fork": fork.proof(first.size, second.size),
        "the real log": log.consistency_proof(first.size, second.size),
        "nowhere": [],
    }[proof_from]
    note = checkpoint_note_by_hand(ORIGIN, second.size, fork.mth(0, second.size), log_key.private)
    stub = StubLog(note, proof)
    message = refused(witness(log, witness_key, state_path, stub.client()), stub, state_path)
    assert f"not consistent with size {first.size}" in message
    assert "forked" in message


def test_a_witness_refuses_a_rollback_to_a_smaller_tree(
    node: Node,
    world: World,
    log: TransparencyLog,
    witness_key: SigningKey,
    state_path: Path,
) -> None:
    first = grow(world, log)
    second = grow(world, log)
    assert witness(log, witness_key, state_path, node.http).step() is not None
    stub = StubLog(first.note, [])  # the log's own, genuine, older checkpoint
    message = refused(witness(log, witness_key, state_path, stub.client()), stub, state_path)
    assert f"went back from size {second.size} to {first.size}" in message


def test_a_witness_refuses_a_second_root_for_the_size_it_cosigned(
    node: Node,
    world: World,
    log: TransparencyLog,
    log_key: SigningKey,
    witness_key: SigningKey,
    state_path: Path,
) -> None:
    signed = grow(world, log)
    assert witness(log, witness_key, state_path, node.http).step() is not None
    other = leaf_hash_by_hand(b"another root")
    stub = StubLog(checkpoint_note_by_hand(ORIGIN, signed.size, other, log_key.private), [])
    message = refused(witness(log, witness_key, state_path, stub.client()), stub, state_path)
    assert f"two different roots for size {signed.size}" in message


@pytest.mark.parametrize("cosigned_before", [False, True])
@pytest.mark.parametrize(
    "forgery", ["another key", "another origin", "an edited size", "no log signature"]
)
def test_a_witness_refuses_a_checkpoint_the_logs_key_did_not_sign(
    node: Node,
    world: World,
    log: TransparencyLog,
    log_key: SigningKey,
    witness_key: SigningKey,
    state_path: Path,
    forgery: str,
    cosigned_before: bool,
) -> None:
    if cosigned_before:
        grow(world, log)
        assert witness(log, witness_key, state_path, node.http).step() is not None
    signed = grow(world, log)
    if forgery == "another key":
        stranger = SigningKey.generate().private
        note = checkpoint_note_by_hand(ORIGIN, signed.size, signed.root, stranger)
    elif forgery == "another origin":
        other = "other.example/log"
        note = checkpoint_note_by_hand(other, signed.size, signed.root, log_key.private)
    elif forgery == "an edited size":
        note = signed.note.replace(f"\n{signed.size}\n", f"\n{signed.size + 1}\n", 1)
    else:  # a stranger's line only
        text = checkpoint_text(signed.size, signed.root)
        stranger = SigningKey.generate().private
        note = text + "\n" + cosignature_line_by_hand(text, "stranger.example", stranger, 1)
    assert note != signed.note
    # the stub would prove consistency with the real tree, were the note genuine
    stub = StubLog(note, log.consistency_proof(1, signed.size) if cosigned_before else [])
    message = refused(witness(log, witness_key, state_path, stub.client()), stub, state_path)
    assert "does not verify" in message


# --- POST /v1/log/cosignatures --------------------------------------------------------


def post(
    node: Node, body: str | bytes, content_type: str | None = TEXT["Content-Type"]
) -> httpx.Response:
    headers = {} if content_type is None else {"Content-Type": content_type}
    content = body.encode("utf-8") if isinstance(body, str) else body
    return node.http.post("/v1/log/cosignatures", content=content, headers=headers)


def nothing_kept(node: Node, log: TransparencyLog, signed: StoredCheckpoint) -> None:
    assert log.recorder.cosignature_lines(signed.size) == []
    assert node.http.get("/v1/log/checkpoint/cosigned").text == log.latest().note


def test_the_log_keeps_a_configured_witnesses_valid_cosignature(
    node: Node, world: World, log: TransparencyLog, witness_key: SigningKey
) -> None:
    signed = grow(world, log)
    text = checkpoint_text(signed.size, signed.root)
    line = cosignature_line_by_hand(text, NAME, witness_key.private, 1_700_000_000)
    response = post(node, signed.note + line)
    assert response.status_code == 200, response.text
    assert response.json() == {"tree_size": signed.size, "accepted": [NAME]}
    assert node.http.get("/v1/log/checkpoint/cosigned").text == signed.note + line


@pytest.mark.parametrize("who", ["a witness not configured", "the configured name, another key"])
def test_a_cosignature_by_a_witness_not_configured_is_forbidden(
    node: Node, world: World, log: TransparencyLog, who: str
) -> None:
    signed = grow(world, log)
    name = "stranger.example" if who == "a witness not configured" else NAME
    text = checkpoint_text(signed.size, signed.root)
    line = cosignature_line_by_hand(text, name, SigningKey.generate().private, 1)
    response = post(node, signed.note + line)
    assert response.status_code == 403, response.text
    assert problem_slug(response) == "forbidden"
    nothing_kept(node, log, signed)


@pytest.mark.parametrize("flaw", ["over another checkpoint", "a flipped bit", "no timestamp"])
def test_a_configured_witnesses_bad_signature_is_refused_as_bad_signature(
    node: Node, world: World, log: TransparencyLog, witness_key: SigningKey, flaw: str
) -> None:
    earlier = grow(world, log)
    signed = grow(world, log)
    text = checkpoint_text(signed.size, signed.root)
    line = cosignature_line_by_hand(text, NAME, witness_key.private, 1_700_000_000)
    prefix, encoded = line.rstrip("\n").rsplit(" ", 1)
    raw = base64.b64decode(encoded)  # key hash || time || signature
    if flaw == "over another checkpoint":
        earlier_text = checkpoint_text(earlier.size, earlier.root)
        line = cosignature_line_by_hand(earlier_text, NAME, witness_key.private, 1)
    elif flaw == "a flipped bit":
        flipped = raw[:-1] + bytes([raw[-1] ^ 1])
        line = f"{prefix} {base64.b64encode(flipped).decode()}\n"
    else:  # a plain note signature: no 8-byte time
        plain = raw[:4] + witness_key.private.sign(text.encode())
        line = f"{prefix} {base64.b64encode(plain).decode()}\n"
    response = post(node, signed.note + line)
    assert response.status_code == 422, response.text
    assert problem_slug(response) == "bad-signature"
    assert log.recorder.cosignature_lines(earlier.size) == []
    nothing_kept(node, log, signed)


@pytest.mark.parametrize("forgery", ["another root at a signed size", "a size never signed"])
def test_a_cosigned_checkpoint_the_log_never_signed_is_not_found(
    node: Node,
    world: World,
    log: TransparencyLog,
    log_key: SigningKey,
    witness_key: SigningKey,
    forgery: str,
) -> None:
    signed = grow(world, log)
    size = signed.size if forgery == "another root at a signed size" else signed.size + 7
    root = leaf_hash_by_hand(b"never signed")
    note = checkpoint_note_by_hand(ORIGIN, size, root, log_key.private)
    note += cosignature_line_by_hand(checkpoint_text(size, root), NAME, witness_key.private, 1)
    response = post(node, note)
    assert response.status_code == 404, response.text
    assert problem_slug(response) == "not-found"
    nothing_kept(node, log, signed)


@pytest.mark.parametrize(
    "garbage",
    [
        b"hello, log\n",
        b"",
        b"test.ledger.example/province\n1\nnot base64\n\n\xe2\x80\x94 x AAAAAAA=\n",
        b"test.ledger.example/province\n1\n\n",
        b"\xff\xfe not UTF-8\n",
    ],
)
def test_a_garbled_cosignature_body_is_a_malformed_request(
    node: Node, world: World, log: TransparencyLog, garbage: bytes
) -> None:
    signed = grow(world, log)
    response = post(node, garbage)
    assert response.status_code == 400, response.text
    assert problem_slug(response) == "malformed-request"
    nothing_kept(node, log, signed)


@pytest.mark.parametrize("content_type", ["application/json", "text/html", None])
def test_a_cosignature_not_sent_as_text_plain_is_an_unsupported_media_type(
    node: Node,
    world: World,
    log: TransparencyLog,
    witness_key: SigningKey,
    content_type: str | None,
) -> None:
    signed = grow(world, log)
    text = checkpoint_text(signed.size, signed.root)
    line = cosignature_line_by_hand(text, NAME, witness_key.private, 1)
    response = post(node, signed.note + line, content_type)
    assert response.status_code == 415, response.text
    assert problem_slug(response) == "unsupported-media-type"
    nothing_kept(node, log, signed)


# --- ledgerctl witness ----------------------------------------------------------------


def ledgerctl(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    return subprocess.run(
        [LEDGERCTL, *args],
        capture_output=True,
        text=True,
        env={**clean, **(env or {})},
        timeout=60,
        check=False,
    )


def test_ledgerctl_witness_print_vkey_prints_the_cosignature_vkey(tmp_path: Path) -> None:
    key = SigningKey.generate()
    key.save(tmp_path / "witness.key")
    result = ledgerctl(
        "witness",
        "--url",
        "http://127.0.0.1:9",
        "--log-vkey",
        "unused",
        "--key",
        str(tmp_path / "witness.key"),
        "--name",
        NAME,
        "--print-vkey",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == witness_vkey_by_hand(NAME, key) + "\n"
    assert result.stdout.split("+")[2].startswith("B")  # base64 of 0x04 || key


@pytest.fixture
def served(tmp_path: Path, witness_key: SigningKey) -> Iterator[tuple[str, Path]]:
    """``ledgerctl init`` and ``ledgerctl serve`` (integrating) with the witness configured."""
    data = tmp_path / "served"
    init = ledgerctl(
        "init", "--origin", "e2e.example/ledger", "--data-dir", str(data),
        "--root-valid-from", "2020-01-01T00:00:00Z",
    )  # fmt: skip
    assert init.returncode == 0, init.stderr
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    vkeys = json.dumps([witness_vkey_by_hand(NAME, witness_key)])
    process = subprocess.Popen(
        [LEDGERCTL, "serve", "--data-dir", str(data), "--port", str(port)],
        env={**clean, "LEDGER_WITNESS_VKEYS": vkeys},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: httpx.get(url + "/v1/log/checkpoint", timeout=1).status_code == 200)
        yield url, data
    finally:
        process.terminate()
        process.wait(timeout=10)


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_ledgerctl_witness_once_cosigns_a_running_logs_checkpoints_and_refuses_a_fork(
    served: tuple[str, Path], witness_key: SigningKey, tmp_path: Path
) -> None:
    url, data = served
    key_file, state = tmp_path / "witness.key", tmp_path / "witness-state.json"
    witness_key.save(key_file)
    log_key = SigningKey.load(data / "log.key").private.public_key().public_bytes_raw()
    log_vkey = vkey_by_hand("e2e.example/ledger", 0x01, log_key)
    assert httpx.get(url + "/v1/log/key").json()["vkey"] == log_vkey
    args = ("witness", "--url", url, "--log-vkey", log_vkey, "--key", str(key_file))
    once = (*args, "--name", NAME, "--state", str(state), "--once")

    first = ledgerctl(*once)
    assert first.returncode == 0, first.stderr
    assert first.stdout == "cosigned e2e.example/ledger size 1\n"
    cosigned = httpx.get(url + "/v1/log/checkpoint/cosigned").text
    assert open_checkpoint_by_hand(cosigned, log_vkey)[:2] == ("e2e.example/ledger", 1)
    cosignature_time_by_hand(cosigned, witness_vkey_by_hand(NAME, witness_key))

    # one more entry, integrated by the server: the witness cosigns size 2
    root = SigningKey.load(data / "root-registrar.key")
    statement = make_statement(
        "agency.registered", "agency:H10", seq=0, prev=None, actor="root-registrar",
        key_id=root.key_id, body={"name": "Sở Tài nguyên", "level": "province"},
    )  # fmt: skip
    token = ledgerctl("tokens", "create", "--role", "root-writer", "--data-dir", str(data))
    appended = httpx.post(
        url + "/v1/events",
        content=jcs(envelope(statement, root)),
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {token.stdout.strip()}",
        },
    )
    assert appended.status_code == 201, appended.text
    wait_for(lambda: "\n2\n" in httpx.get(url + "/v1/log/checkpoint").text)
    second = ledgerctl(*once)
    assert second.returncode == 0, second.stderr
    assert second.stdout == "cosigned e2e.example/ledger size 2\n"
    assert httpx.get(url + "/v1/log/checkpoint/cosigned").text.split("\n")[1] == "2"
    assert json.loads(state.read_text())["size"] == 2

    again = ledgerctl(*once)
    assert (again.returncode, again.stdout) == (0, "")

    # a witness that remembers another root for size 2 refuses, exit 1
    remembered = json.loads(state.read_text())
    state.write_text(json.dumps({**remembered, "root": base64.b64encode(b"\x07" * 32).decode()}))
    forked = ledgerctl(*once)
    assert forked.returncode == 1, forked.stdout
    assert "refusing to cosign" in forked.stderr
    assert "forked" in forked.stderr
