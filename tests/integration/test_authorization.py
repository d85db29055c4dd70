"""Who may call what (DESIGN §8 "Access", §4 step 1 and step 5).

The matrix below is the contract: every endpoint, every kind of caller, the status the
docs promise. 401 is ``unauthenticated`` with ``WWW-Authenticate: Bearer``; 403 is
``forbidden``; both are ``application/problem+json``. Public endpoints ignore the
Authorization header altogether (a witness or a verifier may send anything). A refused
append leaves no trace in the log.

All tests here share one node per backend (module scope): every case builds its own
statement (a fresh matter) or token, so cases do not depend on each other, and the 213
cases run on both SQLite and PostgreSQL in about five seconds (a fresh node per case
would take over a minute).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledger.canonical import jcs
from ledger.crypto import SigningKey
from ledger.note import Checkpoint, cosign
from ledger.settings import Settings
from ledger.witness import witness_vkey
from tests.conftest import drop_schema, running_node
from tests.world import ORIGIN, PROCEDURE, Actor, AgencyHandle, Node, World, problem_slug

WITNESS = "thanh-tra.example"
PROBLEM_JSON = "application/problem+json"

# --- the node every test in this module shares ---------------------------------------


@dataclass
class Stage:
    """One running node with two agencies, a live token per role and revoked ones."""

    node: Node
    world: World
    h10: AgencyHandle
    official: Actor  # an official of H10
    event_id: str  # a stored event (its receipt is read)
    witness_key: SigningKey
    live: dict[str, str]  # caller → bearer token
    revoked: dict[str, str]  # caller whose role it had → a revoked token
    counter: Iterator[int] = field(default_factory=itertools.count)

    @property
    def http(self) -> httpx.Client:
        return self.node.http

    def fresh(self, prefix: str) -> str:
        return f"{prefix}{next(self.counter)}-{uuid.uuid4().hex[:6]}"


def _wait_for_checkpoint(node: Node) -> None:
    assert node.ledger.transparency is not None
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        latest = node.ledger.transparency.recorder.latest_checkpoint()
        if latest is not None and latest.size == node.ledger.size():
            return
        time.sleep(0.05)
    raise AssertionError("no checkpoint covers the log after 15 s")


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def stage(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stage]:
    tmp: Path = tmp_path_factory.mktemp("authorization")
    base, schema = "", ""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'ledger.db'}"
    else:
        base = request.getfixturevalue("postgres_base_url")
        schema = "t_" + uuid.uuid4().hex[:16]
        url = f"{base}?schema={schema}"
    witness_key = SigningKey.generate()
    settings = Settings.load(
        tmp / "data", database_url=url, witness_vkeys=[witness_vkey(WITNESS, witness_key)]
    )
    try:
        with running_node(settings) as node:
            world = World(node)
            h10 = world.agency("H10")
            official = world.official("chuyen.vien", h10)
            h20 = world.agency("H20")
            world.official("can.bo", h20)
            event_id = world.ok(
                "competence.granted",
                f"official:{official.id}",
                h10.registrar,
                {"procedure_codes": [PROCEDURE], "legal_basis": "Quyết định 12/QĐ-UBND"},
            )["event_id"]
            _wait_for_checkpoint(node)
            tokens = node.tokens
            live = {
                "writer H10": tokens.writer("H10"),
                "writer H20": tokens.writer("H20"),
                "root-writer": tokens.root_writer,
                "inspector": tokens.inspector,
                "admin": tokens.admin,
            }
            revoked = {}
            for caller, (role, agency) in {
                "writer H10": ("writer", "H10"),
                "inspector": ("inspector", None),
                "admin": ("admin", None),
            }.items():
                token, secret = tokens.store.create(role, agency_id=agency, label="revoked")
                tokens.store.revoke(token.token_id)
                revoked[caller] = secret
            yield Stage(node, world, h10, official, event_id, witness_key, live, revoked)
    finally:
        if schema:
            drop_schema(base, schema)


# --- requests ----------------------------------------------------------------------------


@dataclass
class Call:
    """One request, and a check of its side effect given whether it succeeded."""

    method: str
    path: str
    content: bytes | None = None
    content_type: str | None = None
    after: Callable[[bool], None] | None = None


def _matter_opened(stage: Stage) -> tuple[str, dict[str, Any]]:
    """A valid ``matter.opened`` by an H10 official, on a matter of its own."""
    subject = f"matter:{stage.fresh('H10.M')}"
    env = stage.world.envelope(
        "matter.opened",
        subject,
        stage.official,
        {
            "title": "Cấp giấy chứng nhận quyền sử dụng đất",
            "procedure_code": PROCEDURE,
            "agency_id": "H10",
            "deadline_working_days": 5,
            "applicant_ref": "HS-0001",
        },
        seq=0,
        prev=None,
    )
    return subject, env


def _stored_iff(stage: Stage, subject: str) -> Callable[[bool], None]:
    size, head = stage.node.ledger.size(), stage.node.ledger.head(subject)

    def check(succeeded: bool) -> None:
        if succeeded:
            assert stage.node.ledger.head(subject) != head, "the append was not stored"
        else:
            assert stage.node.ledger.size() == size, "a refused append left a trace"
            assert stage.node.ledger.head(subject) == head

    return check


def append(stage: Stage) -> Call:
    subject, env = _matter_opened(stage)
    return Call("POST", "/v1/events", jcs(env), "application/json", _stored_iff(stage, subject))


def append_batch(stage: Stage) -> Call:
    subject, env = _matter_opened(stage)
    return Call(
        "POST", "/v1/events:batch", jcs([env]), "application/json", _stored_iff(stage, subject)
    )


def create_token(stage: Stage) -> Call:
    label = stage.fresh("matrix-")

    def check(succeeded: bool) -> None:
        made = [t for t in stage.node.tokens.store.list() if t.label == label]
        assert len(made) == (1 if succeeded else 0)

    body = jcs({"role": "inspector", "label": label})
    return Call("POST", "/v1/tokens", body, "application/json", check)


def revoke_token(stage: Stage) -> Call:
    token, _ = stage.node.tokens.store.create("inspector", label="to revoke")

    def check(succeeded: bool) -> None:
        still_live = stage.node.tokens.store.list()
        (record,) = [t for t in still_live if t.token_id == token.token_id]
        assert (record.revoked_at is not None) == succeeded

    return Call("DELETE", f"/v1/tokens/{token.token_id}", after=check)


def cosignature(stage: Stage) -> Call:
    assert stage.node.ledger.transparency is not None
    latest = stage.node.ledger.transparency.recorder.latest_checkpoint()
    assert latest is not None
    line = cosign(
        Checkpoint(ORIGIN, latest.size, latest.root).text,
        WITNESS,
        stage.witness_key,
        int(time.time()),
    )
    return Call("POST", "/v1/log/cosignatures", (latest.note + line.line).encode(), "text/plain")


def get(path: str | Callable[[Stage], str]) -> Callable[[Stage], Call]:
    def make(stage: Stage) -> Call:
        return Call("GET", path(stage) if callable(path) else path)

    return make


def consistency(stage: Stage) -> str:
    assert stage.node.ledger.transparency is not None
    latest = stage.node.ledger.transparency.recorder.latest_checkpoint()
    assert latest is not None
    return f"/v1/log/proof/consistency?first=1&second={latest.size}"


ENDPOINTS: dict[str, Callable[[Stage], Call]] = {
    "POST /v1/events": append,
    "POST /v1/events:batch": append_batch,
    "GET /v1/events/{id}": get(lambda s: f"/v1/events/{s.event_id}"),
    "GET /v1/subjects/{s}/head": get("/v1/subjects/agency:H10/head"),
    "GET /v1/subjects/{s}/entries": get("/v1/subjects/agency:H10/entries"),
    "GET /v1/log/entries": get("/v1/log/entries?start=0&end=3"),
    "GET /v1/tokens": get("/v1/tokens"),
    "POST /v1/tokens": create_token,
    "DELETE /v1/tokens/{id}": revoke_token,
    "GET /v1/log/key": get("/v1/log/key"),
    "GET /v1/log/checkpoint": get("/v1/log/checkpoint"),
    "GET /v1/log/checkpoint/cosigned": get("/v1/log/checkpoint/cosigned"),
    "GET /v1/log/proof/inclusion": get("/v1/log/proof/inclusion?index=0"),
    "GET /v1/log/proof/consistency": get(consistency),
    "POST /v1/log/cosignatures": cosignature,
    "GET /healthz": get("/healthz"),
    "GET /readyz": get("/readyz"),
    "GET /metrics": get("/metrics"),
}

# --- the matrix --------------------------------------------------------------------------

# Callers, in the matrix's column order:
#   none      no Authorization header
#   scheme    a live token of a fitting role under another scheme ("Token alt_…")
#   unknown   "Bearer alt_…" that no one issued
#   revoked   a revoked token of a fitting role
#   w:H10     writer token of H10 (the actor's agency in the appended statement)
#   w:H20     writer token of another agency
#   root      root-writer; insp inspector; admin
CALLERS = ("none", "scheme", "unknown", "revoked", "w:H10", "w:H20", "root", "insp", "admin")
B403 = "200, its item 403"  # a batch answers 200 with the item's problem: forbidden

# fmt: off
MATRIX: dict[str, tuple[int | str, ...]] = {
    #                                  none scheme unknown revoked w:H10 w:H20 root insp admin
    "POST /v1/events":                 (401, 401,  401,    401,    201,  403,  403, 403, 403),
    "POST /v1/events:batch":           (401, 401,  401,    401,    200,  B403, B403, 403, 403),
    "GET /v1/events/{id}":             (401, 401,  401,    401,    200,  200,  200, 200, 403),
    "GET /v1/subjects/{s}/head":       (401, 401,  401,    401,    200,  200,  200, 200, 403),
    "GET /v1/subjects/{s}/entries":    (401, 401,  401,    401,    403,  403,  403, 200, 403),
    "GET /v1/log/entries":             (401, 401,  401,    401,    403,  403,  403, 200, 403),
    "GET /v1/tokens":                  (401, 401,  401,    401,    403,  403,  403, 403, 200),
    "POST /v1/tokens":                 (401, 401,  401,    401,    403,  403,  403, 403, 201),
    "DELETE /v1/tokens/{id}":          (401, 401,  401,    401,    403,  403,  403, 403, 200),
    "GET /v1/log/key":                 (200, 200,  200,    200,    200,  200,  200, 200, 200),
    "GET /v1/log/checkpoint":          (200, 200,  200,    200,    200,  200,  200, 200, 200),
    "GET /v1/log/checkpoint/cosigned": (200, 200,  200,    200,    200,  200,  200, 200, 200),
    "GET /v1/log/proof/inclusion":     (200, 200,  200,    200,    200,  200,  200, 200, 200),
    "GET /v1/log/proof/consistency":   (200, 200,  200,    200,    200,  200,  200, 200, 200),
    "POST /v1/log/cosignatures":       (200, 200,  200,    200,    200,  200,  200, 200, 200),
    "GET /healthz":                    (200, 200,  200,    200,    200,  200,  200, 200, 200),
    "GET /readyz":                     (200, 200,  200,    200,    200,  200,  200, 200, 200),
    "GET /metrics":                    (200, 200,  200,    200,    200,  200,  200, 200, 200),
}
# fmt: on

# The role whose token the "scheme" and "revoked" callers hold: one the endpoint admits,
# so the refusal is due to the scheme or the revocation alone.
FITTING = {
    "POST /v1/events": "writer H10",
    "POST /v1/events:batch": "writer H10",
    "GET /v1/tokens": "admin",
    "POST /v1/tokens": "admin",
    "DELETE /v1/tokens/{id}": "admin",
}
COLUMN_TOKEN = {
    "w:H10": "writer H10",
    "w:H20": "writer H20",
    "root": "root-writer",
    "insp": "inspector",
    "admin": "admin",
}
CASES = [
    pytest.param(endpoint, caller, expected, id=f"{endpoint} by {caller}")
    for endpoint, row in MATRIX.items()
    for caller, expected in zip(CALLERS, row, strict=True)
]


def authorization(stage: Stage, endpoint: str, caller: str) -> str | None:
    fitting = FITTING.get(endpoint, "inspector")
    if caller == "none":
        return None
    if caller == "scheme":
        return f"Token {stage.live[fitting]}"
    if caller == "unknown":
        return "Bearer alt_" + base64.urlsafe_b64encode(uuid.uuid4().bytes * 2).decode().rstrip("=")
    if caller == "revoked":
        return f"Bearer {stage.revoked[fitting]}"
    return f"Bearer {stage.live[COLUMN_TOKEN[caller]]}"


def send(stage: Stage, call: Call, header: str | None) -> httpx.Response:
    headers = {}
    if header is not None:
        headers["Authorization"] = header
    if call.content_type is not None:
        headers["Content-Type"] = call.content_type
    # auth=None: the test client must not add a token of its own
    return stage.http.request(
        call.method, call.path, content=call.content, headers=headers, auth=None
    )


def assert_refused(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    if status == 401:
        assert problem_slug(response) == "unauthenticated"
        assert response.headers.get("www-authenticate") == "Bearer"
    else:
        assert problem_slug(response) == "forbidden"
    assert response.json()["status"] == status


@pytest.mark.parametrize(("endpoint", "caller", "expected"), CASES)
def test_every_endpoint_answers_every_caller_as_the_matrix_says(
    stage: Stage, endpoint: str, caller: str, expected: int | str
) -> None:
    call = ENDPOINTS[endpoint](stage)
    header = authorization(stage, endpoint, caller)
    response = send(stage, call, header)
    if expected == B403:
        assert response.status_code == 200, response.text
        (item,) = response.json()
        assert item["type"].endswith(":forbidden"), item
        assert item["status"] == 403
    elif expected in (401, 403):
        assert isinstance(expected, int)
        assert_refused(response, expected)
    else:
        assert response.status_code == expected, response.text
        assert not response.headers.get("content-type", "").startswith(PROBLEM_JSON)
    if call.after is not None:
        call.after(expected in (200, 201))
    # a token never comes back in an answer
    if header is not None and " " in header:
        secret = header.split(" ", 1)[1]
        assert secret not in response.text
        assert secret not in str(response.headers)


# --- statements on the wrong token (DESIGN §4 step 5) -----------------------------------


def _statement(stage: Stage, author: str) -> tuple[str, dict[str, Any], str]:
    """A valid statement by ``author``; its subject and actor."""
    world = stage.world
    if author == "H10 official":
        subject, env = _matter_opened(stage)
        return subject, env, stage.official.id
    if author == "H10 registrar":
        subject = "agency:H10"
        body = {"unit_id": stage.fresh("phong-"), "name": "Phòng mới", "parent_unit": "lanh-dao"}
        env = world.envelope("unit.registered", subject, stage.h10.registrar, body)
        return subject, env, stage.h10.registrar.id
    subject = f"agency:{stage.fresh('A')}"
    env = world.envelope(
        "agency.registered", subject, world.root, {"name": "Cơ quan mới", "level": "commune"}
    )
    return subject, env, world.root.id


# fmt: off
SCOPE = [
    # author of the statement  token            status
    ("H10 official",           "writer H10",    201),
    ("H10 official",           "writer H20",    403),  # valid in every way, wrong agency
    ("H10 official",           "root-writer",   403),
    ("H10 registrar",          "writer H10",    201),
    ("H10 registrar",          "writer H20",    403),
    ("H10 registrar",          "root-writer",   403),
    ("root",                   "root-writer",   201),
    ("root",                   "writer H10",    403),
]
# fmt: on


@pytest.mark.parametrize(("author", "token", "status"), SCOPE)
def test_a_token_submits_only_statements_of_its_own_scope(
    stage: Stage, author: str, token: str, status: int
) -> None:
    subject, env, actor = _statement(stage, author)
    call = Call("POST", "/v1/events", jcs(env), "application/json", _stored_iff(stage, subject))
    response = send(stage, call, f"Bearer {stage.live[token]}")
    if status == 201:
        assert response.status_code == 201, response.text
    else:
        assert_refused(response, 403)
        assert actor in response.json()["detail"]  # the scope refusal names whose it is
    assert call.after is not None
    call.after(status == 201)


def test_a_writer_token_may_name_an_agency_registered_after_it(stage: Stage) -> None:
    agency_id = stage.fresh("NEW")
    secret = stage.node.tokens.store.create("writer", agency_id=agency_id)[1]
    handle = stage.world.agency(agency_id)  # registered after the token was made
    body = {"unit_id": "phong-mot", "name": "Phòng một", "parent_unit": "lanh-dao"}
    env = stage.world.envelope("unit.registered", f"agency:{agency_id}", handle.registrar, body)
    call = Call("POST", "/v1/events", jcs(env), "application/json")
    response = send(stage, call, f"Bearer {secret}")
    assert response.status_code == 201, response.text


# --- scope comes after idempotency and before the statement's own checks (§4 steps 4-7) ---


def _registrar_statement(stage: Stage, flaw: str) -> dict[str, Any]:
    """A unit registration by H10's registrar, with ``flaw``."""
    world = stage.world
    body = {"unit_id": stage.fresh("phong-"), "name": "Phòng", "parent_unit": "lanh-dao"}
    registrar = stage.h10.registrar
    if flaw == "unknown key":
        return world.envelope(
            "unit.registered", "agency:H10", registrar, body, key=SigningKey.generate()
        )
    if flaw == "stale head":
        return world.envelope("unit.registered", "agency:H10", registrar, body, seq=0, prev=None)
    env = world.envelope("unit.registered", "agency:H10", registrar, body)
    other = world.envelope("unit.registered", "agency:H10", registrar, {**body, "name": "Khác"})
    return {**env, "signature": other["signature"]}  # bad signature: another statement's


