"""Evidence bundles under attack (DESIGN §9, issue 7): every tamper is named by ``verify``.

Each test builds a realistic matter in a small province — an agency with its director and
a land office, a competence grant, a ký-thay delegation, a hand-over offered and accepted,
a consultation up to the director answered, a decision within the decider's own
competence and the closing — signs a checkpoint deterministically (``transparency.step()``;
the node does not integrate on its own here), exports the matter's bundle, then edits a
deep copy of it the way a forger would and requires ``verify_bundle`` to fail *and* to say
precisely which entry, subject or rendered value is wrong.
"""

from __future__ import annotations

import base64
import copy
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from evidence.bundle import CLAIMS_MATTER, CLAIMS_OFFICIAL, export
from evidence.derive import admit_all, entry_record, rendering, where
from evidence.render import render_html
from evidence.verify import ESTABLISHED, KNOWN_FIELDS, Report, verify_bundle
from ledger.crypto import SigningKey
from ledger.errors import NotFound
from ledger.note import Checkpoint, cosign, format_vkey, parse_note
from ledger.settings import Settings
from ledger.storage import LogRecord
from ledger.times import parse_instant
from ledger.transparency import TransparencyLog
from ledger.witness import witness_vkey
from projections.reads import ReadModels
from tests.conftest import drop_schema, running_node
from tests.world import ICT, Actor, AgencyHandle, Node, World

MATTER = "H10.15-260302-0001"
SUBJECT = f"matter:{MATTER}"


@pytest.fixture
def node(database_url: str, tmp_path: Path) -> Iterator[Node]:
    """The shared ``node``, but integrating only when a test calls ``step()``: which
    checkpoints exist is then exactly what the test made."""
    settings = Settings.load(tmp_path / "data", database_url=database_url, integrate=False)
    with running_node(settings, integrate=False) as running:
        yield running


# --- the matter ------------------------------------------------------------------------


@dataclass
class Case:
    world: World
    log: TransparencyLog
    vkey: str
    bundle: dict[str, Any]
    receipts: dict[str, dict[str, Any]]  # matter steps by name
    people: dict[str, Actor]
    agency: AgencyHandle

    def copy(self) -> dict[str, Any]:
        return copy.deepcopy(self.bundle)


def transparency(world: World) -> TransparencyLog:
    log = world.ledger.transparency
    assert log is not None
    return log


def build_matter(
    world: World,
) -> tuple[dict[str, dict[str, Any]], dict[str, Actor], AgencyHandle]:
    """The province and one land-use certificate matter, from opening to closing."""
    so = world.agency("so-tnmt", name="Sở Tài nguyên và Môi trường")
    phong = world.unit(so, "phong-dat", name="Phòng Đất đai")
    people = {
        "giam_doc": world.official(
            "tran.quoc.cuong", so, head=True, position="Giám đốc", name="Trần Quốc Cường"
        ),
        "truong_phong": world.official("pham.minh.duc", so, phong, head=True, name="Phạm Minh Đức"),
        "an": world.official("nguyen.van.an", so, phong, name="Nguyễn Văn An"),
        "binh": world.official("le.thi.binh", so, phong, name="Lê Thị Bình"),
    }
    world.grant(people["binh"], so)
    world.grant(people["giam_doc"], so)
    world.delegate(people["giam_doc"], people["truong_phong"], "ky_thay")
    an, binh, giam_doc = people["an"], people["binh"], people["giam_doc"]
    r: dict[str, dict[str, Any]] = {}
    world.open_matter(MATTER, an, so)
    r["offered"] = world.ok(
        "handoff.offered", SUBJECT, an, {"to": binh.id, "reason": "dung chuyen mon dat dai"}
    )
    r["accepted"] = world.ok(
        "handoff.accepted", SUBJECT, binh, {"in_reply_to": r["offered"]["event_id"]}
    )
    r["consulted"] = world.ok(
        "consultation.requested",
        SUBJECT,
        binh,
        {
            "to": giam_doc.id,
            "question": "Thửa đất có tranh chấp, có cấp giấy không?",
            "proposed_position": "Đề nghị cấp giấy",
        },
    )
    r["answered"] = world.ok(
        "consultation.answered",
        SUBJECT,
        giam_doc,
        {"in_reply_to": r["consulted"]["event_id"], "position": "agree", "text": "Đồng ý"},
    )
    r["decided"] = world.ok(
        "decision.recorded",
        SUBJECT,
        binh,
        {
            "outcome": "approved",
            "summary": "Cấp giấy chứng nhận quyền sử dụng đất",
            "legal_basis": "Luật Đất đai 2024, Điều 136",
            "capacity": "own",
        },
    )
    r["closed"] = world.ok("matter.closed", SUBJECT, binh, {"result": "completed"})
    return r, people, so


def make_case(world: World) -> Case:
    receipts, people, agency = build_matter(world)
    log = transparency(world)
    assert log.step() is not None
    bundle = export(world.ledger, matter_id=MATTER)
    return Case(world, log, log.vkey, bundle, receipts, people, agency)


@pytest.fixture
def case(world: World) -> Case:
    """A fresh ledger with the matter, for tests that add to it."""
    return make_case(world)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def shared(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Case]:
    """One ledger with the matter per database, for the tests that only read its bundle
    (each edits a deep copy): building it once keeps this file fast."""
    tmp = tmp_path_factory.mktemp("bundle")
    base: str | None = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'ledger.db'}"
    else:
        base = str(request.getfixturevalue("postgres_base_url"))
        schema = "t_" + uuid.uuid4().hex[:16]
        url = f"{base}?schema={schema}"
    try:
        settings = Settings.load(tmp / "data", database_url=url, integrate=False)
        with running_node(settings, integrate=False) as running:
            yield make_case(World(running))
    finally:
        if base is not None:
            drop_schema(base, schema)


