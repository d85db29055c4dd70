"""Catch-up and projections read stored entries with ``decode_trusted`` and
``apply_trusted``; the audit with ``decode_entry`` and ``apply_record``. On entries the
ledger stored the two readings must agree exactly — envelopes, verdicts, the state they
build, the rows projections take from them — and what the trusted reading skips must
still be caught by the audit when the database is altered behind the ledger's back.
"""

from __future__ import annotations

import dataclasses
import json
import random
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import pytest

from ledger.audit import audit
from ledger.canonical import entry_prefix, split_entry
from ledger.client import now_instant
from ledger.crypto import SigningKey
from ledger.entries import StoredEntry, decode_entry, decode_trusted, leaf_hash
from ledger.errors import IntegrityError
from ledger.replay import Verdict, apply_record, apply_trusted, trust_signature
from ledger.state import LedgerState
from ledger.statements import BODY_MODELS
from ledger.storage import LogRecord
from projections.facts import facts_of
from projections.runner import rebuild
from projections.views import VIEWS
from tests.integration.test_rebuild_equality import assert_equal_views, live_databases
from tests.integration.test_rebuild_equality import rebuild as rebuild_together
from tests.scenario import Province
from tests.world import PROCEDURE, REGISTRY_EPOCH, Actor, AgencyHandle, World

T = TypeVar("T")

# Text that JSON escapes or that takes several UTF-8 bytes: quotes, backslashes, line
# breaks and tabs, the JSON-but-not-JavaScript line separators, astral-plane characters.
AWKWARD_NAME = 'Hồ sơ "đặc biệt" \\ số 7 — 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 😀 \u2028 ok'
AWKWARD_TEXT = 'Dòng một\nDòng hai\tcột\r\n"trích dẫn" \\ \u2029 𝄞'


@pytest.fixture
def world(old_world: World) -> World:
    """A ledger begun under rules version 3, as earlier releases made them: its history
    holds what version 3 accepted, then a root adopts version 4 (DESIGN §4 v4)."""
    return old_world


def _varied_history(world: World, steps: int, seed: int) -> None:
    """A province's random history, plus every registry statement it never sends and
    statements whose text JSON has to escape — under rules version 3 — then the adoption of
    version 4 and statements judged by it."""
    province = Province(world)
    rng = random.Random(seed)

    def pick(options: Sequence[T]) -> T:
        return rng.choice(options)

    for _ in range(steps):
        province.step(pick)
    root = world.root
    # A second root, added and then removed by the first (the genesis is dated now).
    other_root = SigningKey.generate()
    world.ok(
        "root.added",
        "ledger",
        root,
        {"id": "root.two", "full_name": "Bộ Nội vụ", "public_key": other_root.public_b64},
        occurred_at=now_instant(),
    )
    world.ok("root.removed", "ledger", root, {"id": "root.two"}, occurred_at=now_instant())
    # A second registrar appointed and dismissed.
    agency = province.agencies["so-tnmt"]
    world.ok(
        "registrar.appointed",
        "agency:so-tnmt",
        root,
        {
            "official_id": "reg.two",
            "full_name": "Lê Văn Tổ Chức",
            "public_key": SigningKey.generate().public_b64,
            "valid_from": REGISTRY_EPOCH,
        },
    )
    world.ok("registrar.dismissed", "agency:so-tnmt", root, {"official_id": "reg.two"})
    # A key bound and retired; a delegation granted and revoked.
    official = province.actors["cv.an"]
    spare = SigningKey.generate()
    world.bind_key(official, agency, spare)
    world.ok(
        "key.revoked",
        f"official:{official.id}",
        agency.registrar,
        {"key_id": spare.key_id, "effective_at": world.at(0), "reason": "retired"},
    )
    grantor = province.actors["tp.dat"]
    delegation = world.delegate(grantor, province.actors["cv.cuong"], "uy_quyen", PROCEDURE)
    world.ok("delegation.revoked", f"official:{grantor.id}", grantor, {"delegation_id": delegation})
    # A matter whose text JSON must escape, corrected with that text again (version 3
    # accepts a CR in free text and any safe integer of working days).
    _awkward_matter(
        world, province.actors["cv.binh"], province.actors["cv.an"], agency, 2**53 - 1, AWKWARD_TEXT
    )
    # An official released by their agency and moved to another (two-party, v4 types).
    leaving = province.actors["cv.binh"]
    source = province.agencies[province.postings[leaving.id].agency]
    destination = next(a for a in province.agencies.values() if a.id != source.id)
    world.ok(
        "official.released",
        f"official:{leaving.id}",
        source.registrar,
        {"to_agency_id": destination.id, "instrument_no": "12/QĐ-SNV"},
    )
    world.ok(
        "official.moved",
        f"official:{leaving.id}",
        destination.registrar,
        {
            "agency_id": destination.id,
            "unit_id": destination.root_unit,
            "position": "Chuyên viên",
            "is_head": False,
        },
    )
    # The ledger adopts rules version 4; what follows is judged by it.
    world.ok("ledger.rules_adopted", "ledger", root, {"version": 4}, occurred_at=now_instant())
    world.ok(
        "calendar.adjusted",
        "calendar:VN",
        root,
        {"date": "2026-03-13", "kind": "day_off", "source_document": "Thông báo 12/TB-UBND"},
        occurred_at=now_instant(),
    )
    # The same under version 4: within its ranges, and no CR (DESIGN §3 v4).
    _awkward_matter(
        world,
        province.actors["cv.an"],
        province.actors["cv.cuong"],
        agency,
        1000,
        AWKWARD_TEXT.replace("\r", ""),
    )