@pytest.mark.parametrize(
    ("flaw", "status", "slug"),
    [
        ("unknown key", 422, "unknown-key"),
        ("bad signature", 422, "bad-signature"),
        ("stale head", 409, "stale-head"),
    ],
)
def test_a_wrong_agency_token_is_forbidden_before_the_statement_itself_is_judged(
    stage: Stage, flaw: str, status: int, slug: str
) -> None:
    env = _registrar_statement(stage, flaw)
    call = Call(
        "POST", "/v1/events", jcs(env), "application/json", _stored_iff(stage, "agency:H10")
    )
    wrong = send(stage, call, f"Bearer {stage.live['writer H20']}")
    assert_refused(wrong, 403)
    right = send(stage, call, f"Bearer {stage.live['writer H10']}")
    assert right.status_code == status, right.text
    assert problem_slug(right) == slug
    assert call.after is not None
    call.after(False)


def test_an_exact_replay_answers_its_receipt_whatever_the_writer_tokens_agency(
    stage: Stage,
) -> None:
    # DESIGN §4: idempotency (step 4) comes before the token's scope (step 5)
    subject, env = _matter_opened(stage)
    call = Call("POST", "/v1/events", jcs(env), "application/json")
    first = send(stage, call, f"Bearer {stage.live['writer H10']}")
    assert first.status_code == 201, first.text
    size = stage.node.ledger.size()
    for token in ("writer H20", "root-writer"):
        again = send(stage, call, f"Bearer {stage.live[token]}")
        assert again.status_code == 200, again.text
        assert again.content == first.content
    # but a role that may not append is refused at step 1, replay or not
    assert_refused(send(stage, call, f"Bearer {stage.live['inspector']}"), 403)
    # the same event_id with other bytes is a duplicate, also before scope
    changed = {**env, "statement": {**env["statement"], "occurred_at": stage.world.at()}}
    duplicate = send(
        stage,
        Call("POST", "/v1/events", jcs(changed), "application/json"),
        f"Bearer {stage.live['writer H20']}",
    )
    assert duplicate.status_code == 409, duplicate.text
    assert problem_slug(duplicate) == "duplicate-event"
    assert stage.node.ledger.size() == size
    assert stage.node.ledger.head(subject) is not None


