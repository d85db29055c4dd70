"""The transparency log (DESIGN §5): integration, checkpoints, proofs, promises, witnesses.

``TransparencyLog`` integrates stored entries into the RFC 6962 tree kept beside them,
signs a C2SP checkpoint at least every second while entries arrive (none when nothing
changed), serves inclusion and consistency proofs from stored subtrees, signs receipts'
entry timestamps and head attestations with the log key, and keeps witnesses'
cosignatures of checkpoints it signed. Exactly one process integrates a log: the one
holding the recorder's integrator lock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ledger import merkle
from ledger.canonical import jcs
from ledger.crypto import HEAD_PREFIX, MANIFEST_PREFIX, RECEIPT_PREFIX, SigningKey, b64encode
from ledger.errors import BadSignature, Forbidden, MalformedRequest, NotFound
from ledger.note import (
    COSIGNATURE_V1_ALGORITHM,
    Checkpoint,
    NoteError,
    Verifier,
    find_signature,
    format_vkey,
    parse_checkpoint,
    parse_note,
    verify_cosignature,
)
from ledger.storage import LedgerRecorder, StoredCheckpoint
from ledger.times import format_recorded_at, utc_now

log = logging.getLogger("ledger.log")


@dataclass(frozen=True)
class InclusionProof:
    index: int
    tree_size: int
    leaf_hash: bytes
    hashes: list[bytes]

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "tree_size": self.tree_size,
            "leaf_hash": self.leaf_hash.hex(),
            "hashes": [h.hex() for h in self.hashes],
        }


def receipt_message(
    origin: str, event_id: str, index: int, leaf_hash: str, recorded_at: str
) -> bytes:
    """What a signed entry timestamp signs (DESIGN §5)."""
    return RECEIPT_PREFIX + jcs(
        {
            "event_id": event_id,
            "index": index,
            "leaf_hash": leaf_hash,
            "origin": origin,
            "recorded_at": recorded_at,
        }
    )


def manifest_message(manifest: dict[str, Any]) -> bytes:
    """What a bundle manifest's signature signs: the prefix and JCS of the manifest (its
    ``signature`` member left out)."""
    return MANIFEST_PREFIX + jcs({k: v for k, v in manifest.items() if k != "signature"})


def head_message(origin: str, subject: str, seq: int, envelope_hash: str, tree_size: int) -> bytes:
    """What a head attestation signs (DESIGN §5)."""
    return HEAD_PREFIX + jcs(
        {
            "origin": origin,
            "subject": subject,
            "seq": seq,
            "envelope_hash": envelope_hash,
            "tree_size": tree_size,
        }
    )


class TransparencyLog:
    """The log over one ledger's entries; ``log_key`` is needed to sign, not to prove."""

    def __init__(
        self,
        recorder: LedgerRecorder,
        *,
        origin: str,
        log_key: SigningKey | None = None,
        witnesses: Sequence[Verifier] = (),
        checkpoint_interval: float = 0.5,
        batch: int = 5000,
    ) -> None:
        self.recorder = recorder
        self.origin = origin
        self.log_key = log_key
        self.witnesses = {w.name: w for w in witnesses}
        self.checkpoint_interval = checkpoint_interval
        self.batch = batch

    @property
    def vkey(self) -> str:
        return format_vkey(self.origin, self._key().public_bytes)

    def _key(self) -> SigningKey:
        if self.log_key is None:
            raise RuntimeError("this process has no log key: it cannot sign")
        return self.log_key

    # --- integration ---------------------------------------------------------------------

    def integrate_pending(self) -> int:
        """Integrate every stored entry not yet in the tree; the tree's size."""
        while True:
            before, after = self.recorder.integrate(self.batch)
            if after == before:
                return after

    def sign_checkpoint(self) -> StoredCheckpoint | None:
        """Sign the integrated tree's checkpoint unless the latest already covers it."""
        key = self._key()

        def sign(size: int, root: bytes) -> str:
            return Checkpoint(self.origin, size, root).sign(key)

        return self.recorder.sign_checkpoint(sign, format_recorded_at(utc_now()))

    def step(self) -> StoredCheckpoint | None:
        """One round: integrate what is stored, then sign a checkpoint if the tree grew."""
        self.integrate_pending()
        return self.sign_checkpoint()

    def run_or_stand_by(self, stop: threading.Event, *, standby: float = 2.0) -> None:
        """Integrate while this process holds the log's integrator lock; otherwise stand by,
        and take over when the process that holds it stops. Returns once ``stop`` is set."""
        standing_by = False
        while not stop.is_set():
            if self.run(stop, quiet=standing_by):
                standing_by = False
            else:
                standing_by = True
                stop.wait(standby)

    def run(self, stop: threading.Event, *, poll: float = 0.1, quiet: bool = False) -> bool:
        """Integrate until ``stop`` is set; ``False`` at once if another process integrates."""
        with self.recorder.integrator_lock() as held:
            if not held:
                if not quiet:
                    log.info("another process integrates this log; standing by")
                return False
            log.info("integrating the log %s", self.origin)
            last_signed = 0.0
            while not stop.is_set():
                try:
                    size = self.integrate_pending()
                    latest = self.recorder.latest_checkpoint()
                    due = time.monotonic() - last_signed >= self.checkpoint_interval
                    grown = latest is None or latest.size < size
                    if grown and due and self.sign_checkpoint() is not None:
                        last_signed = time.monotonic()
                except Exception:  # the loop must survive a database hiccup, loudly
                    log.exception("integration round failed; retrying")
                stop.wait(poll)
            return True

    # --- reads ---------------------------------------------------------------------------

    def latest(self) -> StoredCheckpoint:
        checkpoint = self.recorder.latest_checkpoint()
        if checkpoint is None:
            raise NotFound("the log has signed no checkpoint yet; one follows the first entry")
        return checkpoint

    def _proof_size(self, tree_size: int | None) -> int:
        latest = self.latest()
        if tree_size is None:
            return latest.size
        if tree_size < 1:
            raise MalformedRequest(f"tree_size must be at least 1, not {tree_size}")
        if tree_size > latest.size:
            raise MalformedRequest(
                f"tree_size {tree_size} is beyond the latest checkpoint's size {latest.size}"
            )
        return tree_size

    def inclusion_proof(
        self,
        *,
        index: int | None = None,
        leaf_hash: bytes | None = None,
        tree_size: int | None = None,
    ) -> InclusionProof:
        """Proof that an entry (by index or leaf hash) is in the tree of ``tree_size``."""
        size = self._proof_size(tree_size)
        if leaf_hash is not None:
            record = self.recorder.record_by_leaf_hash(leaf_hash)
            if record is None:
                raise NotFound(f"no entry has leaf hash {leaf_hash.hex()}")
            if index is not None and index != record.index:
                raise MalformedRequest(
                    f"leaf hash {leaf_hash.hex()} is at index {record.index}, not {index}"
                )
            index = record.index
        if index is None:
            raise MalformedRequest("give index or leaf_hash")
        if not 0 <= index < size:
            raise MalformedRequest(f"index {index} is not below tree_size {size}")
        if leaf_hash is None:
            leaf_hash = self.recorder.read_nodes([(0, index)])[(0, index)]
        plan = merkle.inclusion_plan(index, size)
        hashes = merkle.resolve(plan, self.recorder.read_nodes(merkle.plan_nodes(plan)))
        return InclusionProof(index, size, leaf_hash, hashes)

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        """Proof that the tree of ``first`` leaves is a prefix of the tree of ``second``."""
        if first < 1:
            raise MalformedRequest("first must be at least 1 (every tree extends the empty one)")
        if second < first:
            raise MalformedRequest(f"second ({second}) must not be less than first ({first})")
        self._proof_size(second)
        if first == second:
            return []
        plan = merkle.consistency_plan(first, second)
        return merkle.resolve(plan, self.recorder.read_nodes(merkle.plan_nodes(plan)))

    def root(self, size: int) -> bytes:
        return merkle.root_from(size, self.recorder.read_nodes(merkle.root_plan(size)))

    # --- the log's signed promises -------------------------------------------------------

    def signed_entry_timestamp(
        self, event_id: str, index: int, leaf_hash: str, recorded_at: str
    ) -> str:
        message = receipt_message(self.origin, event_id, index, leaf_hash, recorded_at)
        return b64encode(self._key().sign(message))

    def signed_entry_timestamps(self, receipts: Sequence[tuple[str, int, str, str]]) -> list[str]:
        """``signed_entry_timestamp`` of each (event_id, index, leaf_hash, recorded_at)."""
        return [self.signed_entry_timestamp(*receipt) for receipt in receipts]

    def attest_head(self, subject: str, tree_size: int | None = None) -> dict[str, Any]:
        """The subject's last statement at a checkpoint's size (default: the latest), signed."""
        size = self._proof_size(tree_size)
        record = self.recorder.head_below(subject, size)
        if record is None:
            raise NotFound(f"{subject} has no statement in the tree of size {size}")
        envelope_hash = record.envelope_hash.hex()
        message = head_message(self.origin, subject, record.seq, envelope_hash, size)
        return {
            "origin": self.origin,
            "subject": subject,
            "seq": record.seq,
            "envelope_hash": envelope_hash,
            "tree_size": size,
            "signature": b64encode(self._key().sign(message)),
        }

    def sign_manifest(self, manifest: dict[str, Any]) -> str:
        """The log's signature over a bundle manifest (``manifest_message``), base64."""
        return b64encode(self._key().sign(manifest_message(manifest)))

    # --- witnesses -----------------------------------------------------------------------

    def add_cosignatures(self, message: str) -> list[str]:
        """Keep the configured witnesses' cosignatures on a checkpoint this log signed."""
        try:
            note = parse_note(message)
            checkpoint = parse_checkpoint(note.text)
        except NoteError as e:
            raise MalformedRequest(f"not a cosigned checkpoint: {e}") from None
        stored = self.recorder.checkpoint(checkpoint.size)
        if stored is None or parse_note(stored.note).text != note.text:
            raise NotFound(f"this log signed no checkpoint with that text (size {checkpoint.size})")
        accepted: list[str] = []
        for signature in note.signatures:
            witness = self.witnesses.get(signature.name)
            if witness is None or witness.algorithm != COSIGNATURE_V1_ALGORITHM:
                continue
            if find_signature(note, witness) is not signature:
                continue
            try:
                timestamp = verify_cosignature(note.text, signature, witness)
            except NoteError as e:
                raise BadSignature(str(e)) from None
            self.recorder.add_cosignature(checkpoint.size, witness.name, signature.line, timestamp)
            accepted.append(witness.name)
        if not accepted:
            raise Forbidden(
                "the note carries no cosignature by a witness this deployment configured "
                f"({', '.join(sorted(self.witnesses)) or 'none configured'})"
            )
        return accepted

    def cosigned_note(self) -> str:
        """The latest checkpoint that witnesses cosigned, with every cosignature it has
        (the latest checkpoint, uncosigned, while no witness has cosigned any)."""
        size = self.recorder.latest_cosigned_size()
        checkpoint = self.latest() if size is None else self.recorder.checkpoint(size)
        assert checkpoint is not None
        return checkpoint.note + "".join(self.recorder.cosignature_lines(checkpoint.size))
