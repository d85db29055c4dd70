"""The transparency log over HTTP (DESIGN §5, §8 /v1/log rows), on SQLite and PostgreSQL:
signed checkpoints, the log key, proofs, receipts' promises, ``wait=true``, head
attestations, checkpoint cadence, crash recovery and the one-integrator rule."""

from __future__ import annotations

import base64
import hashlib
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

import api.routes.events
from ledger import merkle
from ledger.application import Ledger
from ledger.canonical import jcs
from ledger.datadir import open_ledger, read_genesis
from ledger.note import open_checkpoint, parse_verifier
from ledger.settings import Settings
from ledger.storage import StoredCheckpoint
from ledger.transparency import TransparencyLog, head_message, receipt_message
from tests.conftest import running_node
from tests.unit.test_merkle_properties import (
    Reference,
    rfc9162_verify_consistency,
    rfc9162_verify_inclusion,
)
from tests.unit.test_spec_bytes import leaf_hash_by_hand, open_checkpoint_by_hand, vkey_by_hand
from tests.world import ORIGIN, Node, World, problem_slug

SETTLE_SECONDS = 15.0


# --- fixtures and helpers -----------------------------------------------------------------


@pytest.fixture
def quiet(database_url: str, tmp_path: Path) -> Iterator[Node]:
    """A node whose app runs no integrator: its log moves only when a test steps it."""
    settings = Settings.load(tmp_path / "data", database_url=database_url)
    with running_node(settings, integrate=False) as node:
        yield node


@pytest.fixture
def quiet_world(quiet: Node) -> World:
    return World(quiet)


def transparency_of(ledger: Ledger) -> TransparencyLog:
    log = ledger.transparency
    assert log is not None
    return log


Settle = Callable[[Node], StoredCheckpoint]


@pytest.fixture
def settle() -> Iterator[Settle]:
    """A checkpoint over every stored entry: stepped here when no integrator runs (holding
    the integrator lock so that none starts meanwhile), else signed by the app's integrator.

    The lock is taken through a second ledger on the same database, as another process
    would: never through the app's own, whose integrator thread takes it too.
    """
    helpers: dict[int, Ledger] = {}

    def settle(node: Node) -> StoredCheckpoint:
        if id(node) not in helpers:
            helpers[id(node)] = open_ledger(node.settings, warm=False)[0]
        helper = helpers[id(node)]
        deadline = time.monotonic() + SETTLE_SECONDS
        while True:
            with helper.recorder.integrator_lock() as held:
                if held:
                    transparency_of(helper).step()
            latest = node.ledger.recorder.latest_checkpoint()
            if latest is not None and latest.size == node.ledger.size():
                return latest
            assert time.monotonic() < deadline, f"no checkpoint of size {node.ledger.size()}"
            time.sleep(0.05)

    yield settle
    for helper in helpers.values():
        helper.close()


@pytest.fixture
def integrator(node: Node) -> Iterator[None]:
    """An integrator surely runs: the app's, or this one (another ledger on the database,
    trying until it gets the lock) should the app's have lost the lock before it started."""
    other, _ = open_ledger(node.settings, warm=False)
    log, stop = transparency_of(other), threading.Event()

    def keep_trying() -> None:
        while not log.run(stop) and not stop.wait(0.05):
            pass

    thread = threading.Thread(target=keep_trying, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)
        other.close()


# Expectations come from the spec, not from the code under test: the log's vkey is made by
# hand from the key file, notes are opened with ``cryptography``, leaf hashes, roots and
# proofs are RFC 6962's recursive definitions (tests/unit/test_spec_bytes.py,
# tests/unit/test_merkle_properties.py).


def log_public_key(node: Node) -> bytes:
    """The log's public key, read from its key file with ``cryptography``."""
    key = serialization.load_pem_private_key(node.settings.log_key_path.read_bytes(), None)
    assert isinstance(key, Ed25519PrivateKey)
    return key.public_key().public_bytes_raw()