# --- the token is checked first (DESIGN §4: step 1 before 2 and 3) ---------------------

BODIES = {
    # kind: (content, content type, status for a fitting writer)
    "oversized": (b"[" + b" " * (64 * 1024) + b"]", "application/json", 413),
    "malformed JSON": (b'{"statement": {', "application/json", 400),
    "not JSON": (b"statement=1", "application/x-www-form-urlencoded", 415),
}


@pytest.mark.parametrize("path", ["/v1/events", "/v1/events:batch"])
@pytest.mark.parametrize("kind", list(BODIES))
@pytest.mark.parametrize("caller", ["none", "unknown", "insp", "w:H10"])
def test_the_token_is_checked_before_the_body_is_read(
    stage: Stage, path: str, kind: str, caller: str
) -> None:
    content, content_type, writer_status = BODIES[kind]
    if kind == "oversized" and path.endswith(":batch"):
        content = b"[" + b" " * stage.node.settings.max_batch_bytes + b"]"
    size = stage.node.ledger.size()
    response = send(
        stage, Call("POST", path, content, content_type), authorization(stage, path, caller)
    )
    if caller in ("none", "unknown"):
        assert_refused(response, 401)
    elif caller == "insp":
        assert_refused(response, 403)
    else:  # the fitting writer reaches the body checks
        assert response.status_code == writer_status, response.text
        assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert stage.node.ledger.size() == size


