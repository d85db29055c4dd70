"""The demo province: built through the API, its planted avoidance shows in the indicators,
and its evidence verifies offline."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from demo.build import DEMO_FILE, DemoError, DemoSummary, build, plan
from demo.province import AGENCIES, LAND_COMMUNE
from evidence.bundle import export
from evidence.verify import verify_bundle
from ledger.canonical import jcs
from ledger.datadir import open_ledger
from ledger.settings import Settings
from projections.indicators import NAMES
from projections.reads import ReadModels

SEED = 2026
MATTERS = 300


@dataclass
class Demo:
    settings: Settings
    summary: DemoSummary
    reads: ReadModels
    ledger: Any


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    settings = Settings.load(tmp_path_factory.mktemp("demo") / "ledger-data")
    summary = build(settings, matters=MATTERS, seed=SEED)
    ledger, _ = open_ledger(settings, warm=False)
    reads = ReadModels(ledger.recorder, ledger.database_url)
    yield Demo(settings, summary, reads, ledger)
    reads.close()
    ledger.close()


def test_the_log_holds_exactly_the_planned_statements_and_signatures(demo: Demo) -> None:
    _, planned = plan(SEED, date(2026, 1, 5), MATTERS)
    stored = [json.loads(r.entry) for r in demo.ledger.recorder.iter_records(1)]
    assert len(stored) == len(planned) == demo.summary.entries - 1
    by_id = {s["statement"]["event_id"]: s for s in stored}
    for item in planned:
        entry = by_id[item.envelope["statement"]["event_id"]]
        assert jcs({k: entry[k] for k in ("statement", "signature")}) == jcs(item.envelope)


def _indicators(demo: Demo, agency_id: str) -> dict[str, dict[str, Any]]:
    answer = demo.reads.agency_indicators(agency_id, demo.reads.cut())
    return {o["official_id"]: o["indicators"] for o in answer["officials"]}


def _province(demo: Demo) -> dict[str, dict[str, Any]]:
    """Every official of the province with their indicators, agency by agency."""
    table: dict[str, dict[str, Any]] = {}
    for agency in AGENCIES:
        table.update(_indicators(demo, agency.agency_id))
    return table


def test_every_planted_official_tops_their_indicator_province_wide(demo: Demo) -> None:
    table = _province(demo)
    planted_for: dict[str, set[str]] = {}
    for planted in demo.summary.planted:
        planted_for.setdefault(planted.indicator, set()).add(planted.official_id)
    v4 = {"competence_unused", "missed_step_deadlines", "idle_custody"}
    assert v4 <= planted_for.keys() <= set(NAMES)
    for planted in demo.summary.planted:
        mine = table[planted.official_id][planted.indicator]
        assert mine["numerator"] > 0, planted
        assert mine["matters"], planted
        ranked = {
            o: row[planted.indicator]
            for o, row in table.items()
            if row[planted.indicator]["value"] is not None
        }
        # The percentile ranks them among the province, and so does this test.
        assert mine["peers"] == len(ranked), planted
        # Two officials carry the escalation pattern, a department head and a commune
        # chairman: each must top everyone else, not each other.
        rivals = [ind for o, ind in ranked.items() if o not in planted_for[planted.indicator]]
        assert rivals, planted
        # Worst in the province, and by a repeated habit: someone may share the rate over
        # one or two matters, never the count.
        assert all(mine["value"] >= other["value"] for other in rivals), (planted, rivals)
        assert all(mine["numerator"] > other["numerator"] for other in rivals), (planted, rivals)


def test_a_read_of_the_demos_matter_across_31_august_counts_22_august_as_a_working_day(
    demo: Demo,
) -> None:
    # A land-origin confirmation (10 working days) received by phường An Phú on Friday
    # 21/8/2026, with no supplement pause and no extension.
    cut = demo.reads.cut()
    matter = demo.reads.matter("H99.21.001-260821-0263", cut)
    assert matter["opened_at"] == "2026-08-21T08:05:00+07:00"
    assert matter["procedure_code"] == LAND_COMMUNE.code
    assert LAND_COMMUNE.deadline_working_days == 10
    types = {e.type for e in demo.reads.matter_events(matter["matter_id"], cut)}
    assert not types & {"supplement.requested", "deadline.extended"}
    # Working days after Fri 21/8: Sat 22/8 (1, worked for Mon 31/8), Mon 24/8 (2),
    # Tue 25/8 (3), Wed 26/8 (4), Thu 27/8 (5), Fri 28/8 (6); Sat 29/8 and Sun 30/8
    # weekend, Mon 31/8 off (moved from 22/8), Tue 1/9 and Wed 2/9 National Day;
    # Thu 3/9 (7), Fri 4/9 (8), Mon 7/9 (9), Tue 8/9 (10). Without 22/8 it would be 9/9.
    assert matter["due_at"] == "2026-09-08T17:00:00+07:00"


def test_the_history_is_flagged_recorded_late_as_an_import_should_be(demo: Demo) -> None:
    planted = demo.summary.planted[0].official_id
    page = demo.reads.timeline(planted, demo.reads.cut(), after=None, limit=50)
    assert page["rows"]
    assert all("recorded_late" in row["flags"] for row in page["rows"])


def test_a_matter_with_a_planted_pattern_exports_a_bundle_that_verifies_offline(
    demo: Demo,
) -> None:
    planted = next(p for p in demo.summary.planted if p.pattern == "ping_pong")
    table = _indicators(demo, "000.00.03.H99")
    matter_id = table[planted.official_id]["ping_pong"]["matters"][0]
    bundle = json.loads(json.dumps(export(demo.ledger, matter_id=matter_id)))
    report = verify_bundle(bundle, demo.ledger.transparency.vkey)
    assert report.ok, [str(f) for f in report.failures]
    custody = bundle["rendering"]["matters"][matter_id]
    assert planted.official_id in json.dumps(custody)


def test_the_summary_file_names_the_planted_officials_and_the_token_file(demo: Demo) -> None:
    written = json.loads((demo.settings.data_dir / DEMO_FILE).read_text("utf-8"))
    assert written == demo.summary.to_json()
    assert {p["indicator"] for p in written["planted"]} >= {
        "escalation_within_competence",
        "ping_pong",
        "returned_handoffs",
        "positionless_consultation",
        "unresponsive_consultee",
        "overdue",
        "decisions_outside_competence",
        "repeated_supplement_requests",
        "competence_unused",
        "missed_step_deadlines",
        "idle_custody",
    }
    token = (demo.settings.data_dir / written["inspector_token_file"]).read_text().strip()
    assert token
    assert (demo.settings.data_dir / written["inspector_token_file"]).stat().st_mode & 0o077 == 0


def test_building_over_an_existing_ledger_is_refused_and_changes_nothing(demo: Demo) -> None:
    size = demo.ledger.size()
    database = Path(demo.settings.effective_database_url.removeprefix("sqlite:///"))
    before = database.stat().st_size
    with pytest.raises(DemoError, match="already holds a ledger"):
        build(demo.settings, matters=5, seed=SEED)
    assert demo.ledger.size() == size
    assert database.stat().st_size == before


def test_building_the_demo_leaves_the_processs_access_log_on(demo: Demo) -> None:
    assert logging.getLogger("ledger.access").isEnabledFor(logging.INFO)