def log_vkey(world: World) -> str:
    """The served vkey, which must be the one the spec makes of the log's key."""
    response = world.http.get("/v1/log/key")
    assert response.status_code == 200, response.text
    vkey: str = response.json()["vkey"]
    assert vkey == vkey_by_hand(ORIGIN, 0x01, log_public_key(world.node))
    return vkey


def served_checkpoint(world: World) -> tuple[tuple[str, int, bytes], str]:
    """The served checkpoint (origin, size, root), its signature checked by hand; its note."""
    response = world.http.get("/v1/log/checkpoint")
    assert response.status_code == 200, response.text
    return open_checkpoint_by_hand(response.text, log_vkey(world)), response.text


def signed_root(note: str, vkey: str) -> bytes:
    return open_checkpoint_by_hand(note, vkey)[2]


def verify_signature(public_key: bytes, signature_b64: str, message: bytes) -> None:
    signature = base64.b64decode(signature_b64, validate=True)
    Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)


def populate(world: World, *agencies: str) -> None:
    for agency_id in agencies:
        world.agency(agency_id)


def leaf_hashes(node: Node) -> list[bytes]:
    """SHA-256(0x00 || entry) of every stored entry's bytes, and the stored leaf hash agrees."""
    records = node.ledger.records(0, node.ledger.size())
    leaves = [leaf_hash_by_hand(r.entry) for r in records]
    assert [r.leaf_hash for r in records] == leaves
    return leaves


def rfc_tree(leaves: list[bytes]) -> Reference:
    return Reference(leaves)


def get(world: World, path: str, **params: Any) -> Any:
    response = world.http.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def problem(world: World, path: str, status: int, slug: str, **params: Any) -> None:
    response = world.http.get(path, params=params)
    assert response.status_code == status, response.text
    assert problem_slug(response) == slug


# --- the checkpoint and the key -----------------------------------------------------------


def test_the_checkpoint_is_a_signed_note_that_opens_with_the_logs_vkey(
    world: World, settle: Settle
) -> None:
    populate(world, "H10")
    stored = settle(world.node)
    response = world.http.get("/v1/log/checkpoint")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    note = response.text
    vkey = log_vkey(world)
    assert open_checkpoint_by_hand(note, vkey) == (ORIGIN, stored.size, stored.root)
    # origin, size, root, one empty line, then exactly the log's signature line
    lines = note.split("\n")
    assert lines[:3] == [ORIGIN, str(stored.size), base64.b64encode(stored.root).decode()]
    assert lines[3] == ""
    assert lines[-1] == ""
    signature_lines = lines[4:-1]
    assert len(signature_lines) == 1
    dash, name, payload = signature_lines[0].split(" ")
    assert (dash, name) == ("\u2014", ORIGIN)
    raw = base64.b64decode(payload, validate=True)
    public_key = log_public_key(world.node)
    assert raw[:4] == hashlib.sha256(ORIGIN.encode() + b"\n\x01" + public_key).digest()[:4]
    body = "\n".join(lines[:3]) + "\n"
    Ed25519PublicKey.from_public_bytes(public_key).verify(raw[4:], body.encode())
    # and the root is the RFC 6962 root of every stored leaf
    assert stored.root == rfc_tree(leaf_hashes(world.node)).mth(0, stored.size)


def test_a_checkpoint_with_a_tampered_body_does_not_open(world: World, settle: Settle) -> None:
    settle(world.node)
    _, note = served_checkpoint(world)
    size_line = note.split("\n")[1]
    forged = note.replace(f"\n{size_line}\n", f"\n{int(size_line) + 1}\n", 1)
    with pytest.raises(ValueError, match="does not verify"):
        open_checkpoint(forged, parse_verifier(log_vkey(world)))
    with pytest.raises(InvalidSignature):
        open_checkpoint_by_hand(forged, log_vkey(world))