# --- the Authorization header ----------------------------------------------------------


@pytest.mark.parametrize(
    "form",
    ["Bearer", "Bearer ", "Basic {b64}", "Token {secret}", "{secret}", "Bearer{secret}"],
)
def test_an_authorization_header_that_is_not_bearer_token_is_unauthenticated(
    stage: Stage, form: str
) -> None:
    secret = stage.live["inspector"]
    b64 = base64.b64encode(f"inspector:{secret}".encode()).decode()
    header = form.format(secret=secret, b64=b64)
    response = send(stage, Call("GET", "/v1/log/entries?start=0&end=1"), header)
    assert_refused(response, 401)
    assert secret not in response.text


def test_the_bearer_scheme_name_is_case_insensitive(stage: Stage) -> None:
    header = f"bearer {stage.live['inspector']}"
    response = send(stage, Call("GET", "/v1/log/entries?start=0&end=1"), header)
    assert response.status_code == 200, response.text


# --- /v1/tokens for admins ---------------------------------------------------------------


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _forms_of(secret: str) -> list[str]:
    """The token and every common rendering of its hash."""
    digest = hashlib.sha256(secret.encode()).digest()
    return [
        secret,
        secret.removeprefix("alt_"),
        digest.hex(),
        base64.b64encode(digest).decode(),
        base64.urlsafe_b64encode(digest).decode().rstrip("="),
    ]