def _awkward_matter(
    world: World, opener: Actor, other: Actor, agency: AgencyHandle, days: int, text: str
) -> None:
    """A matter whose text JSON must escape: opened, offered, accepted, corrected."""
    subject = f"matter:AWK-{uuid.uuid4().hex[:6]}"
    opened = world.ok(
        "matter.opened",
        subject,
        opener,
        {
            "title": AWKWARD_NAME,
            "procedure_code": PROCEDURE,
            "agency_id": agency.id,
            "deadline_working_days": days,
            "applicant_ref": AWKWARD_NAME,
        },
    )
    offered = world.ok("handoff.offered", subject, opener, {"to": other.id, "reason": text})
    world.ok("handoff.accepted", subject, other, {"in_reply_to": offered["event_id"]})
    world.ok(
        "correction.recorded",
        subject,
        opener,
        {
            "target_event_id": opened["event_id"],
            "reason": text,
            "corrections": {"title": AWKWARD_NAME},
        },
    )


def _records(world: World) -> list[tuple[int, LogRecord]]:
    size = world.ledger.size()
    return world.ledger.recorder.numbered_records(0, size)


def _same_entry(strict: StoredEntry, trusted: StoredEntry) -> None:
    assert trusted == strict
    a, b = strict.envelope, trusted.envelope
    assert b.statement == a.statement
    assert b.statement.canonical == a.statement.canonical
    assert type(b.statement.body) is type(a.statement.body)
    assert list(vars(b.statement.body).items()) == list(vars(a.statement.body).items())
    assert b.statement.body.model_fields_set == a.statement.body.model_fields_set
    assert b.signature == a.signature
    assert b.hash == a.hash
    assert b.canonical == a.canonical
    assert trusted.recorded_at == strict.recorded_at
    assert trusted.recorded_at_text == strict.recorded_at_text


def _state_of(state: LedgerState) -> dict[str, Any]:
    registry = {k: v for k, v in vars(state.registry).items() if k != "journal"}
    return {
        "heads": state.heads,
        "matters": state.matters,
        "registry": registry,
        "last_index": state.last_index,
        "last_recorded_at": state.last_recorded_at,
    }


def test_the_trusted_reading_of_a_varied_history_is_the_strict_one_entry_by_entry(
    world: World,
) -> None:
    """Every entry decodes to the same envelope both ways, is admitted with the same
    verdict, builds the same state and gives the read models the same rows."""
    _varied_history(world, steps=160, seed=7)
    records = _records(world)
    strict_state, trusted_state = LedgerState(), LedgerState()
    types: Counter[str] = Counter()
    for notification_id, record in records:
        _same_entry(decode_entry(record), decode_trusted(record))
        strict: Verdict = apply_record(strict_state, record, trust_signature)
        trusted = apply_trusted(trusted_state, record)
        _same_entry(strict.entry, trusted.entry)
        assert trusted.assessment == strict.assessment
        assert facts_of(trusted, trusted_state, notification_id) == facts_of(
            strict, strict_state, notification_id
        )
        types[strict.entry.envelope.statement.type] += 1
    assert _state_of(trusted_state) == _state_of(strict_state)
    # The history was worth comparing: every statement type, flags and findings.
    assert set(types) == set(BODY_MODELS), set(BODY_MODELS) - set(types)


