"""A small province in memory: the rules of DESIGN §4 and §6 without HTTP or a database.

``RulesWorld`` keeps a ``LedgerState`` and plays the log itself: it signs statements chained
to the state's heads, gives each the next index and a ``recorded_at`` on its own clock, and
admits it exactly as the append path does (``LedgerState.admit`` with the real signature
check), so a rule is tested in a millisecond. It speaks the ids of ``tests.world.World``:
the same root, registry epoch, Monday-morning clock and procedure code.

``Office`` is agency H10 and the people the rules need, each registered on first use.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

import pytest

from ledger.client import envelope, make_statement
from ledger.crypto import SigningKey
from ledger.errors import ProblemError
from ledger.note import format_vkey
from ledger.replay import verify_signature
from ledger.rules import LATEST_RULES
from ledger.state import Assessment, LedgerState
from ledger.statements import BODY_MODELS, Envelope, parse_envelope
from ledger.times import ONE_MICROSECOND
from tests.world import (
    ORIGIN,
    PROCEDURE,
    REGISTRY_EPOCH,
    ROOT_ID,
    START,
    Actor,
    AgencyHandle,
    instant,
)

HEAD = "head"  # ``prev``: chain to the subject's current head
RECORDING_DELAY = timedelta(seconds=1)  # from the world's clock to the ledger's
OTHER_PROCEDURE = "2.002154"
LEGAL_BASIS = "Quyết định 12/QĐ-UBND"


def new_event_id() -> str:
    return str(uuid.uuid4())


def root_body(actor: Actor, valid_from: str | None = REGISTRY_EPOCH) -> dict[str, Any]:
    body = {"id": actor.id, "full_name": f"Gốc {actor.id}", "public_key": actor.key.public_b64}
    if valid_from is not None:
        body["valid_from"] = valid_from
    return body


class RulesWorld:
    """A ledger state, its clock and its log position; statements signed, admitted, kept.

    The clock starts at ``START`` and moves a minute per statement unless told otherwise
    (``at``). The ledger records each statement a second after the clock — strictly after
    the entry before it — so ``recorded_at`` stays close to ``occurred_at`` unless a test
    dates a statement away from the clock or names its ``recorded_at``.
    """

    def __init__(
        self,
        *,
        time_rules: dict[str, int] | None = None,
        genesis: bool = True,
        rules: int | None = LATEST_RULES,
    ) -> None:
        self.state = LedgerState()
        self.clock = START
        self.root = Actor(ROOT_ID, SigningKey.generate())
        self.log_key = SigningKey.generate()
        self.last_event_id = ""
        if not genesis:  # the test signs its own
            return
        self.ok(
            "ledger.genesis",
            "ledger",
            self.root,
            self.genesis_body(self.root, time_rules=time_rules, rules=rules),
            occurred_at=instant(self.clock),
        )

    # --- time ------------------------------------------------------------------------------

    def at(self, minutes: float = 1) -> str:
        """The next occurred_at: the world's clock moved on by ``minutes``."""
        self.clock += timedelta(minutes=minutes)
        return instant(self.clock)

    def ago(self, minutes: float) -> str:
        """An instant ``minutes`` before the clock (the clock stays)."""
        return instant(self.clock - timedelta(minutes=minutes))

    def ahead(self, minutes: float) -> str:
        """An instant ``minutes`` after the clock (the clock stays)."""
        return instant(self.clock + timedelta(minutes=minutes))

    def next_recorded_at(self) -> datetime:
        """When the ledger would record a statement now: after the clock, after the last entry."""
        recorded = (self.clock + RECORDING_DELAY).astimezone(UTC)
        last = self.state.last_recorded_at
        if last is not None and recorded <= last:
            return last + ONE_MICROSECOND
        return recorded

    # --- statements ------------------------------------------------------------------------

    def genesis_body(
        self,
        *roots: Actor,
        time_rules: dict[str, int] | None = None,
        rules: int | None = LATEST_RULES,
    ) -> dict[str, Any]:
        """A genesis naming ``roots`` (the first signs it), under rules version ``rules``
        (``None``: no ``rules`` field, version 3), with ``time_rules`` if given."""
        body: dict[str, Any] = {
            "origin": ORIGIN,
            "log_vkey": format_vkey(ORIGIN, self.log_key.public_bytes),
            "roots": [root_body(r) for r in roots],
        }
        if time_rules is not None:
            body["time_rules"] = time_rules
        if rules is not None:
            body["rules"] = rules
        return body

    def raw_envelope(
        self,
        type_: str,
        subject: str,
        actor: Actor,
        body: dict[str, Any],
        *,
        occurred_at: str | None = None,
        seq: int | None = None,
        prev: str | None = HEAD,
        event_id: str | None = None,
        key: SigningKey | None = None,
        signer: SigningKey | None = None,
        actor_id: str | None = None,
    ) -> dict[str, Any]:
        """A signed envelope as JSON, chained to the subject's head unless told otherwise.

        ``key`` is the key the statement names (default: the actor's); ``signer`` the key
        that actually signs (default: the named one).
        """
        head = self.state.heads.get(subject)
        named = key or actor.key
        statement = make_statement(
            type_,
            subject,
            seq=seq if seq is not None else (0 if head is None else head.seq + 1),
            prev=(None if head is None else head.envelope_hash) if prev == HEAD else prev,
            actor=actor_id or actor.id,
            key_id=named.key_id,
            body=body,
            occurred_at=occurred_at or self.at(),
            event_id=event_id or new_event_id(),
        )
        return envelope(statement, signer or named)

    def envelope(
        self, type_: str, subject: str, actor: Actor, body: dict[str, Any], **kw: Any
    ) -> Envelope:
        """``raw_envelope``, parsed as the append path parses it (schema errors raise)."""
        return parse_envelope(self.raw_envelope(type_, subject, actor, body, **kw))

    def admit(self, env: Envelope, *, recorded_at: datetime | None = None) -> Assessment:
        """Admit ``env`` as the log's next entry and commit it; its assessment."""
        assessment = self.state.admit(
            env,
            index=self.state.last_index + 1,
            recorded_at=recorded_at or self.next_recorded_at(),
            check_signature=verify_signature,
        )
        self.state.commit()
        self.last_event_id = env.statement.event_id
        return assessment

    def ok(
        self,
        type_: str,
        subject: str,
        actor: Actor,
        body: dict[str, Any],
        *,
        recorded_at: datetime | None = None,
        **kw: Any,
    ) -> Assessment:
        """Sign, admit and commit; what admitting it found."""
        env = self.envelope(type_, subject, actor, body, **kw)
        try:
            return self.admit(env, recorded_at=recorded_at)
        except ProblemError as e:
            raise AssertionError(f"{type_} on {subject} by {actor.id}: {e.slug}: {e}") from e

    def fingerprint(self) -> tuple[Any, ...]:
        """Everything admitting can change: heads, log position, matters, the registry."""
        state = self.state
        registry = {k: v for k, v in vars(state.registry).items() if k != "journal"}
        return (
            dict(state.heads),
            state.last_index,
            state.last_recorded_at,
            repr(state.matters),
            repr(registry),
            state.journal.mark(),
        )

    def reject_envelope(
        self, build: Callable[[], Envelope], slug: str, *, recorded_at: datetime | None = None
    ) -> ProblemError:
        """Require ``build()``'s envelope refused with ``slug`` and the state unchanged."""
        before = self.fingerprint()
        with pytest.raises(ProblemError) as caught:
            self.admit(build(), recorded_at=recorded_at)
        error = caught.value
        assert error.slug == slug, f"expected {slug}, got {error.slug}: {error.detail}"
        assert self.fingerprint() == before, "a rejected statement changed the state"
        return error

    def reject(
        self,
        type_: str,
        subject: str,
        actor: Actor,
        body: dict[str, Any],
        slug: str,
        *,
        recorded_at: datetime | None = None,
        **kw: Any,
    ) -> ProblemError:
        """Sign and admit; require the problem ``slug`` and the state unchanged."""
        return self.reject_envelope(
            lambda: self.envelope(type_, subject, actor, body, **kw),
            slug,
            recorded_at=recorded_at,
        )

    def forbid(
        self,
        type_: str,
        subject: str,
        signers: list[Actor],
        body: dict[str, Any],
        **kw: Any,
    ) -> None:
        """Each signer is refused ``not-permitted`` and leaves the state unchanged."""
        for signer in signers:
            try:
                self.reject(type_, subject, signer, body, "not-permitted", **kw)
            except AssertionError as e:
                raise AssertionError(
                    f"{signer.id} must not be permitted to sign {type_}: {e}"
                ) from e

    # --- registry --------------------------------------------------------------------------

    def add_root(
        self, root_id: str, *, by: Actor | None = None, valid_from: str = REGISTRY_EPOCH
    ) -> Actor:
        actor = Actor(root_id, SigningKey.generate())
        self.ok("root.added", "ledger", by or self.root, root_body(actor, valid_from))
        return actor

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
            registrar_body(registrar.id, registrar.key),
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
        with_key: bool = True,
        key_valid_from: str = REGISTRY_EPOCH,
    ) -> Actor:
        """Register an official and (unless told not to) bind a fresh key to them."""
        actor = Actor(official_id, SigningKey.generate())
        self.ok(
            "official.registered",
            f"official:{official_id}",
            agency.registrar,
            {
                "full_name": f"Nguyễn Văn {official_id}",
                **posting_body(agency.id, unit or agency.root_unit, head=head),
            },
        )
        if with_key:
            self.bind_key(actor, agency, actor.key, valid_from=key_valid_from)
        return actor

    def bind_key(
        self,
        actor: Actor,
        agency: AgencyHandle,
        key: SigningKey,
        *,
        valid_from: str = REGISTRY_EPOCH,
    ) -> Assessment:
        return self.ok(
            "key.bound",
            f"official:{actor.id}",
            agency.registrar,
            {"public_key": key.public_b64, "valid_from": valid_from},
        )

    def transfer(self, actor: Actor, source: AgencyHandle, destination: AgencyHandle) -> None:
        """Move an official to the leadership unit of another agency: the source's registrar
        releases them where the ledger knows releases (DESIGN §6 v4), then the destination's
        registrar records the move."""
        subject = f"official:{actor.id}"
        if "official.released" in BODY_MODELS:
            release = {"to_agency_id": destination.id}
            self.ok("official.released", subject, source.registrar, release)
        body = posting_body(destination.id, destination.root_unit)
        self.ok("official.moved", subject, destination.registrar, body)

    def revoke_key(
        self, actor: Actor, by: Actor, key: SigningKey, reason: str, effective_at: str
    ) -> Assessment:
        body = {"key_id": key.key_id, "effective_at": effective_at, "reason": reason}
        return self.ok("key.revoked", f"official:{actor.id}", by, body)

    def grant(self, official: Actor, agency: AgencyHandle, *codes: str) -> None:
        body = {"procedure_codes": list(codes or [PROCEDURE]), "legal_basis": LEGAL_BASIS}
        self.ok("competence.granted", f"official:{official.id}", agency.registrar, body)

    def delegate(
        self,
        grantor: Actor,
        grantee: Actor,
        kind: str,
        *codes: str,
        valid_from: str = REGISTRY_EPOCH,
        valid_until: str = "2030-01-01T00:00:00+07:00",
    ) -> str:
        """A delegation from ``grantor`` to ``grantee``; its id."""
        body = delegation_body(
            grantee, kind, procedure_codes=list(codes or [PROCEDURE]), valid_from=valid_from
        )
        body["valid_until"] = valid_until
        self.ok("delegation.granted", f"official:{grantor.id}", grantor, body)
        return self.last_event_id

    # --- matters ---------------------------------------------------------------------------

    def open_matter(
        self, matter_id: str, opener: Actor, agency_id: str = "H10", *, code: str = PROCEDURE
    ) -> str:
        """Open a matter; its subject."""
        subject = f"matter:{matter_id}"
        self.ok("matter.opened", subject, opener, matter_body(agency_id, code))
        return subject

    def offer(self, matter: str, offerer: Actor, to: Actor) -> str:
        """A handoff offer; its id."""
        self.ok("handoff.offered", matter, offerer, {"to": to.id, "reason": "Chuyển xử lý"})
        return self.last_event_id

    def consult(self, matter: str, requester: Actor, to: Actor, **fields: str) -> str:
        """A consultation request; its id."""
        self.ok("consultation.requested", matter, requester, consultation_body(to, **fields))
        return self.last_event_id

    def assign(self, matter: str, by: Actor, assignee: Actor, role: str) -> Assessment:
        return self.ok("task.assigned", matter, by, task_body(assignee, role))

    def custodian(self, matter: str) -> str:
        return self.state.matters[matter.removeprefix("matter:")].custodian