def test_an_admin_creates_lists_and_revokes_tokens_and_a_revoked_token_is_refused_at_once(
    stage: Stage,
) -> None:
    admin = _bearer(stage.live["admin"])
    http = stage.http
    created = http.post(
        "/v1/tokens", json={"role": "inspector", "label": "thanh tra tỉnh"}, headers=admin
    )
    assert created.status_code == 201, created.text
    record = created.json()
    secret = record.pop("token")
    assert secret.startswith("alt_")
    assert record["role"] == "inspector"
    assert record["agency_id"] is None
    assert record["revoked_at"] is None
    token_id = record["token_id"]
    # the new token works at once
    entries = http.get("/v1/log/entries?start=0&end=1", headers=_bearer(secret))
    assert entries.status_code == 200, entries.text

    # the list shows the record, never the token or its hash
    listed = http.get("/v1/tokens", headers=admin)
    assert listed.status_code == 200, listed.text
    (mine,) = [t for t in listed.json() if t["token_id"] == token_id]
    assert mine == record
    for item in listed.json():
        assert "token" not in item
        assert "token_hash" not in item
    for form in _forms_of(secret):
        assert form not in listed.text

    revoked = http.delete(f"/v1/tokens/{token_id}", headers=admin)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["token_id"] == token_id
    assert revoked.json()["revoked_at"] is not None
    for form in _forms_of(secret):
        assert form not in revoked.text
    refused = http.get("/v1/log/entries?start=0&end=1", headers=_bearer(secret))
    assert_refused(refused, 401)
    (after,) = [
        t for t in http.get("/v1/tokens", headers=admin).json() if t["token_id"] == token_id
    ]
    assert after["revoked_at"] == revoked.json()["revoked_at"]


