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
from demo.province import AGENCIES
from evidence.bundle import export
from evidence.verify import verify_bundle
from ledger.canonical import jcs
from ledger.datadir import open_ledger
from ledger.settings import Settings
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


def test_every_planted_official_leads_their_agency_on_their_indicator(demo: Demo) -> None:
    agency_of = {}
    for agency in AGENCIES:
        for official_id in _indicators(demo, agency.agency_id):
            agency_of[official_id] = agency.agency_id
    for planted in demo.summary.planted:
        table = _indicators(demo, agency_of[planted.official_id])
        mine = table[planted.official_id][planted.indicator]
        assert mine["numerator"] > 0, planted
        assert mine["matters"], planted
        others = [
            row[planted.indicator]
            for official_id, row in table.items()
            if official_id != planted.official_id and row[planted.indicator]["value"] is not None
        ]
        # Worst in the agency, and by a repeated habit: a peer may share the rate over one
        # or two matters, never the count.
        assert all(mine["value"] >= other["value"] for other in others), (planted, others)
        assert all(mine["numerator"] > other["numerator"] for other in others), (planted, others)


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
