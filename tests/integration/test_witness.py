"""Witnesses (DESIGN §5): a witness cosigns only checkpoints consistent with the last one it
cosigned, and the log keeps the cosignatures of configured witnesses only.

The node integrates only when a test calls ``transparency.step()``; a witness talks to it
through the in-process client, or to a stub log (``httpx.MockTransport``) serving
checkpoints forged with the node's own log key.
"""

from __future__ import annotations

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

from ledger import merkle
from ledger.canonical import jcs
from ledger.client import envelope, make_statement
from ledger.crypto import SigningKey, b64encode
from ledger.note import (
    Checkpoint,
    Note,
    Signature,
    cosign,
    open_checkpoint,
    parse_note,
    parse_verifier,
    verify_cosignature,
)
from ledger.settings import Settings
from ledger.storage import StoredCheckpoint
from ledger.transparency import TransparencyLog
from ledger.witness import Witness, WitnessRefusal, WitnessState, witness_vkey
from tests.conftest import running_node
from tests.world import ORIGIN, Node, World, problem_slug

NAME = "thanh-tra.example"
LEDGERCTL = str(Path(sys.executable).parent / "ledgerctl")
TEXT = {"Content-Type": "text/plain; charset=utf-8"}


@pytest.fixture
def witness_key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def node(database_url: str, tmp_path: Path, witness_key: SigningKey) -> Iterator[Node]:
    """The shared ``node`` with one witness configured, integrating only on ``step()``."""
    settings = Settings.load(
        tmp_path / "data",
        database_url=database_url,
        integrate=False,
        witness_vkeys=[witness_vkey(NAME, witness_key)],
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
        log=parse_verifier(log.vkey), key=key, name=NAME, state_path=state_path, http=http
    )


def grow(world: World, log: TransparencyLog, agencies: int = 1) -> StoredCheckpoint:
    """Append a few registry entries (three an agency) and sign a checkpoint over them."""
    for _ in range(agencies):
        world.agency(f"A{world.ledger.size()}")
    signed = log.step()
    assert signed is not None
    return signed


def cosignature(text: str) -> tuple[Note, Signature]:
    """The served note and the witness's line in it."""
    note = parse_note(text)
    (line,) = [s for s in note.signatures if s.name == NAME]
    return note, line


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
    verifier = parse_verifier(witness_vkey(NAME, witness_key))
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
        note, line = cosignature(served.text)
        assert [s.name for s in note.signatures] == [ORIGIN, NAME]
        assert abs(verify_cosignature(note.text, line, verifier) - time.time()) < 60
        open_checkpoint(served.text, parse_verifier(log.vkey))
        # the witness remembers what it cosigned
        assert WitnessState.load(state_path) == WitnessState(ORIGIN, signed.size, signed.root)
        saved = json.loads(state_path.read_text("utf-8"))
        assert saved == {"origin": ORIGIN, "size": signed.size, "root": b64encode(signed.root)}


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
    leaves = [r.leaf_hash for r in node.ledger.records(0, second.size)]
    leaves[first.size - 1] = merkle.hash_leaf(b"an entry the witness never saw")
    fork = merkle.MemoryTree()
    for leaf in leaves:
        fork.append(leaf)
    proof = {
        "the fork": fork.consistency_proof(first.size, second.size),
        "the real log": log.consistency_proof(first.size, second.size),
        "nowhere": [],
    }[proof_from]
    stub = StubLog(Checkpoint(ORIGIN, second.size, fork.root()).sign(log_key), proof)
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
    other = merkle.hash_leaf(b"another root")
    stub = StubLog(Checkpoint(ORIGIN, signed.size, other).sign(log_key), [])
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
        note = Checkpoint(ORIGIN, signed.size, signed.root).sign(SigningKey.generate())
    elif forgery == "another origin":
        note = Checkpoint("other.example/log", signed.size, signed.root).sign(log_key)
    elif forgery == "an edited size":
        note = signed.note.replace(f"\n{signed.size}\n", f"\n{signed.size + 1}\n", 1)
    else:  # a stranger's line only
        text = Checkpoint(ORIGIN, signed.size, signed.root).text
        note = Note(text, (cosign(text, "stranger.example", SigningKey.generate(), 1),)).render()
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
    line = cosign(
        Checkpoint(ORIGIN, signed.size, signed.root).text, NAME, witness_key, 1_700_000_000
    )
    response = post(node, signed.note + line.line)
    assert response.status_code == 200, response.text
    assert response.json() == {"tree_size": signed.size, "accepted": [NAME]}
    assert node.http.get("/v1/log/checkpoint/cosigned").text == signed.note + line.line