def test_a_view_rebuilt_alone_equals_it_rebuilt_with_the_others(world: World) -> None:
    """A rebuild of one view builds only the rows that view reads (``ReadModel.facts``);
    each, rebuilt alone and swapped in, equals the same view built with all the others."""
    _varied_history(world, steps=80, seed=5)
    node = world.node
    for name in VIEWS:
        rebuild(node.ledger.recorder, node.ledger.database_url, name)
    alone, together = live_databases(node), rebuild_together(node)
    try:
        assert_equal_views(node, alone, together)
    finally:
        for db in (*alone.values(), *together.values()):
            db.close()


# --- what only the audit looks at ----------------------------------------------------


def _reencoded(record: LogRecord, statement: dict[str, Any], **json_options: Any) -> bytes:
    """The record's entry with its statement written by ``json.dumps`` (not JCS)."""
    parts = split_entry(record.entry)
    body = json.dumps(statement, ensure_ascii=False, **json_options).encode()
    return entry_prefix(parts.recorded_at, parts.signature) + body + b"}"


def _with_entry(record: LogRecord, entry: bytes) -> LogRecord:
    """The record holding other bytes, with its leaf hash rewritten to match them."""
    return dataclasses.replace(record, entry=entry, leaf_hash=leaf_hash(entry))


def _non_canonical(record: LogRecord) -> LogRecord:
    statement = json.loads(split_entry(record.entry).statement)
    return _with_entry(record, _reencoded(record, statement, indent=1))


def _control_character_in_text(record: LogRecord) -> LogRecord:
    statement = json.loads(split_entry(record.entry).statement)
    statement["body"]["reason"] = "giấu\x07 chữ"
    return _with_entry(record, _reencoded(record, statement, sort_keys=True, separators=(",", ":")))


def _float_in_body(record: LogRecord) -> LogRecord:
    statement = json.loads(split_entry(record.entry).statement)
    statement["body"]["reason"] = 1.5
    return _with_entry(record, _reencoded(record, statement, sort_keys=True, separators=(",", ":")))


def _other_leaf_hash(record: LogRecord) -> LogRecord:
    return dataclasses.replace(record, leaf_hash=bytes(32))


def _other_recorded_at_column(record: LogRecord) -> LogRecord:
    return dataclasses.replace(record, recorded_at="2020-01-01T00:00:00.000000Z")


def _other_envelope_hash(record: LogRecord) -> LogRecord:
    return dataclasses.replace(record, envelope_hash=bytes(32))


TAMPERINGS: dict[str, tuple[Callable[[LogRecord], LogRecord], str]] = {
    "statement bytes not canonical": (_non_canonical, "not canonical JCS"),
    "a control character in a text": (_control_character_in_text, "control characters"),
    "a float in the body": (_float_in_body, "not an integer"),
    "leaf hash column": (_other_leaf_hash, "leaf hash"),
    "recorded_at column": (_other_recorded_at_column, "the log table says recorded_at"),
    "envelope hash column": (_other_envelope_hash, "envelope hash"),
}


@pytest.mark.parametrize("tampering", list(TAMPERINGS))
def test_a_stored_entry_altered_where_the_trusted_reading_does_not_look_fails_the_audit(
    world: World, tampering: str
) -> None:
    """The trusted reading admits the altered log without complaint — it does not look
    there, by design — and the audit names the altered entry and what is wrong with it."""
    _varied_history(world, steps=30, seed=11)
    records = [record for _, record in _records(world)]
    # The awkward matter's offer, or its correction (the log's last entry): the next
    # statement of a subject names the true envelope hash as its prev, so only a
    # subject's last statement can carry another hash past the trusted reading.
    target = len(records) - (1 if tampering == "envelope hash column" else 3)
    assert "reason" in json.loads(records[target].entry)["statement"]["body"]
    alter, complaint = TAMPERINGS[tampering]
    altered = [*records[:target], alter(records[target]), *records[target + 1 :]]

    state = LedgerState()
    for record in altered:
        apply_trusted(state, record)
    assert state.last_index == len(records) - 1

    report = audit(altered, [])
    assert report.failure is not None
    assert report.failure.index == target, report.failure.describe()
    assert complaint in report.failure.problem, report.failure.describe()


def test_bytes_that_are_not_an_entry_fail_the_trusted_reading_too(world: World) -> None:
    """The trusted reading skips checks, not reading: bytes it cannot read as an entry
    are an integrity error naming the entry, as they are for the audit."""
    _varied_history(world, steps=5, seed=3)
    record = _records(world)[-1][1]
    for entry in (b"not json", b"[]", b'{"recorded_at": 1}', record.entry[:-40] + b"}"):
        with pytest.raises(IntegrityError) as caught:
            decode_trusted(dataclasses.replace(record, entry=entry))
        assert caught.value.index == record.index
