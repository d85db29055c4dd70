"""A small province for tests: build registry and matter statements, sign, send, check.

Time in a world runs on its own clock (``World.at``), a minute a statement from a Monday
morning in March 2026, so tests read like a case file; registry facts are valid from 2020.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from ledger.application import Ledger
from ledger.canonical import jcs
from ledger.client import envelope, envelope_hash, make_statement
from ledger.crypto import SigningKey
from ledger.errors import PROBLEM_TYPE_PREFIX
from ledger.settings import Settings
from ledger.times import parse_instant
from ledger.tokens import TokenStore
from projections.runner import ProjectionRunner

ICT = timezone(timedelta(hours=7))
ORIGIN = "test.ledger.example/province"
ROOT_ID = "so-noi-vu"
REGISTRY_EPOCH = "2020-01-01T00:00:00+07:00"
START = datetime(2026, 3, 2, 8, 0, tzinfo=ICT)
PROCEDURE = "1.004227"  # cấp giấy chứng nhận quyền sử dụng đất (a land-use certificate)


def instant(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


@dataclass(frozen=True)
class Actor:
    id: str
    key: SigningKey


class Tokens:
    """A test node's bearer tokens: one per role, and a writer token per agency on demand."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.store = TokenStore(ledger.recorder)
        self.root_writer = self.store.create("root-writer", label="tests")[1]
        self.inspector = self.store.create("inspector", label="tests")[1]
        self.admin = self.store.create("admin", label="tests")[1]
        self._writers: dict[str, str] = {}

    def writer(self, agency_id: str) -> str:
        if agency_id not in self._writers:
            self._writers[agency_id] = self.store.create("writer", agency_id=agency_id)[1]
        return self._writers[agency_id]

    def for_actor(self, actor: str, occurred_at: str | None) -> str:
        """The token an agency's system would hold to submit this actor's statements."""
        registry = self.ledger.state.registry
        if registry.person_kind(actor) == "root":
            return self.root_writer
        if actor in registry.registrars:
            return self.writer(registry.registrars[actor])
        try:
            moment = parse_instant(occurred_at) if occurred_at else None
        except ValueError:
            moment = None
        posting = registry.posting(actor, moment) if moment else None
        if posting is None and actor in registry.officials:
            posting = registry.officials[actor].postings[-1]
        return self.writer(posting.agency_id) if posting else self.root_writer

    def for_request(self, request: httpx.Request) -> str:
        path = request.url.path
        if request.method == "POST" and path.startswith("/v1/events"):
            return self._for_body(request)
        if path.startswith("/v1/tokens"):
            return self.admin
        return self.inspector

    def _for_body(self, request: httpx.Request) -> str:
        try:
            body = json.loads(request.content)
            items = body if isinstance(body, list) else [body]
            statement = items[0]["statement"]
            return self.for_actor(str(statement["actor"]), statement.get("occurred_at"))
        except Exception:
            return self.root_writer  # any writer token lets the body reach the parser


class TokenAuth(httpx.Auth):
    """Adds the fitting bearer token to each request that does not name one itself."""

    def __init__(self, tokens: Tokens) -> None:
        self.tokens = tokens

    def auth_flow(self, request: httpx.Request) -> Any:
        if "authorization" not in request.headers:
            request.headers["Authorization"] = f"Bearer {self.tokens.for_request(request)}"
        yield request


@dataclass(frozen=True)
class Node:
    settings: Settings
    ledger: Ledger
    http: httpx.Client
    root: Actor
    tokens: Tokens


@dataclass
class AgencyHandle:
    id: str
    registrar: Actor
    root_unit: str = "lanh-dao"
    units: list[str] = field(default_factory=list)


def problem_slug(response: httpx.Response) -> str:
    body = response.json()
    assert response.headers["content-type"].startswith("application/problem+json"), body
    assert body["type"].startswith(PROBLEM_TYPE_PREFIX), body
    return str(body["type"][len(PROBLEM_TYPE_PREFIX) :])


