"""The Python client an agency's system uses: head, sign, submit, one retry on a stale head."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.client import LedgerClient, LedgerError
from tests.world import World


def test_the_client_signs_on_the_head_and_retries_once_when_someone_appended_first(
    world: World,
) -> None:
    agency = world.agency("H10")
    client = LedgerClient(http=world.http)
    original_head = client.head
    interleaved: list[dict[str, Any]] = []

    def head_then_someone_else_appends(subject: str) -> dict[str, Any] | None:
        head = original_head(subject)
        if not interleaved:
            # Another desk appends between our read of the head and our submission.
            interleaved.append(
                world.ok(
                    "unit.registered",
                    subject,
                    agency.registrar,
                    {"unit_id": "phong-a", "name": "Phòng A"},
                )
            )
        return head

    client.head = head_then_someone_else_appends  # type: ignore[method-assign]
    receipt = client.record(
        "unit.registered",
        "agency:H10",
        actor=agency.registrar.id,
        key=agency.registrar.key,
        body={"unit_id": "phong-b", "name": "Phòng B"},
        occurred_at=world.at(),
    )
    assert interleaved
    assert receipt["seq"] == interleaved[0]["seq"] + 1


def test_the_client_raises_the_problem_when_the_ledger_refuses(world: World) -> None:
    agency = world.agency("H10")
    client = LedgerClient(http=world.http)
    with pytest.raises(LedgerError) as refused:
        client.record(
            "unit.registered",
            "agency:H10",
            actor=agency.registrar.id,
            key=agency.registrar.key,
            body={"unit_id": "x"},
            occurred_at=world.at(),
        )
    assert refused.value.status == 422
    assert refused.value.slug == "invalid-statement"
    assert "name" in refused.value.problem["detail"]
