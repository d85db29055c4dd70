"""API tokens and roles (DESIGN §8): bearer tokens stored only as hashes.

A token is ``alt_`` followed by 32 random bytes (base64url); the ledger keeps its SHA-256
and a short ``token_id`` (for logs and revocation), never the token. Roles:

- ``writer`` — submits statements whose actor belongs to the token's agency at
  ``occurred_at`` (an official posted there, or a registrar of it); reads receipts and heads;
- ``root-writer`` — submits statements whose actor is a root registrar; reads receipts and
  heads;
- ``inspector`` — reads everything;
- ``admin`` — manages tokens.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any, Literal, get_args

from ledger.errors import Forbidden, InvalidStatement, NotFound, Unauthenticated
from ledger.registry import Registry
from ledger.state import Authorizer
from ledger.statements import ID_PATTERN, Statement
from ledger.storage import LedgerRecorder
from ledger.times import format_recorded_at, utc_now

Role = Literal["writer", "root-writer", "inspector", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
PREFIX = "alt_"
_ID = re.compile(ID_PATTERN)


@dataclass(frozen=True)
class Token:
    """A token's record: who it is for, never the token itself."""

    token_id: str
    role: str
    agency_id: str | None
    label: str
    created_at: str
    revoked_at: str | None

    @classmethod
    def of(cls, row: Any) -> Token:
        return cls(
            row["token_id"],
            row["role"],
            row["agency_id"],
            row["label"],
            row["created_at"],
            row["revoked_at"],
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "token_id": self.token_id,
            "role": self.role,
            "agency_id": self.agency_id,
            "label": self.label,
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
        }


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


class TokenStore:
    def __init__(self, recorder: LedgerRecorder) -> None:
        self.recorder = recorder

    def create(
        self, role: str, *, agency_id: str | None = None, label: str = ""
    ) -> tuple[Token, str]:
        """A new token and its secret (shown once)."""

        if role not in ROLES:
            raise InvalidStatement(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        if role == "writer":
            if not agency_id or not _ID.match(agency_id):
                raise InvalidStatement("a writer token needs --agency, an agency id")
        elif agency_id is not None:
            raise InvalidStatement(f"a {role} token has no agency scope")
        secret = PREFIX + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
        digest = token_hash(secret)
        # The id is random, not derived from the token: logs and lists reveal nothing of it.
        token_id = secrets.token_hex(6)
        token = Token(token_id, role, agency_id, label, format_recorded_at(utc_now()), None)
        self.recorder.insert_token(
            (token.token_id, digest, role, agency_id, label, token.created_at)
        )
        return token, secret

    def authenticate(self, secret: str | None) -> Token:
        """The live token behind a bearer secret; ``Unauthenticated`` otherwise."""
        if not secret:
            raise Unauthenticated("send Authorization: Bearer <token>")
        row = self.recorder.token_by_hash(token_hash(secret))
        if row is None:
            raise Unauthenticated("the bearer token is not known")
        token = Token.of(row)
        if token.revoked_at is not None:
            raise Unauthenticated(f"token {token.token_id} was revoked at {token.revoked_at}")
        return token

    def list(self) -> list[Token]:
        return [Token.of(row) for row in self.recorder.tokens()]

    def revoke(self, token_id: str) -> Token:
        if self.recorder.token_by_id(token_id) is None:
            raise NotFound(f"no token has id {token_id}")
        self.recorder.revoke_token(token_id, format_recorded_at(utc_now()))
        row = self.recorder.token_by_id(token_id)
        return Token.of(row)


def scope(token: Token) -> Authorizer | None:
    """Step 5 of DESIGN §4 for a token: whose statements it may submit."""
    if token.role == "root-writer":

        def root_only(registry: Registry, statement: Statement) -> None:
            if (
                registry.person_kind(statement.actor) != "root"
                and statement.type != "ledger.genesis"
            ):
                raise Forbidden(
                    f"token {token.token_id} (root-writer) submits statements by root "
                    f"registrars; {statement.actor} is not one"
                )

        return root_only
    if token.role == "writer":
        agency = token.agency_id

        def own_agency(registry: Registry, statement: Statement) -> None:
            actor, at = statement.actor, statement.occurred
            posting = registry.posting(actor, at)
            if posting is not None and posting.agency_id == agency:
                return
            if (
                registry.registrars.get(actor) == agency
                and agency in registry.agencies
                and any(
                    term.official_id == actor and term.is_active_at(at)
                    for term in registry.agencies[agency].registrars
                )
            ):
                return
            raise Forbidden(
                f"token {token.token_id} submits statements by officials and registrars of "
                f"{agency}; {actor} is not one at {statement.occurred_at}"
            )

        return own_agency
    raise Forbidden(f"a {token.role} token cannot submit statements")