def test_the_log_key_names_the_origin_the_vkey_and_the_genesis_leaf(world: World) -> None:
    key = get(world, "/v1/log/key")
    assert set(key) == {"origin", "vkey", "genesis_leaf_hash"}
    assert key["origin"] == ORIGIN
    assert key["vkey"] == vkey_by_hand(ORIGIN, 0x01, log_public_key(world.node))
    genesis = read_genesis(world.ledger)
    assert genesis is not None
    assert key["vkey"] == genesis.log_vkey
    record = world.ledger.records(0, 1)[0]
    assert record.index == 0
    assert key["genesis_leaf_hash"] == leaf_hash_by_hand(record.entry).hex()


# --- proofs -------------------------------------------------------------------------------


def test_inclusion_proofs_by_index_and_by_leaf_hash_verify_for_every_checkpoint(
    world: World, settle: Settle
) -> None:
    for agency_id in ("H10", "H20", "H30"):
        world.agency(agency_id)
        settle(world.node)
    vkey = log_vkey(world)
    checkpoints = list(world.ledger.recorder.iter_checkpoints())
    assert len({c.size for c in checkpoints}) >= 2, "several tree sizes"
    leaves = leaf_hashes(world.node)
    tree = rfc_tree(leaves)
    for stored in checkpoints:
        root = signed_root(stored.note, vkey)
        assert root == tree.mth(0, stored.size)
        for index in range(stored.size):
            by_index = get(world, "/v1/log/proof/inclusion", index=index, tree_size=stored.size)
            by_leaf = get(
                world,
                "/v1/log/proof/inclusion",
                leaf_hash=leaves[index].hex(),
                tree_size=stored.size,
            )
            assert by_index == by_leaf
            assert by_index["index"] == index
            assert by_index["tree_size"] == stored.size
            assert by_index["leaf_hash"] == leaves[index].hex()
            hashes = [bytes.fromhex(h) for h in by_index["hashes"]]
            assert hashes == tree.path(index, 0, stored.size)
            assert rfc9162_verify_inclusion(index, stored.size, leaves[index], hashes, root)


def test_an_inclusion_proof_defaults_to_the_latest_checkpoint(world: World, settle: Settle) -> None:
    populate(world, "H10")
    settle(world.node)
    (_, size, root), _ = served_checkpoint(world)
    proof = get(world, "/v1/log/proof/inclusion", index=1)
    assert proof["tree_size"] == size
    leaves = leaf_hashes(world.node)
    assert proof["leaf_hash"] == leaves[1].hex()
    hashes = [bytes.fromhex(h) for h in proof["hashes"]]
    assert hashes == rfc_tree(leaves).path(1, 0, size)
    assert rfc9162_verify_inclusion(1, size, leaves[1], hashes, root)


def test_consistency_proofs_between_every_pair_of_stored_checkpoints_verify(
    world: World, settle: Settle
) -> None:
    for agency_id in ("H10", "H20", "H30"):
        world.agency(agency_id)
        settle(world.node)
    vkey = log_vkey(world)
    roots = {c.size: signed_root(c.note, vkey) for c in world.ledger.recorder.iter_checkpoints()}
    assert len(roots) >= 2
    tree = rfc_tree(leaf_hashes(world.node))
    assert all(root == tree.mth(0, size) for size, root in roots.items())
    for first in roots:
        for second in roots:
            if first > second:
                continue
            proof = get(world, "/v1/log/proof/consistency", first=first, second=second)
            assert (proof["first"], proof["second"]) == (first, second)
            hashes = [bytes.fromhex(h) for h in proof["hashes"]]
            assert hashes == tree.proof(first, second)
            assert rfc9162_verify_consistency(first, second, roots[first], roots[second], hashes)


def test_proof_requests_outside_the_signed_tree_are_bad_requests(
    world: World, settle: Settle
) -> None:
    populate(world, "H10")
    size = settle(world.node).size
    inclusion, consistency = "/v1/log/proof/inclusion", "/v1/log/proof/consistency"
    # tree_size beyond the latest checkpoint
    problem(world, inclusion, 400, "malformed-request", index=0, tree_size=size + 1)
    # index not below tree_size
    problem(world, inclusion, 400, "malformed-request", index=size)
    problem(world, inclusion, 400, "malformed-request", index=2, tree_size=2)
    # neither index nor leaf hash
    problem(world, inclusion, 400, "malformed-request")
    # consistency: from the empty tree, backwards, beyond the latest checkpoint
    problem(world, consistency, 400, "malformed-request", first=0, second=size)
    problem(world, consistency, 400, "malformed-request", first=2, second=1)
    problem(world, consistency, 400, "malformed-request", first=1, second=size + 1)