# --- reading and editing a bundle -------------------------------------------------------


def record_at(bundle: dict[str, Any], position: int) -> LogRecord:
    item = bundle["entries"][position]
    return entry_record(item["index"], base64.b64decode(item["entry"]))


def position_of(bundle: dict[str, Any], subject: str, seq: int) -> int:
    for n in range(len(bundle["entries"])):
        record = record_at(bundle, n)
        if record.subject == subject and record.seq == seq:
            return n
    raise AssertionError(f"{subject} seq {seq} is not in the bundle")


def position_of_index(bundle: dict[str, Any], index: int) -> int:
    return next(n for n, item in enumerate(bundle["entries"]) if item["index"] == index)


def statement_of(record: LogRecord) -> dict[str, Any]:
    statement: dict[str, Any] = json.loads(record.entry)["statement"]
    return statement


def set_entry_bytes(bundle: dict[str, Any], position: int, data: bytes) -> None:
    bundle["entries"][position]["entry"] = base64.b64encode(data).decode()


def failed(report: Report) -> list[str]:
    return [str(f) for f in report.failures]


def has(report: Report, check: str, where_: str, detail: str = "") -> bool:
    return any(
        f.check == check and f.where == where_ and detail in f.detail for f in report.failures
    )


def rerender(bundle: dict[str, Any]) -> None:
    """What a forger with the project installed can do: render the edited entries again."""
    derived = admit_all(
        (item["index"], base64.b64decode(item["entry"])) for item in bundle["entries"]
    )
    scope = bundle["scope"]
    ids = [scope["matter_id"]] if "matter_id" in scope else scope["matters"]
    at = parse_instant(bundle["rendering"]["evaluated_at"])
    bundle["rendering"] = json.loads(json.dumps(rendering(derived, ids, at, scope)))


# --- the untampered bundle --------------------------------------------------------------


def test_an_untampered_bundle_verifies_with_the_logs_vkey_and_checks_everything(
    shared: Case,
) -> None:
    bundle = shared.bundle
    report = verify_bundle(bundle, shared.vkey)
    assert report.ok, failed(report)
    assert report.warnings == []
    count = len(bundle["entries"])
    assert bundle["tree_size"] == shared.world.ledger.size() == count  # one matter, all registry
    assert report.checked["checkpoint"] == 1
    assert report.checked["inclusion proofs"] == count
    assert report.checked["signatures, keys and rules"] == count
    subjects = {record_at(bundle, n).subject for n in range(count)}
    assert report.checked["head attestations"] == len(subjects) == len(bundle["head_attestations"])
    assert bundle["claims"] == CLAIMS_MATTER
    m = bundle["rendering"]["matters"][MATTER]
    slip = m["slip"]
    binh, an, giam_doc = (
        shared.people["binh"].id,
        shared.people["an"].id,
        shared.people["giam_doc"].id,
    )
    assert [d["competence"] for d in slip["decisions"]] == ["own"]
    assert slip["decisions"][0]["decider"]["id"] == binh
    handovers = [
        (row["giver"]["id"], row["receiver"]["id"])
        for row in slip["steps"]
        if row["kind"] == "handoff" and row["state"] == "accepted"
    ]
    assert handovers == [(an, binh)]
    assert [i["official_id"] for i in m["custody"]] == [an, binh]
    # Competence is found for decisions only (version 2): no holder of the file is judged.
    assert all("competence" not in i for i in m["custody"])
    assert all("competence" not in row for row in slip["steps"])
    (consultation,) = [row for row in slip["steps"] if row["kind"] == "consultation"]
    assert (
        consultation["receiver"]["id"],
        consultation["details"]["direction"],
        consultation["details"]["position"],
    ) == (giam_doc, "up", "agree")
    assert m["matter"]["status"] == "closed"


# --- (a) removing entries ---------------------------------------------------------------


def test_removing_a_matter_entry_from_the_middle_names_the_entry_after_the_gap(
    shared: Case,
) -> None:
    tampered = shared.copy()
    gone = position_of(tampered, SUBJECT, 2)  # the accepted hand-over
    del tampered["entries"][gone]
    after = record_at(shared.bundle, position_of(shared.bundle, SUBJECT, 3))

    report = verify_bundle(tampered, shared.vkey)

    assert not report.ok
    assert has(report, "chain", where(after), "stale-head"), failed(report)
    assert where(after).startswith(f"index {after.index} ({SUBJECT} seq 3, event ")
    assert has(report, "chain", SUBJECT, "statements are missing"), failed(report)
    # The gap is named, not blamed on the proofs of the entries that remain.
    assert not [f for f in report.failures if f.check in ("inclusion", "checkpoint")]


def test_removing_the_last_matter_entry_is_caught_by_the_head_attestation(shared: Case) -> None:
    tampered = shared.copy()
    last = position_of(tampered, SUBJECT, 6)  # the closing
    assert statement_of(record_at(tampered, last))["type"] == "matter.closed"
    del tampered["entries"][last]

    report = verify_bundle(tampered, shared.vkey)

    assert not report.ok
    chain = [f for f in report.failures if f.check == "chain"]
    assert len(chain) == 1, failed(report)
    assert chain[0].where == SUBJECT
    assert "the log attests seq 6" in chain[0].detail
    assert "the bundle's chain ends at seq 5" in chain[0].detail
    assert chain[0].detail.endswith("statements are missing")


# --- (b) altering a byte ----------------------------------------------------------------


