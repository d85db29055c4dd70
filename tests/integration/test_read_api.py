"""Receipts, heads and entries as stored (DESIGN §8 read rows)."""

from __future__ import annotations

import json

from ledger.entries import leaf_hash
from tests.world import World, problem_slug


def test_a_receipt_names_the_entry_and_can_be_read_back(world: World) -> None:
    agency = world.agency("H10")
    receipt = world.ok(
        "unit.registered",
        "agency:H10",
        agency.registrar,
        {"unit_id": "phong-dat", "name": "Phòng Đất đai"},
    )
    assert world.http.get(f"/v1/events/{receipt['event_id']}").json() == receipt
    record = world.ledger.records(receipt["index"], receipt["index"] + 1)[0]
    assert receipt["leaf_hash"] == leaf_hash(record.entry).hex()
    assert receipt["recorded_at"].endswith("Z")
    assert len(receipt["recorded_at"]) == len("2026-11-27T02:00:00.000000Z")


def test_an_unknown_event_id_is_a_not_found_problem(world: World) -> None:
    response = world.http.get("/v1/events/00000000-0000-4000-8000-000000000000")
    assert response.status_code == 404
    assert problem_slug(response) == "not-found"


def test_the_head_of_a_subject_is_its_last_statement_and_an_empty_one_is_404(
    world: World,
) -> None:
    world.agency("H10")
    head = world.head("agency:H10")
    assert head is not None
    assert set(head) == {"seq", "envelope_hash", "leaf_hash", "index", "occurred_at"}
    assert head["seq"] == 2  # registered, registrar appointed, root unit registered
    response = world.http.get("/v1/subjects/matter:none/head")
    assert response.status_code == 404
    assert problem_slug(response) == "not-found"


def test_a_malformed_subject_is_a_bad_request(world: World) -> None:
    response = world.http.get("/v1/subjects/person:x/head")
    assert response.status_code == 400
    assert problem_slug(response) == "malformed-request"


def test_subject_entries_page_by_seq_and_splice_the_stored_bytes(world: World) -> None:
    world.agency("H10")
    page = world.http.get("/v1/subjects/agency:H10/entries?after_seq=0&limit=1")
    body = page.json()
    assert body["subject"] == "agency:H10"
    assert [e["entry"]["statement"]["seq"] for e in body["entries"]] == [1]
    record = world.ledger.records(body["entries"][0]["index"], body["entries"][0]["index"] + 1)[0]
    assert record.entry in page.content  # verbatim, not re-encoded
    empty = world.http.get("/v1/subjects/matter:none/entries").json()
    assert empty == {"subject": "matter:none", "entries": []}


def test_log_entries_are_served_by_index_with_the_end_clamped(world: World) -> None:
    world.agency("H10")
    size = world.ledger.size()
    body = json.loads(world.http.get(f"/v1/log/entries?start=0&end={size + 50}").content)
    assert [e["index"] for e in body["entries"]] == list(range(size))
    assert body["entries"][0]["entry"]["statement"]["type"] == "ledger.genesis"


def test_log_entries_refuse_more_than_a_thousand_or_a_reversed_range(world: World) -> None:
    for query in ("start=0&end=1001", "start=5&end=4", "start=-1&end=3", "start=a&end=3"):
        response = world.http.get(f"/v1/log/entries?{query}")
        assert response.status_code == 400, query
        assert problem_slug(response) == "malformed-request"


def test_recorded_at_strictly_increases_with_the_index(world: World) -> None:
    agency = world.agency("H10")
    for i in range(5):
        world.unit(agency, f"phong-{i}")
    stamps = [r.recorded_at for r in world.ledger.records(0, world.ledger.size())]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == len(stamps)


def test_unknown_routes_and_methods_answer_problems(world: World) -> None:
    missing = world.http.get("/v1/nothing")
    assert missing.status_code == 404
    assert problem_slug(missing) == "not-found"
    wrong_method = world.http.delete("/v1/events")
    assert wrong_method.status_code == 405
    assert problem_slug(wrong_method) == "method-not-allowed"