def test_an_entry_past_the_proofs_tree_size_is_a_bad_request_even_by_leaf_hash(
    world: World, settle: Settle
) -> None:
    populate(world, "H10")
    settle(world.node)
    last = world.ledger.records(3, 4)[0]
    problem(
        world,
        "/v1/log/proof/inclusion",
        400,
        "malformed-request",
        leaf_hash=last.leaf_hash.hex(),
        tree_size=3,
    )


def test_an_unknown_leaf_hash_is_not_found_and_a_malformed_one_a_bad_request(
    world: World, settle: Settle
) -> None:
    populate(world, "H10")
    settle(world.node)
    inclusion = "/v1/log/proof/inclusion"
    problem(world, inclusion, 404, "not-found", leaf_hash="ab" * 32)
    for malformed in ("ab" * 31, "AB" * 32, "zz" * 32, "ab" * 33):
        problem(world, inclusion, 400, "malformed-request", leaf_hash=malformed)


def test_a_consistency_proof_between_equal_sizes_is_empty(world: World, settle: Settle) -> None:
    populate(world, "H10")
    size = settle(world.node).size
    for n in (1, size):
        proof = get(world, "/v1/log/proof/consistency", first=n, second=n)
        assert proof == {"first": n, "second": n, "hashes": []}


def test_before_any_checkpoint_the_checkpoint_and_proofs_are_not_found(quiet: Node) -> None:
    world = World(quiet)
    assert quiet.ledger.size() == 1  # the genesis, stored but never integrated
    assert quiet.ledger.recorder.latest_checkpoint() is None
    problem(world, "/v1/log/checkpoint", 404, "not-found")
    problem(world, "/v1/log/proof/inclusion", 404, "not-found", index=0)
    problem(world, "/v1/log/proof/consistency", 404, "not-found", first=1, second=1)
    problem(world, "/v1/subjects/ledger/head", 404, "not-found", attest="true")
    # the key is there from the start
    key = get(world, "/v1/log/key")
    assert key["genesis_leaf_hash"] == quiet.ledger.records(0, 1)[0].leaf_hash.hex()


# --- receipts' signed entry timestamps ----------------------------------------------------


def expected_receipt_message(receipt: dict[str, Any]) -> bytes:
    """DESIGN §5, spelled out here rather than taken from the code under test: the prefix
    and JCS of the five fields, members in name order (no value here needs escaping)."""
    for field in ("event_id", "leaf_hash", "recorded_at"):
        assert re.fullmatch(r"[0-9A-Za-z:.-]+", receipt[field]), receipt
    return (
        "accountability-ledger/v1 receipt\n"
        f'{{"event_id":"{receipt["event_id"]}","index":{int(receipt["index"])},'
        f'"leaf_hash":"{receipt["leaf_hash"]}","origin":"{ORIGIN}",'
        f'"recorded_at":"{receipt["recorded_at"]}"}}'
    ).encode()


