"""A consultation's read-time flags (DESIGN §6–§7): one name in every read.

``late_answer`` on an answer after its reply window and on the matter; ``deemed_agreed`` on a
request unanswered when its window ended and on the matter — in the matter read, in the
timeline's JSON and in its CSV alike (issue 12: the timeline said ``late`` and the matter
``deemed_agreement`` before)."""

from __future__ import annotations

import csv
import io

from tests.world import World

MONDAY = "2026-03-02T09:00:00+07:00"
WINDOW_END = "2026-03-04T17:00:00+07:00"  # reply_due_at: Wednesday 17:00


def test_a_late_answer_and_an_unanswered_request_carry_one_name_each_everywhere(
    world: World,
) -> None:
    agency = world.agency("so-tnmt")
    clerk = world.official("chuyen.vien.a", agency)
    director = world.official("giam.doc", agency, agency.root_unit, head=True)
    subject = world.open_matter("H10-0001", clerk, agency)
    asked = world.ok(
        "consultation.requested",
        subject,
        clerk,
        {"to": director.id, "question": "Xin ý kiến", "reply_due_at": WINDOW_END},
        occurred_at=MONDAY,
    )
    world.ok(
        "consultation.requested",
        subject,
        clerk,
        {"to": director.id, "question": "Xin ý kiến lần hai", "reply_due_at": WINDOW_END},
        occurred_at="2026-03-02T10:00:00+07:00",
    )
    answer = world.ok(
        "consultation.answered",
        subject,
        director,
        {"in_reply_to": asked["event_id"], "position": "agree", "text": "Đồng ý"},
        occurred_at="2026-03-05T09:00:00+07:00",  # after the window
    )

    matter = world.read("/v1/matters/H10-0001", to="2026-03-06T00:00:00+07:00")
    assert {"late_answer", "deemed_agreed"} <= set(matter["flags"])
    assert "late" not in matter["flags"]
    assert "deemed_agreement" not in matter["flags"]

    rows = world.read(
        f"/v1/officials/{director.id}/timeline", to="2026-03-06T00:00:00+07:00", limit=100
    )["rows"]
    by_event = {r["event_id"]: r for r in rows}
    assert "late_answer" in by_event[answer["event_id"]]["flags"]
    unanswered = [
        r
        for r in rows
        if r["type"] == "consultation.requested" and r["event_id"] != asked["event_id"]
    ]
    assert ["deemed_agreed" in r["flags"] for r in unanswered] == [True]

    text = world.http.get(
        f"/v1/officials/{director.id}/timeline",
        params={"to": "2026-03-06T00:00:00+07:00", "limit": 100},
        headers={"Accept": "text/csv"},
    ).text
    flags = {r["event_id"]: r["flags"].split(";") for r in csv.DictReader(io.StringIO(text))}
    assert "late_answer" in flags[answer["event_id"]]
    assert "deemed_agreed" in flags[unanswered[0]["event_id"]]

    # Before the window ended, nothing was late and nothing deemed.
    early = world.read("/v1/matters/H10-0001", to="2026-03-04T12:00:00+07:00")
    assert not {"late_answer", "deemed_agreed"} & set(early["flags"])