# --- bodies --------------------------------------------------------------------------------


def registrar_body(official_id: str, key: SigningKey | None = None) -> dict[str, Any]:
    return {
        "official_id": official_id,
        "full_name": "Trần Thị Tổ Chức",
        "public_key": (key or SigningKey.generate()).public_b64,
        "valid_from": REGISTRY_EPOCH,
    }


def posting_body(
    agency_id: str, unit_id: str = "lanh-dao", *, head: bool = False
) -> dict[str, Any]:
    return {
        "agency_id": agency_id,
        "unit_id": unit_id,
        "position": "Trưởng phòng" if head else "Chuyên viên",
        "is_head": head,
    }


def official_body(agency_id: str, unit_id: str = "lanh-dao") -> dict[str, Any]:
    return {"full_name": "Phạm Thị Mới", **posting_body(agency_id, unit_id)}


def competence_body(type_: str, *codes: str) -> dict[str, Any]:
    body: dict[str, Any] = {"procedure_codes": list(codes or [PROCEDURE])}
    if type_ == "competence.granted":
        body["legal_basis"] = LEGAL_BASIS
    return body


def delegation_body(grantee: Actor, kind: str = "uy_quyen", **fields: Any) -> dict[str, Any]:
    return {
        "grantee": grantee.id,
        "kind": kind,
        "procedure_codes": [PROCEDURE],
        "valid_from": REGISTRY_EPOCH,
        "valid_until": "2030-01-01T00:00:00+07:00",
        "instrument_no": "15/QĐ-UQ",
        **fields,
    }