def test_a_receipt_carries_a_signed_entry_timestamp_by_the_log_key(world: World) -> None:
    agency = world.agency("H10")
    env = world.envelope(
        "unit.registered", "agency:H10", agency.registrar, {"unit_id": "p-dat", "name": "Đất"}
    )
    created = world.post(env)
    assert created.status_code == 201, created.text
    receipt = created.json()
    public_key = log_public_key(world.node)
    message = expected_receipt_message(receipt)
    assert message == receipt_message(
        ORIGIN,
        receipt["event_id"],
        receipt["index"],
        receipt["leaf_hash"],
        receipt["recorded_at"],
    )
    verify_signature(public_key, receipt["signed_entry_timestamp"], message)
    # it is a promise about exactly this entry
    other = expected_receipt_message({**receipt, "index": receipt["index"] + 1})
    with pytest.raises(InvalidSignature):
        verify_signature(public_key, receipt["signed_entry_timestamp"], other)
    # the same promise when the receipt is read back, and on an exact replay
    read = world.http.get(f"/v1/events/{receipt['event_id']}")
    assert read.status_code == 200
    assert read.json()["signed_entry_timestamp"] == receipt["signed_entry_timestamp"]
    assert read.json() == receipt
    replay = world.post(env)
    assert replay.status_code == 200, replay.text
    assert replay.content == created.content


def test_every_stored_entrys_receipt_promise_verifies(world: World) -> None:
    populate(world, "H10")
    public_key = log_public_key(world.node)
    for record in world.ledger.records(0, world.ledger.size()):
        receipt = get(world, f"/v1/events/{record.event_id}")
        assert receipt["index"] == record.index
        assert receipt["leaf_hash"] == leaf_hash_by_hand(record.entry).hex()
        verify_signature(
            public_key, receipt["signed_entry_timestamp"], expected_receipt_message(receipt)
        )


# --- POST /v1/events?wait=true ------------------------------------------------------------


