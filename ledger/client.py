"""A client for agency systems: build a statement, read the head, sign, submit.

    client = LedgerClient("http://127.0.0.1:8000", token=...)
    receipt = client.record(
        "handoff.offered", "matter:H10.15-251127-0001",
        actor="nguyen.van.a", key=signing_key, body={"to": "tran.thi.b", "reason": "…"},
    )

``record`` reads the subject's head, signs a statement chained to it, submits it, and on a
409 ``stale-head`` (someone else appended first) re-reads the head and tries once more —
re-signing, since ``prev`` is part of what is signed. ``sign_statement`` and ``envelope``
work offline, for systems that sign on a device and submit later.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from ledger.canonical import jcs
from ledger.crypto import SigningKey
from ledger.statements import SPEC


def now_instant() -> str:
    """The current instant in the ledger's lexical form (UTC, microseconds)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def make_statement(
    type_: str,
    subject: str,
    *,
    seq: int,
    prev: str | None,
    actor: str,
    key_id: str,
    body: Mapping[str, Any],
    occurred_at: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """A statement as a JSON object (DESIGN §4), signed later by the key ``key_id`` names."""
    return {
        "spec": SPEC,
        "event_id": event_id or str(uuid.uuid4()),
        "type": type_,
        "subject": subject,
        "seq": seq,
        "prev": prev,
        "actor": actor,
        "key": key_id,
        "occurred_at": occurred_at or now_instant(),
        "body": dict(body),
    }


def envelope(statement: Mapping[str, Any], key: SigningKey) -> dict[str, Any]:
    """Sign a statement's canonical bytes: ``{"statement": …, "signature": …}``."""
    return {"statement": dict(statement), "signature": key.sign_statement(jcs(statement))}


def envelope_hash(env: Mapping[str, Any]) -> str:
    """SHA-256 of JCS(envelope), hex: the next statement's ``prev``."""
    return hashlib.sha256(jcs(env)).hexdigest()


class LedgerError(Exception):
    """The ledger answered with a problem (RFC 9457)."""

    def __init__(self, status: int, problem: Mapping[str, Any]) -> None:
        self.status = status
        self.problem = dict(problem)
        self.slug = str(problem.get("type", "")).rsplit(":", 1)[-1]
        super().__init__(f"{status} {self.slug}: {problem.get('detail', '')}")


class Chains:
    """Signs statements chained per subject from heads it keeps itself: a run of statements
    signed before any is sent (a batch, an import of history)."""

    def __init__(self) -> None:
        self.heads: dict[str, tuple[int, str]] = {}  # subject -> (seq, envelope hash)

    def sign(
        self,
        type_: str,
        subject: str,
        *,
        actor: str,
        key: SigningKey,
        body: Mapping[str, Any],
        occurred_at: str | None = None,
        event_id: str | None = None,
    ) -> dict[str, Any]:
        """The envelope of the subject's next statement; the subject's head moves to it."""
        seq, prev = self.heads.get(subject, (-1, None))
        statement = make_statement(
            type_,
            subject,
            seq=seq + 1,
            prev=prev,
            actor=actor,
            key_id=key.key_id,
            body=body,
            occurred_at=occurred_at,
            event_id=event_id,
        )
        env = envelope(statement, key)
        self.heads[subject] = (seq + 1, envelope_hash(env))
        return env


class LedgerClient:
    """HTTP client of the append API; ``http`` may be any ``httpx.Client`` (tests pass one)."""

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8000",
        *,
        token: str | None = None,
        http: httpx.Client | None = None,
        timeout: float = 15.0,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = http or httpx.Client(base_url=base_url, timeout=timeout)
        self.headers = headers

    def _check(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {"detail": response.text}
            raise LedgerError(response.status_code, problem)
        return response.json()

    def head(self, subject: str) -> dict[str, Any] | None:
        """``{seq, envelope_hash, …}`` of the subject's last statement, or ``None``."""
        response = self.http.get(f"/v1/subjects/{subject}/head", headers=self.headers)
        if response.status_code == 404:
            return None
        result: dict[str, Any] = self._check(response)
        return result

    def submit(self, env: Mapping[str, Any]) -> dict[str, Any]:
        """POST one envelope; the receipt (201, or 200 for an exact replay)."""
        response = self.http.post(
            "/v1/events",
            content=jcs(env),
            headers={**self.headers, "Content-Type": "application/json"},
        )
        result: dict[str, Any] = self._check(response)
        return result

    def receipt(self, event_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._check(
            self.http.get(f"/v1/events/{event_id}", headers=self.headers)
        )
        return result

    def record(
        self,
        type_: str,
        subject: str,
        *,
        actor: str,
        key: SigningKey,
        body: Mapping[str, Any],
        occurred_at: str | None = None,
        event_id: str | None = None,
    ) -> dict[str, Any]:
        """Sign a statement on the current head and submit it; retry once on a stale head."""
        event_id = event_id or str(uuid.uuid4())
        for attempt in (1, 2):
            head = self.head(subject)
            statement = make_statement(
                type_,
                subject,
                seq=0 if head is None else head["seq"] + 1,
                prev=None if head is None else head["envelope_hash"],
                actor=actor,
                key_id=key.key_id,
                body=body,
                occurred_at=occurred_at,
                event_id=event_id,
            )
            try:
                return self.submit(envelope(statement, key))
            except LedgerError as e:
                if e.slug != "stale-head" or attempt == 2:
                    raise
        raise AssertionError("unreachable")