class World:
    """Registry and matter statements for tests, sent through the real HTTP API."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.http = node.http
        self.ledger = node.ledger
        self.root = node.root
        self.clock = START
        self._runner: ProjectionRunner | None = None

    # --- read models -------------------------------------------------------------------

    def project(self) -> None:
        """Bring every projection up to the end of the log (what a read then sees)."""
        if self._runner is None:
            self._runner = ProjectionRunner(
                self.ledger.recorder,
                self.ledger.database_url,
            )
        self._runner.catch_up()

    def read(self, path: str, **params: Any) -> dict[str, Any]:
        """Project, then GET an inspector's read and require 200."""
        self.project()
        response = self.http.get(path, params={k: v for k, v in params.items() if v is not None})
        assert response.status_code == 200, f"{path}: {response.text}"
        result: dict[str, Any] = response.json()
        return result

    # --- time --------------------------------------------------------------------------

    def at(self, minutes: float = 1) -> str:
        """The next occurred_at: the world clock moved on by ``minutes``."""
        self.clock += timedelta(minutes=minutes)
        return instant(self.clock)

    # --- statements --------------------------------------------------------------------

    def head(self, subject: str) -> dict[str, Any] | None:
        response = self.http.get(f"/v1/subjects/{subject}/head")
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def envelope(
        self,
        type_: str,
        subject: str,
        actor: Actor,
        body: dict[str, Any],
        *,
        occurred_at: str | None = None,
        seq: int | None = None,
        prev: str | None = "head",
        event_id: str | None = None,
        key: SigningKey | None = None,
        actor_id: str | None = None,
    ) -> dict[str, Any]:
        """A signed envelope chained to the subject's current head unless told otherwise."""
        head = self.head(subject) if seq is None or prev == "head" else None
        signing_key = key or actor.key
        statement = make_statement(
            type_,
            subject,
            seq=seq if seq is not None else (0 if head is None else head["seq"] + 1),
            prev=(None if head is None else head["envelope_hash"]) if prev == "head" else prev,
            actor=actor_id or actor.id,
            key_id=signing_key.key_id,
            body=body,
            occurred_at=occurred_at or self.at(),
            event_id=event_id or str(uuid.uuid4()),
        )
        return envelope(statement, signing_key)

    def post(self, env: dict[str, Any] | bytes) -> httpx.Response:
        content = env if isinstance(env, bytes) else jcs(env)
        return self.http.post(
            "/v1/events", content=content, headers={"Content-Type": "application/json"}
        )

    def send(
        self, type_: str, subject: str, actor: Actor, body: dict[str, Any], **kw: Any
    ) -> httpx.Response:
        return self.post(self.envelope(type_, subject, actor, body, **kw))

    def ok(
        self, type_: str, subject: str, actor: Actor, body: dict[str, Any], **kw: Any
    ) -> dict[str, Any]:
        """Send and require 201; the receipt."""
        response = self.send(type_, subject, actor, body, **kw)
        assert response.status_code == 201, f"{type_} on {subject}: {response.text}"
        receipt: dict[str, Any] = response.json()
        return receipt

    @contextmanager
    def unchanged(self, subject: str) -> Iterator[None]:
        """Assert the log's size and the subject's head are the same after the block."""
        before = (self.ledger.size(), self.head(subject))
        yield
        assert (self.ledger.size(), self.head(subject)) == before, "the log changed"

    def reject(
        self,
        status: int,
        slug: str,
        type_: str,
        subject: str,
        actor: Actor,
        body: dict[str, Any],
        **kw: Any,
    ) -> dict[str, Any]:
        """Send, require the status and problem type, and require the log unchanged."""
        with self.unchanged(subject):
            response = self.send(type_, subject, actor, body, **kw)
            assert response.status_code == status, f"{type_}: {response.text}"
            assert problem_slug(response) == slug, response.text
        problem: dict[str, Any] = response.json()
        return problem

    # --- registry ----------------------------------------------------------------------

    def agency(
        self,
        agency_id: str,
        *,
        level: str = "province",
        parent: str | None = None,
        name: str | None = None,
    ) -> AgencyHandle:
        """Register an agency, appoint its registrar, register its leadership unit."""
        body: dict[str, Any] = {"name": name or f"Cơ quan {agency_id}", "level": level}
        if parent:
            body["parent_agency"] = parent
        self.ok("agency.registered", f"agency:{agency_id}", self.root, body)
        registrar = Actor(f"reg.{agency_id}", SigningKey.generate())
        self.ok(
            "registrar.appointed",
            f"agency:{agency_id}",
            self.root,
            {
                "official_id": registrar.id,
                "full_name": "Trần Thị Tổ Chức",
                "public_key": registrar.key.public_b64,
                "valid_from": REGISTRY_EPOCH,
            },
        )
        handle = AgencyHandle(agency_id, registrar)
        self.unit(handle, handle.root_unit, parent=None, name="Ban lãnh đạo")
        return handle

    def unit(
        self,
        agency: AgencyHandle,
        unit_id: str,
        *,
        parent: str | None = "lanh-dao",
        name: str | None = None,
    ) -> str:
        body: dict[str, Any] = {"unit_id": unit_id, "name": name or f"Phòng {unit_id}"}
        if parent:
            body["parent_unit"] = parent
        self.ok("unit.registered", f"agency:{agency.id}", agency.registrar, body)
        agency.units.append(unit_id)
        return unit_id

    def official(
        self,
        official_id: str,
        agency: AgencyHandle,
        unit: str | None = None,
        *,
        head: bool = False,
        position: str | None = None,
        name: str | None = None,
        key_valid_from: str = REGISTRY_EPOCH,
    ) -> Actor:
        """Register an official and bind a fresh key to them."""
        actor = Actor(official_id, SigningKey.generate())
        self.ok(
            "official.registered",
            f"official:{official_id}",
            agency.registrar,
            {
                "full_name": name or f"Nguyễn Văn {official_id}",
                "agency_id": agency.id,
                "unit_id": unit or agency.root_unit,
                "position": position or ("Trưởng phòng" if head else "Chuyên viên"),
                "is_head": head,
            },
        )
        self.bind_key(actor, agency, actor.key, valid_from=key_valid_from)
        return actor

    def bind_key(
        self,
        actor: Actor,
        agency: AgencyHandle,
        key: SigningKey,
        *,
        valid_from: str = REGISTRY_EPOCH,
        **kw: Any,
    ) -> dict[str, Any]:
        return self.ok(
            "key.bound",
            f"official:{actor.id}",
            agency.registrar,
            {"public_key": key.public_b64, "valid_from": valid_from},
            **kw,
        )

    def grant(self, official: Actor, agency: AgencyHandle, *codes: str, **kw: Any) -> None:
        self.ok(
            "competence.granted",
            f"official:{official.id}",
            agency.registrar,
            {"procedure_codes": list(codes or [PROCEDURE]), "legal_basis": "Quyết định 12/QĐ-UBND"},
            **kw,
        )

    def delegate(
        self,
        grantor: Actor,
        grantee: Actor,
        kind: str,
        *codes: str,
        valid_from: str = REGISTRY_EPOCH,
        valid_until: str = "2030-01-01T00:00:00+07:00",
    ) -> str:
        receipt = self.ok(
            "delegation.granted",
            f"official:{grantor.id}",
            grantor,
            {
                "grantee": grantee.id,
                "kind": kind,
                "procedure_codes": list(codes or [PROCEDURE]),
                "valid_from": valid_from,
                "valid_until": valid_until,
                "instrument_no": "15/QĐ-UQ",
            },
        )
        return str(receipt["event_id"])

    # --- matters -----------------------------------------------------------------------

    def open_matter(
        self, matter_id: str, opener: Actor, agency: AgencyHandle, *, code: str = PROCEDURE
    ) -> str:
        subject = f"matter:{matter_id}"
        self.ok(
            "matter.opened",
            subject,
            opener,
            {
                "title": "Cấp giấy chứng nhận quyền sử dụng đất",
                "procedure_code": code,
                "agency_id": agency.id,
                "deadline_working_days": 5,
                "applicant_ref": "HS-0001",
            },
        )
        return subject


__all__ = ["Actor", "AgencyHandle", "Node", "World", "envelope_hash", "problem_slug"]