def test_an_admin_creates_a_writer_token_for_an_agency_and_it_appends_there(
    stage: Stage,
) -> None:
    created = stage.http.post(
        "/v1/tokens",
        json={"role": "writer", "agency_id": "H10", "label": "một cửa H10"},
        headers=_bearer(stage.live["admin"]),
    )
    assert created.status_code == 201, created.text
    assert created.json()["agency_id"] == "H10"
    _, env = _matter_opened(stage)
    call = Call("POST", "/v1/events", jcs(env), "application/json")
    response = send(stage, call, f"Bearer {created.json()['token']}")
    assert response.status_code == 201, response.text


def test_a_writer_token_without_an_agency_is_refused(stage: Stage) -> None:
    before = len(stage.node.tokens.store.list())
    response = stage.http.post(
        "/v1/tokens", json={"role": "writer"}, headers=_bearer(stage.live["admin"])
    )
    assert response.status_code == 422, response.text
    assert problem_slug(response) == "invalid-statement"
    assert "agency" in response.json()["detail"]
    assert len(stage.node.tokens.store.list()) == before


def test_revoking_a_token_that_does_not_exist_is_not_found(stage: Stage) -> None:
    response = stage.http.delete("/v1/tokens/000000000000", headers=_bearer(stage.live["admin"]))
    assert response.status_code == 404, response.text
    assert problem_slug(response) == "not-found"


@pytest.mark.parametrize("caller", ["writer H10", "root-writer", "inspector"])
def test_only_an_admin_manages_tokens(stage: Stage, caller: str) -> None:
    victim, _ = stage.node.tokens.store.create("inspector", label="victim")
    before = len(stage.node.tokens.store.list())
    headers = _bearer(stage.live[caller])
    for response in (
        stage.http.post("/v1/tokens", json={"role": "admin"}, headers=headers),
        stage.http.get("/v1/tokens", headers=headers),
        stage.http.delete(f"/v1/tokens/{victim.token_id}", headers=headers),
    ):
        assert_refused(response, 403)
    assert len(stage.node.tokens.store.list()) == before
    (still,) = [t for t in stage.node.tokens.store.list() if t.token_id == victim.token_id]
    assert still.revoked_at is None