def test_altering_one_byte_of_a_statement_fails_its_inclusion_proof_and_its_signature(
    shared: Case,
) -> None:
    tampered = shared.copy()
    n = position_of(tampered, SUBJECT, 1)  # the offer
    record = record_at(tampered, n)
    data = record.entry
    altered = data.replace(b"dung chuyen mon", b"dung chuyen moN")
    assert len(altered) == len(data)
    assert sum(a != b for a, b in zip(altered, data, strict=True)) == 1
    set_entry_bytes(tampered, n, altered)

    report = verify_bundle(tampered, shared.vkey)

    assert not report.ok
    label = where(record)
    assert has(report, "inclusion", label, "are not in the tree of size"), failed(report)
    assert has(report, "signature", label, "bad-signature"), failed(report)


def test_altering_one_byte_of_recorded_at_fails_the_inclusion_proof_of_that_entry(
    shared: Case,
) -> None:
    tampered = shared.copy()
    n = position_of(tampered, SUBJECT, 5)  # the decision
    record = record_at(tampered, n)
    stamp = json.loads(record.entry)["recorded_at"].encode()
    earlier = stamp[:-2] + (b"0" if stamp[-2:-1] != b"0" else b"1") + b"Z"
    set_entry_bytes(tampered, n, record.entry.replace(stamp, earlier))

    report = verify_bundle(tampered, shared.vkey)

    assert not report.ok
    assert has(report, "inclusion", where(record)), failed(report)
    assert not [f for f in report.failures if f.check == "signature"]  # the statement is intact