def matter_body(agency_id: str = "H10", code: str = PROCEDURE) -> dict[str, Any]:
    return {
        "title": "Cấp giấy chứng nhận quyền sử dụng đất",
        "procedure_code": code,
        "agency_id": agency_id,
        "deadline_working_days": 5,
        "applicant_ref": "HS-0001",
    }


def task_body(assignee: Actor, role: str) -> dict[str, Any]:
    return {"assignee": assignee.id, "role": role, "instructions": "Thẩm định hồ sơ"}


def consultation_body(to: Actor, **fields: str) -> dict[str, Any]:
    return {"to": to.id, "question": "Xin ý kiến về ranh giới thửa đất", **fields}


def decision_body(capacity: str = "own", delegation_id: str | None = None) -> dict[str, Any]:
    body = {
        "outcome": "approved",
        "summary": "Đủ điều kiện cấp giấy chứng nhận",
        "legal_basis": "Luật Đất đai 2024",
        "capacity": capacity,
    }
    if delegation_id:
        body["delegation_id"] = delegation_id
    return body


# --- the office ----------------------------------------------------------------------------


class Office:
    """Agency H10 and its people, each registered on first use.

    The director heads the leadership unit ``lanh-dao`` (a superior of everyone below it);
    the chief heads the land department ``phong-dat``, where the clerk, a peer and a deputy
    work. The head of a sibling department, the head of a second root unit ``van-phong``
    (an agency head who is nobody's superior in ``phong-dat``), agency X10 with its head,
    and commune T20 under H10 with a clerk of its own are built when first named.
    """

    def __init__(self, world: RulesWorld | None = None) -> None:
        self.world = world or RulesWorld()
        self.agency = self.world.agency("H10")
        self.dept = self.world.unit(self.agency, "phong-dat")

    def __getitem__(self, name: str) -> Actor:
        actor: Actor = getattr(self, name)
        return actor

    def register(self, *names: str) -> None:
        """Register these people now, before the clock moves on or a statement names them."""
        for name in names:
            self[name]

    @property
    def root(self) -> Actor:
        return self.world.root

    @property
    def registrar(self) -> Actor:
        return self.agency.registrar

    @cached_property
    def director(self) -> Actor:
        return self.world.official("giam.doc", self.agency, self.agency.root_unit, head=True)

    @cached_property
    def chief(self) -> Actor:
        return self.world.official("truong.phong", self.agency, self.dept, head=True)

    @cached_property
    def clerk(self) -> Actor:
        return self.world.official("chuyen.vien", self.agency, self.dept)

    @cached_property
    def peer(self) -> Actor:
        return self.world.official("dong.nghiep", self.agency, self.dept)

    @cached_property
    def deputy(self) -> Actor:
        return self.world.official("pho.phong", self.agency, self.dept)

    @cached_property
    def other_chief(self) -> Actor:
        """Head of a sibling department: nobody's superior in phong-dat."""
        unit = self.world.unit(self.agency, "phong-khac")
        return self.world.official("truong.phong.khac", self.agency, unit, head=True)

    @cached_property
    def office_chief(self) -> Actor:
        """Head of a second root unit: an agency head, yet not a superior in phong-dat."""
        unit = self.world.unit(self.agency, "van-phong", parent=None)
        return self.world.official("chanh.van.phong", self.agency, unit, head=True)

    @cached_property
    def outside(self) -> AgencyHandle:
        """Agency X10: no relation to H10."""
        return self.world.agency("X10")

    @property
    def other_registrar(self) -> Actor:
        return self.outside.registrar

    @cached_property
    def outsider(self) -> Actor:
        """The head of X10's leadership unit: an agency head, of another agency."""
        return self.world.official("ngoai.vi", self.outside, self.outside.root_unit, head=True)

    @cached_property
    def commune(self) -> AgencyHandle:
        """Commune T20, whose parent agency is H10."""
        return self.world.agency("T20", level="commune", parent="H10")

    @cached_property
    def commune_clerk(self) -> Actor:
        return self.world.official("can.bo.xa", self.commune)

    @cached_property
    def keyless(self) -> Actor:
        """A registered official of phong-dat with no key bound."""
        return self.world.official("chua.co.khoa", self.agency, self.dept, with_key=False)

    @cached_property
    def second_root(self) -> Actor:
        return self.world.add_root("bo-noi-vu")
