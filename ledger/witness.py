"""A witness (DESIGN §5): follows a log, cosigns only checkpoints consistent with the last
one it cosigned, and remembers that one on disk.

This is how another agency or the inspectorate keeps a provincial log honest: a log that
shows two witnesses different histories cannot get both cosigned.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from ledger import merkle
from ledger.crypto import SigningKey, b64decode_canonical, b64encode
from ledger.note import (
    COSIGNATURE_V1_ALGORITHM,
    Checkpoint,
    NoteError,
    Verifier,
    cosign,
    format_vkey,
    open_checkpoint,
)


class WitnessRefusal(Exception):
    """The log showed a checkpoint the witness will not cosign (fork, rollback, bad proof)."""


@dataclass(frozen=True)
class WitnessState:
    """The last checkpoint this witness cosigned."""

    origin: str
    size: int
    root: bytes

    @classmethod
    def load(cls, path: Path) -> WitnessState | None:
        if not path.exists():
            return None
        data = json.loads(path.read_text("utf-8"))
        return cls(data["origin"], int(data["size"]), b64decode_canonical(data["root"], size=32))

    def save(self, path: Path) -> None:
        """Atomically: a crash leaves the old state or the new one, never half of either."""
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"origin": self.origin, "size": self.size, "root": b64encode(self.root)}
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".witness-")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)


def witness_vkey(name: str, key: SigningKey) -> str:
    """The cosignature/v1 vkey a deployment configures to accept this witness."""
    return format_vkey(name, key.public_bytes, COSIGNATURE_V1_ALGORITHM)


class Witness:
    def __init__(
        self, *, log: Verifier, key: SigningKey, name: str, state_path: Path, http: httpx.Client
    ) -> None:
        self.log = log
        self.key = key
        self.name = name
        self.state_path = state_path
        self.http = http

    def judge(self, note: str) -> tuple[Checkpoint, WitnessState | None]:
        """Verify a checkpoint and its consistency with the last cosigned one, or refuse."""
        try:
            checkpoint, _ = open_checkpoint(note, self.log)
        except NoteError as e:
            raise WitnessRefusal(f"the checkpoint does not verify: {e}") from None
        state = WitnessState.load(self.state_path)
        if state is None:
            return checkpoint, None
        if checkpoint.size < state.size:
            raise WitnessRefusal(f"the log went back from size {state.size} to {checkpoint.size}")
        if checkpoint.size == state.size:
            if checkpoint.root != state.root:
                raise WitnessRefusal(f"two different roots for size {state.size}: the log forked")
            return checkpoint, state
        response = self.http.get(
            "/v1/log/proof/consistency",
            params={"first": state.size, "second": checkpoint.size},
        )
        if response.status_code != 200:
            raise WitnessRefusal(f"no consistency proof: {response.status_code} {response.text}")
        proof = [bytes.fromhex(h) for h in response.json()["hashes"]]
        try:
            merkle.verify_consistency(
                state.size, checkpoint.size, proof, state.root, checkpoint.root
            )
        except merkle.ProofError as e:
            raise WitnessRefusal(
                f"size {checkpoint.size} is not consistent with size {state.size} that this "
                f"witness cosigned: {e}; the log forked"
            ) from None
        return checkpoint, state

    def step(self) -> Checkpoint | None:
        """Fetch the latest checkpoint; cosign and submit it if it is new and consistent."""
        response = self.http.get("/v1/log/checkpoint")
        response.raise_for_status()
        note = response.text
        checkpoint, state = self.judge(note)
        if state is not None and state.size == checkpoint.size:
            return None
        line = cosign(checkpoint.text, self.name, self.key, int(time.time())).line
        submitted = self.http.post(
            "/v1/log/cosignatures",
            content=(note + line).encode("utf-8"),
            headers={"Content-Type": "text/plain; charset=utf-8"},
        )
        if submitted.status_code != 200:
            raise WitnessRefusal(
                f"the log refused the cosignature: {submitted.status_code} {submitted.text}"
            )
        WitnessState(checkpoint.origin, checkpoint.size, checkpoint.root).save(self.state_path)
        return checkpoint