@pytest.mark.parametrize("who", ["a witness not configured", "the configured name, another key"])
def test_a_cosignature_by_a_witness_not_configured_is_forbidden(
    node: Node, world: World, log: TransparencyLog, who: str
) -> None:
    signed = grow(world, log)
    name = "stranger.example" if who == "a witness not configured" else NAME
    text = Checkpoint(ORIGIN, signed.size, signed.root).text
    line = cosign(text, name, SigningKey.generate(), 1)
    response = post(node, signed.note + line.line)
    assert response.status_code == 403, response.text
    assert problem_slug(response) == "forbidden"
    nothing_kept(node, log, signed)


@pytest.mark.parametrize("flaw", ["over another checkpoint", "a flipped bit", "no timestamp"])
def test_a_configured_witnesses_bad_signature_is_refused_as_bad_signature(
    node: Node, world: World, log: TransparencyLog, witness_key: SigningKey, flaw: str
) -> None:
    earlier = grow(world, log)
    signed = grow(world, log)
    text = Checkpoint(ORIGIN, signed.size, signed.root).text
    line = cosign(text, NAME, witness_key, 1_700_000_000)
    if flaw == "over another checkpoint":
        line = cosign(Checkpoint(ORIGIN, earlier.size, earlier.root).text, NAME, witness_key, 1)
    elif flaw == "a flipped bit":
        payload = bytearray(line.payload)
        payload[-1] ^= 1
        line = Signature(line.name, line.key_hash, bytes(payload))
    else:  # a plain note signature: no 8-byte time
        line = Signature(line.name, line.key_hash, witness_key.sign(text.encode()))
    response = post(node, signed.note + line.line)
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
    forged = Checkpoint(ORIGIN, size, merkle.hash_leaf(b"never signed"))
    note = forged.sign(log_key) + cosign(forged.text, NAME, witness_key, 1).line
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
    line = cosign(Checkpoint(ORIGIN, signed.size, signed.root).text, NAME, witness_key, 1)
    response = post(node, signed.note + line.line, content_type)
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
    assert result.stdout == witness_vkey(NAME, key) + "\n"
    assert parse_verifier(result.stdout.strip()).algorithm == 0x04


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
    vkeys = json.dumps([witness_vkey(NAME, witness_key)])
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
    log_vkey = httpx.get(url + "/v1/log/key").json()["vkey"]
    args = ("witness", "--url", url, "--log-vkey", log_vkey, "--key", str(key_file))
    once = (*args, "--name", NAME, "--state", str(state), "--once")

    first = ledgerctl(*once)
    assert first.returncode == 0, first.stderr
    assert first.stdout == "cosigned e2e.example/ledger size 1\n"
    cosigned = httpx.get(url + "/v1/log/checkpoint/cosigned").text
    note, line = cosignature(cosigned)
    verify_cosignature(note.text, line, parse_verifier(witness_vkey(NAME, witness_key)))

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
    state.write_text(json.dumps({**remembered, "root": b64encode(b"\x07" * 32)}))
    forked = ledgerctl(*once)
    assert forked.returncode == 1, forked.stdout
    assert "refusing to cosign" in forked.stderr
    assert "forked" in forked.stderr
