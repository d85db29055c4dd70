"""Rows read back from the projections map onto their types by position."""

from __future__ import annotations

from dataclasses import fields

from projections.facts import MatterEventRow
from projections.views import MATTER_EVENT_COLUMNS


def test_matter_event_columns_are_selected_in_the_row_types_field_order() -> None:
    columns = [c.strip() for c in MATTER_EVENT_COLUMNS.split(",")]
    assert columns == [f.name for f in fields(MatterEventRow)]
