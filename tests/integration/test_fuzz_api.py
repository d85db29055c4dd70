"""Property-based fuzzing of the HTTP API against its own OpenAPI document (schemathesis,
in-process over ASGI): no operation answers a 5xx, and every answer is one the document
declares — its status code, its content type, its headers and its body's schema.

Each operation gets a bounded, derandomised run (reproducible in CI) with a valid token
of the role it needs, so requests get past authentication to the code behind it; the
ledger holds a few real entries, so reads and proofs answer with data, not only 404s.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode, Response
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from api.schemas import ProblemOut
from ledger.application import Ledger
from ledger.canonical import jcs
from ledger.client import envelope, envelope_hash, make_statement
from ledger.crypto import SigningKey
from ledger.datadir import initialise, open_ledger
from ledger.errors import PROBLEM_TYPE_PREFIX
from ledger.settings import Settings
from ledger.tokens import TokenStore
from tests.world import ORIGIN, REGISTRY_EPOCH, ROOT_ID

MAX_EXAMPLES = 25  # per operation and generation mode

# Operations whose requests have nothing a client could get wrong (no parameter or body
# with a constraint): no schema-invalid request exists, so their NEGATIVE run is
# unsatisfiable. The test requires exactly these to be so — nothing is skipped, and an
# operation that gains a constraint (or loses its last one) must be moved in or out here.
NOTHING_TO_VIOLATE = {
    ("GET", "/v1/log/key"),
    ("GET", "/v1/log/checkpoint"),
    ("GET", "/v1/log/checkpoint/cosigned"),
    ("GET", "/v1/events/{event_id}"),
    ("GET", "/v1/tokens"),
    ("DELETE", "/v1/tokens/{token_id}"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
}


def problem_details_conformance(ctx: object, response: Response, case: Case) -> None:
    """Every problem answer is RFC 9457 as DESIGN §8 words it: ``ProblemOut``'s members, the
    type under the ledger's prefix, ``status`` the HTTP status (the document declares
    ``application/problem+json`` without a schema, so schemathesis cannot check this)."""
    if response.headers.get("content-type", [""])[0].split(";")[0] != "application/problem+json":
        return
    body = response.json()
    problem = ProblemOut.model_validate(body)
    assert problem.type.startswith(PROBLEM_TYPE_PREFIX), body
    assert problem.status == response.status_code, body


# What the document promises: no 5xx, only declared statuses, content types, headers and
# bodies, no schema-invalid request accepted; and every problem a well-formed one.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    problem_details_conformance,
]


@dataclass(frozen=True)
class FuzzTokens:
    root_writer: str
    inspector: str
    admin: str

    def for_path(self, method: str, path: str) -> dict[str, str]:
        """The role the route needs (public routes ignore the header)."""
        if method == "POST" and path.startswith("/v1/events"):
            token = self.root_writer
        elif path.startswith("/v1/tokens"):
            token = self.admin
        else:
            token = self.inspector
        return {"Authorization": f"Bearer {token}"}


@dataclass(frozen=True)
class FuzzedNode:
    schema: schemathesis.BaseSchema
    tokens: FuzzTokens


def seed(ledger: Ledger, root: SigningKey) -> None:
    """A few real entries: an agency and a two-statement calendar chain."""
    agency = make_statement(
        "agency.registered",
        "agency:000.00.15.H10",
        seq=0,
        prev=None,
        actor=ROOT_ID,
        key_id=root.key_id,
        body={"name": "Sở Tư pháp", "level": "province"},
    )
    ledger.append(jcs(envelope(agency, root)))
    prev = None
    for seq, day in enumerate(("2026-04-30", "2026-05-02")):
        statement = make_statement(
            "calendar.adjusted",
            "calendar:VN",
            seq=seq,
            prev=prev,
            actor=ROOT_ID,
            key_id=root.key_id,
            body={"date": day, "kind": "day_off", "source_document": "Thông báo 6150/TB-LĐTBXH"},
        )
        env = envelope(statement, root)
        ledger.append(jcs(env))
        prev = envelope_hash(env)


@pytest.fixture
def fuzzed_node(tmp_path: Path) -> Iterator[FuzzedNode]:
    """The API around an initialised SQLite ledger, built as ``running_node`` builds it."""
    node_settings = Settings.load(tmp_path / "data", database_url=f"sqlite:///{tmp_path}/l.db")
    initialise(
        node_settings,
        origin=ORIGIN,
        root_id=ROOT_ID,
        root_name="Sở Nội vụ",
        root_valid_from=REGISTRY_EPOCH,
    )
    ledger, _ = open_ledger(node_settings)
    try:
        seed(ledger, SigningKey.load(node_settings.root_key_path))
        store = TokenStore(ledger.recorder)
        tokens = FuzzTokens(
            root_writer=store.create("root-writer", label="fuzz")[1],
            inspector=store.create("inspector", label="fuzz")[1],
            admin=store.create("admin", label="fuzz")[1],
        )
        app = create_app(node_settings, ledger_=ledger, integrate=True)
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        # The harness sends each operation's token itself: with the bearer scheme declared,
        # schemathesis would otherwise send requests "missing" it as negative cases, which
        # the harness's header then makes valid.
        schema.config.generation.update(with_security_parameters=False)
        yield FuzzedNode(schema, tokens)
    finally:
        shutdown_lifespans()  # stop the integrator thread before the ledger closes
        ledger.close()


def declared_operations() -> list[tuple[str, str]]:
    """Every (method, path) the document declares: the app is built, no ledger opened."""
    document = create_app(Settings.load(Path("unopened-data-dir"))).openapi()
    return [(method.upper(), path) for path, ops in document["paths"].items() for method in ops]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize(("method", "path"), declared_operations())
def test_every_operation_answers_only_what_the_openapi_document_declares_and_never_a_5xx(
    fuzzed_node: FuzzedNode, method: str, path: str, mode: GenerationMode
) -> None:
    operation = fuzzed_node.schema.find_operation_by_path(method, path)
    assert operation is not None, f"{method} {path} is not in the served document"
    headers = fuzzed_node.tokens.for_path(method, path)
    checks = list(CHECKS)
    if (method, path) == ("POST", "/v1/events:batch"):
        # DESIGN §8: a batch always answers 200, an invalid item its own problem in the list.
        checks.remove(negative_data_rejection)
    statuses: list[int] = []

    # Schema-valid requests (POSITIVE) and schema-invalid ones (NEGATIVE), bounded and
    # derandomised; a failure names the broken promise and a request reproducing it.
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    def fuzz(case: Case) -> None:
        statuses.append(case.call_and_validate(headers=headers, checks=checks).status_code)

    if mode is GenerationMode.NEGATIVE and (method, path) in NOTHING_TO_VIOLATE:
        with pytest.raises(Unsatisfiable):
            fuzz()
        return
    fuzz()
    # The tokens work: requests reach the code behind authentication.
    assert set(statuses) - {401, 403}, f"{method} {path} answered only {set(statuses)}"


def test_the_document_declares_the_bearer_scheme_on_every_operation_behind_a_token() -> None:
    document = create_app(Settings.load(Path("unopened-data-dir"))).openapi()
    scheme = document["components"]["securitySchemes"]["bearerToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    secured = {
        (method.upper(), path)
        for path, ops in document["paths"].items()
        for method, op in ops.items()
        if op.get("security") == [{"bearerToken": []}]
    }
    assert ("GET", "/v1/matters/{matter_id}") in secured
    assert ("POST", "/v1/events") in secured
    assert ("GET", "/v1/tokens") in secured
    # Public: the log's proofs, checkpoints and key, health; a witness's cosignature is signed.
    for public in (("GET", "/v1/log/key"), ("GET", "/healthz"), ("POST", "/v1/log/cosignatures")):
        assert public not in secured