@pytest.mark.usefixtures("integrator")
def test_waiting_for_the_checkpoint_answers_201_with_a_proof_that_verifies(
    world: World,
) -> None:
    agency = world.agency("H10")
    env = world.envelope(
        "unit.registered", "agency:H10", agency.registrar, {"unit_id": "p-dat", "name": "Đất"}
    )
    response = world.http.post(
        "/v1/events?wait=true", content=jcs(env), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    _, size, root = open_checkpoint_by_hand(body["checkpoint"], log_vkey(world))
    proof = body["inclusion_proof"]
    assert set(proof) == {"index", "tree_size", "leaf_hash", "hashes"}
    assert proof["index"] == body["index"]
    assert proof["leaf_hash"] == body["leaf_hash"]
    assert proof["tree_size"] == size > body["index"]
    record = world.ledger.records(body["index"], body["index"] + 1)[0]
    assert body["leaf_hash"] == leaf_hash_by_hand(record.entry).hex()
    hashes = [bytes.fromhex(h) for h in proof["hashes"]]
    leaves = leaf_hashes(world.node)
    assert hashes == rfc_tree(leaves).path(body["index"], 0, size)
    assert rfc9162_verify_inclusion(body["index"], size, leaves[body["index"]], hashes, root)
    # the receipt part is the plain receipt, promise included
    assert {k: v for k, v in body.items() if k not in ("checkpoint", "inclusion_proof")} == (
        get(world, f"/v1/events/{body['event_id']}")
    )


def test_waiting_without_an_integrator_answers_202_with_the_receipt_alone(
    quiet_world: World, monkeypatch: pytest.MonkeyPatch, settle: Settle
) -> None:
    monkeypatch.setattr(api.routes.events, "WAIT_SECONDS", 0.3)
    world = quiet_world
    settle(world.node)  # an older checkpoint exists; it cannot include the new entry
    agency = world.agency("H10")
    env = world.envelope(
        "unit.registered", "agency:H10", agency.registrar, {"unit_id": "p-dat", "name": "Đất"}
    )
    response = world.http.post(
        "/v1/events?wait=true", content=jcs(env), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert "checkpoint" not in body
    assert "inclusion_proof" not in body
    assert body == get(world, f"/v1/events/{body['event_id']}")  # stored all the same
    verify_signature(
        log_public_key(world.node),
        body["signed_entry_timestamp"],
        expected_receipt_message(body),
    )


# --- head attestations --------------------------------------------------------------------


def test_an_attested_head_is_the_subjects_last_statement_within_the_signed_tree(
    quiet_world: World, settle: Settle
) -> None:
    world = quiet_world
    agency = world.agency("H10")  # seq 0, 1, 2
    tree_size = settle(world.node).size
    world.unit(agency, "p-dat")  # seq 3: stored, not yet in a checkpoint
    assert world.head("agency:H10")["seq"] == 3  # type: ignore[index]

    body = get(world, "/v1/subjects/agency:H10/head", attest="true")
    attestation = body["attestation"]
    assert set(attestation) == {
        "origin",
        "subject",
        "seq",
        "envelope_hash",
        "tree_size",
        "signature",
    }
    assert attestation["origin"] == ORIGIN
    assert attestation["subject"] == "agency:H10"
    assert attestation["tree_size"] == tree_size
    # it names the subject's last statement below that tree size
    entries = get(world, "/v1/subjects/agency:H10/entries")["entries"]
    within = [e for e in entries if e["index"] < tree_size]
    last = max(within, key=lambda e: e["entry"]["statement"]["seq"])
    assert attestation["seq"] == last["entry"]["statement"]["seq"] == 2
    assert attestation["envelope_hash"] == last["envelope_hash"]
    assert (body["seq"], body["envelope_hash"], body["index"]) == (
        2,
        last["envelope_hash"],
        last["index"],
    )
    # signed over the DESIGN §5 message: the prefix and JCS, members in name order
    message = (
        "accountability-ledger/v1 head\n"
        f'{{"envelope_hash":"{last["envelope_hash"]}","origin":"{ORIGIN}","seq":2,'
        f'"subject":"agency:H10","tree_size":{tree_size}}}'
    ).encode()
    assert message == head_message(ORIGIN, "agency:H10", 2, last["envelope_hash"], tree_size)
    verify_signature(log_public_key(world.node), attestation["signature"], message)

    # once integrated, the attestation moves on to seq 3
    later = get(world, "/v1/subjects/agency:H10/head", attest="true")["attestation"]
    assert later["seq"] == 2
    settle(world.node)
    later = get(world, "/v1/subjects/agency:H10/head", attest="true")["attestation"]
    assert (later["seq"], later["tree_size"]) == (3, world.ledger.size())


def test_a_subject_with_nothing_in_the_signed_tree_has_no_attested_head(
    quiet_world: World, settle: Settle
) -> None:
    world = quiet_world
    settle(world.node)
    world.agency("H10")
    problem(world, "/v1/subjects/agency:H10/head", 404, "not-found", attest="true")
    assert world.head("agency:H10") is not None  # the plain head is there


# --- checkpoint cadence -------------------------------------------------------------------


def test_no_checkpoint_is_signed_when_nothing_changed_and_every_one_is_kept(
    quiet_world: World,
) -> None:
    world = quiet_world
    log, recorder = transparency_of(world.ledger), world.ledger.recorder
    first = log.step()
    assert first is not None
    assert first.size == 1
    assert log.step() is None  # nothing changed
    assert log.sign_checkpoint() is None
    world.agency("H10")
    second = log.step()
    assert second is not None
    assert second.size == world.ledger.size()
    assert log.step() is None
    world.agency("H20")
    third = log.step()
    assert third is not None
    kept = list(recorder.iter_checkpoints())
    assert [c.size for c in kept] == [first.size, second.size, third.size]
    assert kept == [first, second, third]
    vkey = log_vkey(world)
    tree = rfc_tree(leaf_hashes(world.node))
    for stored in kept:
        assert recorder.checkpoint(stored.size) == stored
        assert signed_root(stored.note, vkey) == tree.mth(0, stored.size)


@pytest.mark.usefixtures("integrator")
def test_the_running_integrator_signs_once_per_change_and_not_while_idle(
    world: World, settle: Settle
) -> None:
    world.agency("H10")
    settle(world.node)
    recorder = world.ledger.recorder
    before = [c.size for c in recorder.iter_checkpoints()]
    time.sleep(1.5)  # three checkpoint intervals with nothing new
    assert [c.size for c in recorder.iter_checkpoints()] == before
    world.agency("H20")
    settle(world.node)
    grown = [c.size for c in recorder.iter_checkpoints()]
    assert grown[: len(before)] == before
    assert len(grown) > len(before)
    assert grown[-1] == world.ledger.size()
    time.sleep(1.0)  # idle again
    assert [c.size for c in recorder.iter_checkpoints()] == grown


# --- crash recovery and the one integrator ------------------------------------------------


def test_integration_resumes_after_a_crash_without_integrating_anything_twice(
    quiet_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = quiet_world
    populate(world, "H10", "H20", "H30")  # 10 entries with the genesis
    total = world.ledger.size()
    recorder = world.ledger.recorder
    assert recorder.integrate(3) == (0, 3)
    assert recorder.integrate(3) == (3, 6)

    # a crash in the middle of the next batch leaves the tree as it was
    real_new_nodes = merkle.new_nodes

    def crash_at_leaf_7(index: int, leaf: bytes, nodes: Any) -> Any:
        if index == 7:
            raise RuntimeError("the process died")
        return real_new_nodes(index, leaf, nodes)

    monkeypatch.setattr(merkle, "new_nodes", crash_at_leaf_7)
    with pytest.raises(RuntimeError, match="died"):
        recorder.integrate(3)
    monkeypatch.setattr(merkle, "new_nodes", real_new_nodes)
    assert recorder.tree_size() == 6

    # a fresh process on the same database continues from 6
    fresh, _ = open_ledger(world.node.settings)
    try:
        assert fresh.recorder.tree_size() == 6
        log = fresh.transparency
        assert log is not None
        checkpoint = log.step()
        assert checkpoint is not None
        assert checkpoint.size == total
        assert fresh.recorder.integrate(3) == (total, total)
        tree = rfc_tree(leaf_hashes(world.node))
        assert checkpoint.root == tree.mth(0, total)
        assert log.root(total) == tree.mth(0, total)
        # every stored subtree is the one the whole log implies: each complete subtree
        # (2^level leaves from i·2^level), and no other is stored
        for level in range(total.bit_length()):
            stored = fresh.recorder.nodes_in_range(level, 0, total + 1)
            width = 1 << level
            expected = {i: tree.mth(i * width, (i + 1) * width) for i in range(total // width)}
            assert stored == expected, f"level {level}"
    finally:
        fresh.close()
    # and the API serves the resumed tree
    (_, served_size, served_root), _ = served_checkpoint(world)
    assert (served_size, served_root) == (total, tree.mth(0, total))


def run_in_thread(
    log: TransparencyLog, stop: threading.Event
) -> tuple[threading.Thread, list[bool]]:
    outcome: list[bool] = []
    thread = threading.Thread(target=lambda: outcome.append(log.run(stop)), daemon=True)
    thread.start()
    return thread, outcome


def test_only_one_integrator_runs_per_log(quiet: Node) -> None:
    other, _ = open_ledger(quiet.settings, warm=False)
    stop = threading.Event()
    try:
        other_log = transparency_of(other)
        with quiet.ledger.recorder.integrator_lock() as held:
            assert held
            # a second integrator on the same log gives up at once, without integrating
            thread, outcome = run_in_thread(other_log, stop)
            thread.join(timeout=5)
            assert not thread.is_alive(), "the second integrator did not give up"
            assert outcome == [False]
            # so does a second lock holder
            with other.recorder.integrator_lock() as also_held:
                assert not also_held
        assert quiet.ledger.recorder.tree_size() == 0
        assert quiet.ledger.recorder.latest_checkpoint() is None

        # once the first lets go, the other integrates (and holds the lock meanwhile)
        thread, outcome = run_in_thread(other_log, stop)
        deadline = time.monotonic() + SETTLE_SECONDS
        while quiet.ledger.recorder.latest_checkpoint() is None:
            assert time.monotonic() < deadline, "the second integrator never integrated"
            time.sleep(0.05)
        with quiet.ledger.recorder.integrator_lock() as held_now:
            assert not held_now
        stop.set()
        thread.join(timeout=10)
        assert outcome == [True]
    finally:
        stop.set()
        other.close()