def test_any_single_byte_changed_in_an_entry_is_named_by_that_entrys_index(shared: Case) -> None:
    n = position_of(shared.bundle, SUBJECT, 4)  # the consultation answer
    item = shared.bundle["entries"][n]
    data = base64.b64decode(item["entry"])
    for position in range(0, len(data), max(1, len(data) // 20)):
        for byte in (ord("x"), ord("{"), 0x80):
            if data[position] == byte:
                continue
            tampered = shared.copy()
            set_entry_bytes(tampered, n, data[:position] + bytes([byte]) + data[position + 1 :])
            report = verify_bundle(tampered, shared.vkey)
            named = [
                f
                for f in report.failures
                if f.check == "inclusion" and f.where.startswith(f"index {item['index']}")
            ]
            assert named, (position, byte, failed(report))


# --- (c) dropping registry entries ------------------------------------------------------


def test_dropping_the_deciders_competence_grant_is_named_and_the_finding_changes(
    shared: Case,
) -> None:
    binh = shared.people["binh"].id
    tampered = shared.copy()
    grant = position_of(tampered, f"official:{binh}", 2)
    assert statement_of(record_at(tampered, grant))["type"] == "competence.granted"
    del tampered["entries"][grant]

    report = verify_bundle(tampered, shared.vkey)

    assert not report.ok
    assert has(report, "chain", f"official:{binh}", "statements are missing"), failed(report)
    # The entries now find the decision outside competence, and verify says the bundle's
    # "own" is not what they give.
    decision = f"rendering.matters.{MATTER}.slip.decisions[0].competence"
    assert has(report, "rendering", decision, 'the bundle says "own" but its entries give "none"')
    assert has(report, "rendering", f"rendering.matters.{MATTER}.matter.decision.competence")


def test_dropping_the_deciders_key_binding_fails_every_statement_they_signed(
    shared: Case,
) -> None:
    binh = shared.people["binh"].id
    tampered = shared.copy()
    del tampered["entries"][position_of(tampered, f"official:{binh}", 1)]

    report = verify_bundle(tampered, shared.vkey)

    assert not report.ok
    assert has(report, "chain", f"official:{binh}", "statements are missing"), failed(report)
    signed_by_binh = [
        record_at(shared.bundle, n)
        for n in range(len(shared.bundle["entries"]))
        if record_at(shared.bundle, n).subject == SUBJECT
        and statement_of(record_at(shared.bundle, n))["actor"] == binh
    ]
    assert len(signed_by_binh) == 4  # accepted, consulted, decided, closed
    for record in signed_by_binh:
        assert has(report, "key", where(record), "unknown-key"), failed(report)


# --- (d) the checkpoint and the log key -------------------------------------------------


def forged_checkpoint(bundle: dict[str, Any], key: SigningKey) -> str:
    """The same origin, size and root, signed by ``key``."""
    origin, size, root, _ = parse_note(bundle["checkpoint"]).text.split("\n")
    assert origin == bundle["log"]["origin"]
    return Checkpoint(origin, int(size), base64.b64decode(root)).sign(key)


def test_a_checkpoint_signed_by_another_key_is_refused(shared: Case) -> None:
    tampered = shared.copy()
    tampered["checkpoint"] = forged_checkpoint(tampered, SigningKey.generate())

    report = verify_bundle(tampered, shared.vkey)

    assert not report.ok
    assert has(report, "checkpoint", "checkpoint", "not signed by the trusted log key")
    assert "inclusion proofs" not in report.checked  # nothing is proved against a forgery


def test_a_bundle_carrying_an_attackers_vkey_passes_the_checkpoint_only_without_vkey(
    shared: Case,
) -> None:
    attacker = SigningKey.generate()
    attacker_vkey = format_vkey(shared.bundle["log"]["origin"], attacker.public_bytes)
    tampered = shared.copy()
    tampered["checkpoint"] = forged_checkpoint(tampered, attacker)
    tampered["log"]["vkey"] = attacker_vkey

    trusting = verify_bundle(tampered, None)
    assert len(trusting.warnings) == 1
    assert trusting.warnings[0].startswith("NO --vkey GIVEN: trusting the log key written inside")
    assert not [f for f in trusting.failures if f.check == "checkpoint"], failed(trusting)
    assert trusting.checked["inclusion proofs"] == len(tampered["entries"])
    # ... but the genesis at index 0 names the real log key, not the one inside.
    assert not trusting.ok
    assert has(
        trusting,
        "genesis",
        "index 0",
        f"the genesis names log key {shared.vkey}, not the trusted {attacker_vkey}",
    ), failed(trusting)

    given = verify_bundle(tampered, shared.vkey)
    assert not given.ok
    assert given.warnings == []
    assert has(given, "checkpoint", "checkpoint", "not signed by the trusted log key")


def test_an_untampered_bundle_without_vkey_verifies_but_warns_loudly(shared: Case) -> None:
    report = verify_bundle(shared.bundle, None)
    assert report.ok, failed(report)
    assert len(report.warnings) == 1
    assert "NO --vkey GIVEN" in report.warnings[0]
    assert "verify again with --vkey" in report.warnings[0]


def test_verifying_with_a_wrong_vkey_fails_at_the_checkpoint_and_the_genesis(shared: Case) -> None:
    wrong = format_vkey(shared.bundle["log"]["origin"], SigningKey.generate().public_bytes)

    report = verify_bundle(shared.bundle, wrong)

    assert not report.ok
    assert has(report, "checkpoint", "checkpoint", f"not signed by the trusted log key {wrong}")
    assert has(report, "genesis", "index 0", f"not the trusted {wrong}"), failed(report)
    first = shared.bundle["head_attestations"][0]["subject"]
    assert has(report, "attestation", f"head_attestations[0] ({first})", "not a head attestation")


def test_a_vkey_of_another_origin_is_refused_too(shared: Case) -> None:
    other = format_vkey("elsewhere.example/log", SigningKey.generate().public_bytes)
    report = verify_bundle(shared.bundle, other)
    assert not report.ok
    assert has(report, "checkpoint", "checkpoint")
    assert has(report, "genesis", "index 0")


# --- (e) the rendering ------------------------------------------------------------------


def test_changing_a_competence_finding_in_the_rendering_is_named_by_its_path(
    shared: Case,
) -> None:
    tampered = shared.copy()
    decision = tampered["rendering"]["matters"][MATTER]["slip"]["decisions"][0]
    assert decision["competence"] == "own"
    decision["competence"] = "none"

    report = verify_bundle(tampered, shared.vkey)

    assert not report.ok
    assert [(f.check, f.where, f.detail) for f in report.failures] == [
        (
            "rendering",
            f"rendering.matters.{MATTER}.slip.decisions[0].competence",
            'the bundle says "none" but its entries give "own"',
        )
    ]


def test_changing_a_custody_holder_in_the_rendering_is_named_by_its_path(shared: Case) -> None:
    tampered = shared.copy()
    interval = tampered["rendering"]["matters"][MATTER]["custody"][1]
    assert interval["official_id"] == shared.people["binh"].id
    interval["official_id"] = shared.people["giam_doc"].id

    report = verify_bundle(tampered, shared.vkey)

    assert not report.ok
    assert len(report.failures) == 1, failed(report)
    (failure,) = report.failures
    assert failure.check == "rendering"
    assert failure.where == f"rendering.matters.{MATTER}.custody[1].official_id"
    assert shared.people["binh"].id in failure.detail


@pytest.mark.parametrize(
    ("path", "forged"),
    [
        (("steps", 0, "step", "result"), "late"),
        (("steps", 1, "giver", "name"), "Trần Quốc Cường"),
        (("decisions", 0, "authority", 0, "legal_basis"), "Quyết định 99/QĐ-UBND"),
        (("header", "timeliness"), "late"),
    ],
    ids=["a step's result", "a name beside an id", "an authority", "the matter's timeliness"],
)
def test_changing_the_form_06_slip_is_named_by_its_path(
    shared: Case, path: tuple[str | int, ...], forged: str
) -> None:
    tampered = shared.copy()
    target: Any = tampered["rendering"]["matters"][MATTER]["slip"]
    for key in path[:-1]:
        target = target[key]
    assert target[path[-1]] != forged
    target[path[-1]] = forged

    report = verify_bundle(tampered, shared.vkey)

    where_ = f"rendering.matters.{MATTER}.slip" + "".join(
        f"[{key}]" if isinstance(key, int) else f".{key}" for key in path
    )
    assert [(f.check, f.where) for f in report.failures] == [("rendering", where_)]
    assert json.dumps(forged, ensure_ascii=False) in report.failures[0].detail


def test_dropping_a_matter_from_the_rendering_is_named(shared: Case) -> None:
    tampered = shared.copy()
    tampered["rendering"]["matters"] = {}
    report = verify_bundle(tampered, shared.vkey)
    assert not report.ok
    assert has(report, "rendering", "rendering.matters", "is not the scope's")


@pytest.mark.parametrize(
    "edit",
    [
        {"future_skew_seconds": 86400},
        {"recorded_late_seconds": 100000},
        None,
    ],
    ids=["a wider future skew", "a later recorded-late bound", "the field removed"],
)
def test_editing_the_bundles_time_rules_fails_since_only_the_genesis_states_them(
    shared: Case, edit: dict[str, int] | None
) -> None:
    tampered = shared.copy()
    if edit is None:
        del tampered["time_rules"]
    else:
        tampered["time_rules"].update(edit)

    report = verify_bundle(tampered, shared.vkey)

    assert not report.ok
    assert [(f.check, f.where) for f in report.failures] == [("time_rules", "time_rules")]
    assert "the windows are the genesis's alone" in report.failures[0].detail


# --- format -----------------------------------------------------------------------------


@pytest.mark.parametrize("version", [3, 0, "2", None, True, 2.0])
def test_a_bundle_of_a_version_this_verifier_does_not_read_is_refused(
    shared: Case, version: Any
) -> None:
    tampered = shared.copy()
    tampered["bundle_version"] = version
    report = verify_bundle(tampered, shared.vkey)
    assert not report.ok
    assert [(f.check, f.where) for f in report.failures] == [("format", "bundle_version")]
    assert "is not a bundle version this verifier reads" in report.failures[0].detail


def test_a_bundle_is_plain_json_and_survives_a_round_trip(shared: Case) -> None:
    again = json.loads(json.dumps(shared.bundle, ensure_ascii=False))
    report = verify_bundle(again, shared.vkey)
    assert report.ok, failed(report)
    assert again["bundle_version"] == 2


# --- (f) fields nobody signed (issue 13.6, DESIGN §9 v4) -----------------------------------


FALSE_CLAIM = (
    "Every official named in this bundle acted within their competence, and the log signed it."
)


def test_a_false_claim_above_a_true_rendering_is_refused(shared: Case) -> None:
    """The claims are the verifier's words, not the bundle's: a bundle that says it proves
    more than it does is refused, and its page shows the verifier's claims, never its own."""
    tampered = shared.copy()
    tampered["claims"]["en"][0] = FALSE_CLAIM

    report = verify_bundle(tampered, shared.vkey)

    assert [(f.check, f.where) for f in report.failures] == [("claims", "claims.en[0]")]
    assert FALSE_CLAIM in report.failures[0].detail
    page = render_html(tampered, report, "en")
    assert "VERIFICATION FAILED" in page
    claims = page[page.index("<h3>What this bundle proves") :]
    assert f"<li>{CLAIMS_MATTER['en'][0]}</li>" in claims
    assert FALSE_CLAIM not in claims.split("</ul>")[0]


@pytest.mark.parametrize(
    "claims",
    [CLAIMS_OFFICIAL, {"en": CLAIMS_MATTER["en"]}, None],
    ids=["another kind's claims", "one language dropped", "no claims"],
)
def test_claims_other_than_the_verifiers_own_for_the_kind_are_refused(
    shared: Case, claims: Any
) -> None:
    tampered = shared.copy()
    tampered["claims"] = claims
    report = verify_bundle(tampered, shared.vkey)
    assert not report.ok
    assert {f.check for f in report.failures} == {"claims"}, failed(report)


@pytest.mark.parametrize(
    ("field", "value", "where_"),
    [
        ("origin", "elsewhere.example/log", "log.origin"),
        (
            "vkey",
            format_vkey("elsewhere.example/log", SigningKey.from_seed(b"e" * 32).public_bytes),
            "log.vkey",
        ),
    ],
    ids=["origin", "vkey"],
)
def test_the_logs_name_and_key_are_the_trusted_vkeys_not_the_bundles_word(
    shared: Case, field: str, value: str, where_: str
) -> None:
    tampered = shared.copy()
    tampered["log"][field] = value
    report = verify_bundle(tampered, shared.vkey)
    assert [(f.check, f.where) for f in report.failures] == [("log", where_)]


@pytest.mark.parametrize(
    "exported_by",
    [
        "accountability-ledger 0.1.0 — verified by the provincial inspectorate",
        "accountability-ledger 0.1.0\nVERIFIED: every check passed",
        "ledger 0.1.0",
        None,
        2,
    ],
)
def test_exported_by_is_only_ever_a_plain_version_string(shared: Case, exported_by: Any) -> None:
    tampered = shared.copy()
    tampered["exported_by"] = exported_by
    report = verify_bundle(tampered, shared.vkey)
    assert [(f.check, f.where) for f in report.failures] == [("format", "exported_by")]


def test_another_plain_version_in_exported_by_passes_since_it_proves_nothing(
    shared: Case,
) -> None:
    tampered = shared.copy()
    tampered["exported_by"] = "accountability-ledger 1.4.2rc1"
    assert verify_bundle(tampered, shared.vkey).ok


@pytest.mark.parametrize(
    "path",
    [
        ("note",),
        ("log", "comment"),
        ("genesis", "note"),
        ("entries", 0, "note"),
        ("head_attestations", 0, "note"),
        ("claims", "fr"),
        ("scope", "note"),
        ("manifest", "note"),
        ("manifest", "subjects", SUBJECT, "note"),
        ("rendering", "note"),
        ("rendering", "matters", MATTER, "slip", "header", "note"),
        ("rendering", "matters", MATTER, "slip", "steps", 0, "step", "note"),
    ],
    ids=lambda path: ".".join(str(p) for p in path),
)
def test_an_unknown_field_at_any_level_is_refused_never_ignored(
    shared: Case, path: tuple[str | int, ...]
) -> None:
    tampered = shared.copy()
    target: Any = tampered
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = "Đã được Thanh tra tỉnh xác nhận"

    report = verify_bundle(tampered, shared.vkey)

    label = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
    assert ("format", f"unknown field {label}") in [(f.check, f.where) for f in report.failures], (
        failed(report)
    )
    assert "unknown field" in str(report.failures[0])


def test_the_known_fields_of_each_version_are_each_established_one_way() -> None:
    for version, known in KNOWN_FIELDS.items():
        assert known[""] == set(ESTABLISHED), version


def test_a_kind_that_is_not_the_signed_scopes_is_refused(shared: Case) -> None:
    tampered = shared.copy()
    tampered["kind"] = "official"
    report = verify_bundle(tampered, shared.vkey)
    assert [(f.check, f.where) for f in report.failures] == [("format", "kind")]


def test_a_rendering_judged_at_another_instant_than_the_bundle_states_is_refused(
    shared: Case,
) -> None:
    """A forger who renders the entries again at a chosen instant must also move
    ``exported_at`` (unsigned, but they must agree): the page states the instant it used."""
    tampered = shared.copy()
    later = parse_instant(tampered["rendering"]["evaluated_at"]) + timedelta(days=90)
    tampered["rendering"]["evaluated_at"] = later.isoformat()
    rerender(tampered)

    report = verify_bundle(tampered, shared.vkey)

    assert [(f.check, f.where) for f in report.failures] == [
        ("rendering", "rendering.evaluated_at")
    ]


@pytest.mark.parametrize("year", ["0001", "9999"])
def test_an_absurd_evaluation_instant_is_a_failure_not_a_crash(shared: Case, year: str) -> None:
    tampered = shared.copy()
    tampered["rendering"]["evaluated_at"] = f"{year}-01-01T00:00:00+07:00"
    tampered["exported_at"] = f"{year}-01-01T00:00:00+07:00"
    report = verify_bundle(tampered, shared.vkey)
    wheres = [(f.check, f.where) for f in report.failures]
    assert ("rendering", "rendering.evaluated_at") in wheres
    assert ("format", "exported_at") in wheres


def test_a_true_where_the_entries_give_a_number_is_a_difference(shared: Case) -> None:
    tampered = shared.copy()
    header = tampered["rendering"]["matters"][MATTER]["slip"]["header"]
    assert header["overdue_working_days"] == 0
    header["overdue_working_days"] = False
    report = verify_bundle(tampered, shared.vkey)
    assert [f.where for f in report.failures] == [
        f"rendering.matters.{MATTER}.slip.header.overdue_working_days"
    ]


def test_a_head_attestation_naming_another_origin_is_refused(shared: Case) -> None:
    tampered = shared.copy()
    attestation = tampered["head_attestations"][0]
    attestation["origin"] = "elsewhere.example/log"
    report = verify_bundle(tampered, shared.vkey)
    assert has(
        report,
        "attestation",
        f"head_attestations[0] ({attestation['subject']})",
        "not a head attestation signed by the trusted log key",
    ), failed(report)


# --- (g) witnesses' lines on the checkpoint --------------------------------------------------

WITNESS = "witness.example/w1"


def cosigned(bundle: dict[str, Any], key: SigningKey, name: str = WITNESS) -> str:
    """The bundle's checkpoint note with one more cosignature/v1 line, by ``key``."""
    note = parse_note(bundle["checkpoint"])
    line = cosign(note.text, name, key, 1_780_000_000).line
    text: str = bundle["checkpoint"] + line
    return text


def test_a_witness_given_with_its_vkey_is_checked_and_counted(shared: Case) -> None:
    key = SigningKey.from_seed(b"w" * 32)
    tampered = shared.copy()
    tampered["checkpoint"] = cosigned(tampered, key)

    report = verify_bundle(tampered, shared.vkey, [witness_vkey(WITNESS, key)])

    assert report.ok, failed(report)
    assert report.checked["witness cosignatures"] == 1


def test_a_signature_line_from_a_key_nobody_named_is_refused(shared: Case) -> None:
    """A forged "witness" line looks like independent confirmation: unless the council
    names the witness, the line is refused rather than shown."""
    tampered = shared.copy()
    tampered["checkpoint"] = cosigned(tampered, SigningKey.from_seed(b"f" * 32))

    report = verify_bundle(tampered, shared.vkey)

    assert [(f.check, f.where) for f in report.failures] == [("checkpoint", "checkpoint")]
    assert "neither the log's key nor a witness given with --witness" in (report.failures[0].detail)


def test_a_witness_line_that_does_not_verify_and_a_missing_one_are_named(shared: Case) -> None:
    real = SigningKey.from_seed(b"w" * 32)
    other = SigningKey.from_seed(b"x" * 32)
    tampered = shared.copy()
    note = tampered["checkpoint"]
    forged_line = cosigned(tampered, other)[len(note) :]
    # The witness's own key hash, over a signature made by another key.
    good_line = cosigned(tampered, real)[len(note) :]
    raw = base64.b64decode(forged_line.split(" ")[-1])
    own = base64.b64decode(good_line.split(" ")[-1])
    forged = f"— {WITNESS} " + base64.b64encode(own[:4] + raw[4:]).decode() + "\n"
    tampered["checkpoint"] = note + forged
    second = witness_vkey("witness.example/w2", other)

    report = verify_bundle(tampered, shared.vkey, [witness_vkey(WITNESS, real), second])

    assert [(f.check, f.where) for f in report.failures] == [
        ("witness", WITNESS),
        ("witness", "witness.example/w2"),
    ]
    assert "does not verify" in report.failures[0].detail
    assert "no cosignature" in report.failures[1].detail


def test_the_logs_own_line_twice_is_refused(shared: Case) -> None:
    tampered = shared.copy()
    note = parse_note(tampered["checkpoint"])
    tampered["checkpoint"] += note.signatures[0].line
    report = verify_bundle(tampered, shared.vkey)
    assert [(f.check, f.where) for f in report.failures] == [("checkpoint", "checkpoint")]
    assert "repeats a key" in report.failures[0].detail


# --- as of ------------------------------------------------------------------------------


def test_an_as_of_bundle_holds_what_was_recorded_by_then_up_to_the_first_covering_checkpoint(
    world: World,
) -> None:
    log = transparency(world)
    so = world.agency("so-xd", name="Sở Xây dựng")
    an = world.official("nguyen.van.an", so, name="Nguyễn Văn An")
    binh = world.official("le.thi.binh", so, name="Lê Thị Bình")
    world.grant(binh, so)
    world.open_matter("XD-1", an, so)
    offered = world.ok("handoff.offered", "matter:XD-1", an, {"to": binh.id, "reason": "x"})
    first = log.step()
    assert first is not None
    assert first.size == offered["index"] + 1
    accepted = world.ok(
        "handoff.accepted", "matter:XD-1", binh, {"in_reply_to": offered["event_id"]}
    )
    decided = world.ok(
        "decision.recorded",
        "matter:XD-1",
        binh,
        {"outcome": "approved", "summary": "Cấp phép", "legal_basis": "Luật XD", "capacity": "own"},
    )
    second = log.step()
    assert second is not None
    assert second.size == decided["index"] + 1

    # At the offer's recording instant: exactly what was recorded by then (a checkpoint
    # of that very size exists).
    at_offer = parse_instant(offered["recorded_at"])
    bundle = export(world.ledger, matter_id="XD-1", as_of=at_offer)
    assert bundle["tree_size"] == offered["index"] + 1
    assert [e["index"] for e in bundle["entries"]] == list(range(offered["index"] + 1))
    assert parse_instant(bundle["as_of"]) == at_offer
    assert parse_instant(bundle["rendering"]["evaluated_at"]) == at_offer
    m = bundle["rendering"]["matters"]["XD-1"]["matter"]
    assert (m["custodian"], m["pending_offer"], m["decision"]) == (
        an.id,
        offered["event_id"],
        None,
    )
    report = verify_bundle(bundle, log.vkey)
    assert report.ok, failed(report)

    # At the acceptance: no checkpoint ends there, so the bundle runs to the first one that
    # covers it, and holds the decision recorded after the instant too.
    at_accept = parse_instant(accepted["recorded_at"])
    bundle = export(world.ledger, matter_id="XD-1", as_of=at_accept)
    assert bundle["tree_size"] == second.size
    assert [e["index"] for e in bundle["entries"]][-2:] == [accepted["index"], decided["index"]]
    assert parse_instant(bundle["rendering"]["evaluated_at"]) == at_accept
    report = verify_bundle(bundle, log.vkey)
    assert report.ok, failed(report)

    # Before the ledger began, and after the last checkpoint: nothing to prove.
    with pytest.raises(NotFound, match="nothing was recorded by"):
        export(world.ledger, matter_id="XD-1", as_of=datetime(2020, 1, 1, tzinfo=ICT))
    later = world.ok("matter.closed", "matter:XD-1", binh, {"result": "completed"})
    with pytest.raises(NotFound, match="no signed checkpoint covers"):
        export(world.ledger, matter_id="XD-1", as_of=parse_instant(later["recorded_at"]))


def test_an_as_of_bundles_rendering_shows_the_matter_as_it_stood_at_that_instant(
    world: World,
) -> None:
    log = transparency(world)
    so = world.agency("so-xd", name="Sở Xây dựng")
    an = world.official("nguyen.van.an", so, name="Nguyễn Văn An")
    binh = world.official("le.thi.binh", so, name="Lê Thị Bình")
    world.grant(binh, so)
    world.open_matter("XD-2", an, so)
    offered = world.ok("handoff.offered", "matter:XD-2", an, {"to": binh.id, "reason": "x"})
    accepted = world.ok(
        "handoff.accepted", "matter:XD-2", binh, {"in_reply_to": offered["event_id"]}
    )
    world.ok(
        "decision.recorded",
        "matter:XD-2",
        binh,
        {"outcome": "approved", "summary": "Cấp phép", "legal_basis": "Luật XD", "capacity": "own"},
    )
    world.ok("matter.closed", "matter:XD-2", binh, {"result": "completed"})
    assert log.step() is not None  # one checkpoint, after the closing

    read = world.read("/v1/matters/XD-2", as_of=accepted["recorded_at"])
    assert (read["status"], read["custodian"], read["decision"]) == ("open", binh.id, None)

    bundle = export(world.ledger, matter_id="XD-2", as_of=parse_instant(accepted["recorded_at"]))
    assert verify_bundle(bundle, log.vkey).ok
    m = bundle["rendering"]["matters"]["XD-2"]["matter"]
    assert (m["status"], m["custodian"], m["decision"]) == ("open", binh.id, None)


# --- an official's bundle ---------------------------------------------------------------


def test_an_officials_bundle_holds_the_matters_they_were_party_to_in_the_period(
    case: Case,
) -> None:
    world = case.world
    binh, an = case.people["binh"], case.people["an"]
    so = world.agency("so-khac", name="Sở Khác")
    other = world.official("hoang.van.em", so, name="Hoàng Văn Em")
    world.open_matter("KHAC-1", other, so)  # binh is no party to it
    world.clock += timedelta(days=60)
    world.open_matter("H10.15-260505-0002", binh, case.agency)  # outside the period
    world.ok("handoff.offered", "matter:H10.15-260505-0002", binh, {"to": an.id, "reason": "y"})
    assert case.log.step() is not None
    world.project()

    reads = ReadModels(world.ledger.recorder, world.ledger.database_url)
    try:
        bundle = export(
            world.ledger,
            official_id=binh.id,
            start=datetime(2026, 3, 1, tzinfo=ICT),
            end=datetime(2026, 4, 1, tzinfo=ICT),
            reads=reads,
        )
        whole = export(world.ledger, official_id=binh.id, reads=reads)
        of_an = export(
            world.ledger,
            official_id=an.id,
            start=datetime(2026, 4, 1, tzinfo=ICT),
            reads=reads,
        )
    finally:
        reads.close()

    assert bundle["kind"] == "official"
    assert bundle["scope"] == {
        "official_id": binh.id,
        "from": "2026-03-01T00:00:00+07:00",
        "to": "2026-04-01T00:00:00+07:00",
        "matters": [MATTER],
    }
    matter_subjects = {
        record_at(bundle, n).subject
        for n in range(len(bundle["entries"]))
        if record_at(bundle, n).subject.startswith("matter:")
    }
    assert matter_subjects == {SUBJECT}
    assert list(bundle["rendering"]["matters"]) == [MATTER]
    report = verify_bundle(bundle, case.vkey)
    assert report.ok, failed(report)

    # The claims say what it cannot prove.
    assert bundle["claims"] == CLAIMS_OFFICIAL
    assert "cannot prove that the official did nothing else" in bundle["claims"]["en"][-1]
    assert "Không chứng minh được rằng cán bộ không làm việc gì khác" in bundle["claims"]["vi"][-1]

    # No period: both of binh's matters; an addressee is a party (an, offered the second).
    assert whole["scope"]["matters"] == [MATTER, "H10.15-260505-0002"]
    assert verify_bundle(whole, case.vkey).ok
    assert of_an["scope"]["matters"] == ["H10.15-260505-0002"]
    assert verify_bundle(of_an, case.vkey).ok

    # A matter cut out of an official's bundle shows: its rendering no longer fits the scope.
    tampered = copy.deepcopy(whole)
    tampered["rendering"]["matters"].pop("H10.15-260505-0002")
    assert has(verify_bundle(tampered, case.vkey), "rendering", "rendering.matters")

    # The official's summary is derived again too: who they are and their indicators.
    summary = whole["rendering"]["official"]
    assert summary["official"]["id"] == binh.id
    assert summary["official"]["name"] == "Lê Thị Bình"
    assert summary["matters"] == [MATTER, "H10.15-260505-0002"]
    assert summary["percentiles"] == "not_derived"
    assert bundle["rendering"]["official"]["period"] == {
        "from": "2026-03-01T00:00:00+07:00",
        "to": "2026-04-01T00:00:00+07:00",
    }
    tampered = copy.deepcopy(whole)
    n = [i["name"] for i in summary["indicators"]].index("decisions_outside_competence")
    tampered["rendering"]["official"]["indicators"][n]["numerator"] += 1
    report = verify_bundle(tampered, case.vkey)
    assert [(f.check, f.where) for f in report.failures] == [
        ("rendering", f"rendering.official.indicators[{n}].numerator")
    ]


def test_an_officials_bundle_exported_while_projections_run_ahead_of_the_checkpoint_verifies(
    case: Case,
) -> None:
    world = case.world
    binh = case.people["binh"]
    so = world.agency("so-moi", name="Sở Mới")
    newcomer = world.official("vu.thi.hoa", so, name="Vũ Thị Hoa")
    world.open_matter("MOI-1", newcomer, so)
    world.ok("handoff.offered", "matter:MOI-1", newcomer, {"to": binh.id, "reason": "z"})
    world.project()  # the read models see MOI-1; no checkpoint covers it yet

    reads = ReadModels(world.ledger.recorder, world.ledger.database_url)
    try:
        bundle = export(world.ledger, official_id=binh.id, reads=reads)
    finally:
        reads.close()
    report = verify_bundle(bundle, case.vkey)
    assert report.ok, failed(report)


# --- removing a whole registry subject --------------------------------------------------


@pytest.mark.parametrize("dropped", ["official:tran.quoc.cuong", "calendar:VN"])
def test_dropping_a_whole_registry_subject_and_its_attestation_is_named(
    world: World, dropped: str
) -> None:
    log = transparency(world)
    world.ok(
        "calendar.adjusted",
        "calendar:VN",
        world.root,
        {"date": "2026-03-04", "kind": "day_off", "source_document": "Công văn 1/VPCP"},
    )
    so = world.agency("so-tnmt", name="Sở Tài nguyên và Môi trường")
    phong = world.unit(so, "phong-dat", name="Phòng Đất đai")
    giam_doc = world.official("tran.quoc.cuong", so, head=True, name="Trần Quốc Cường")
    truong = world.official("pham.minh.duc", so, phong, head=True, name="Phạm Minh Đức")
    binh = world.official("le.thi.binh", so, phong, name="Lê Thị Bình")
    world.grant(giam_doc, so)
    delegation = world.delegate(giam_doc, truong, "ky_thay")
    world.open_matter("M-KT", binh, so)
    world.ok(
        "decision.recorded",
        "matter:M-KT",
        truong,
        {
            "outcome": "approved",
            "summary": "Cấp giấy (ký thay Giám đốc)",
            "legal_basis": "Luật Đất đai 2024",
            "capacity": "on_behalf",
            "delegation_id": delegation,
        },
    )
    assert log.step() is not None
    bundle = export(world.ledger, matter_id="M-KT")
    assert verify_bundle(bundle, log.vkey).ok

    tampered = copy.deepcopy(bundle)
    tampered["entries"] = [
        item for n, item in enumerate(bundle["entries"]) if record_at(bundle, n).subject != dropped
    ]
    tampered["head_attestations"] = [
        a for a in bundle["head_attestations"] if a["subject"] != dropped
    ]
    rerender(tampered)
    assert tampered["rendering"] != bundle["rendering"]  # the forgery changes what is shown

    report = verify_bundle(tampered, log.vkey)
    assert not report.ok
    assert any(dropped in f.where for f in report.failures), failed(report)
