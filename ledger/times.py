"""Lexical forms of instants and dates (DESIGN §3) and the log's own clock format."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from ledger.errors import MalformedRequest

INSTANT_PATTERN = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)$"
DATE_PATTERN = r"^\d{4}-\d\d-\d\d$"
_INSTANT = re.compile(INSTANT_PATTERN)
_DATE = re.compile(DATE_PATTERN)

ONE_MICROSECOND = timedelta(microseconds=1)


@lru_cache(maxsize=65536)
def parse_instant(text: str) -> datetime:
    """An aware datetime from an instant string; ``ValueError`` says what is wrong."""
    if not _INSTANT.match(text):
        raise ValueError(
            "must be an instant like 2026-11-27T09:30:00+07:00 "
            "(seconds, up to 6 fractional digits, and Z or ±HH:MM)"
        )
    try:
        return datetime.fromisoformat(text)
    except ValueError as e:
        raise ValueError(f"is not a real instant: {e}") from None


# The years every instant of the ledger lies in, UTC (DESIGN §3 v4): statements under rules
# version 4, and instants a person gives a read.
LEDGER_YEARS = (2000, 2099)


def in_ledger_years(moment: datetime) -> bool:
    """Whether ``moment`` lies in ``LEDGER_YEARS`` (UTC); an instant with no year in UTC at
    all (``0001-01-01T00:00:00+01:00``, ``9999-12-31T23:59:59-01:00``) does not."""
    try:
        year = moment.astimezone(UTC).year
    except OverflowError:
        return False
    return LEDGER_YEARS[0] <= year <= LEDGER_YEARS[1]


def parse_instant_argument(label: str, value: str | None) -> datetime | None:
    """An optional instant given by a person (a query parameter, a CLI option); a bad one is
    400 ``malformed-request`` naming ``label``."""
    if value is None:
        return None
    try:
        moment = parse_instant(value)
    except ValueError as e:
        raise MalformedRequest(f"{label}={value!r} {e}") from None
    if not in_ledger_years(moment):
        raise MalformedRequest(
            f"{label}={value!r} must lie in the years {LEDGER_YEARS[0]}–{LEDGER_YEARS[1]} "
            "(UTC), as every instant of the ledger does"
        )
    return moment


def parse_date(text: str) -> date:
    """A date from ``YYYY-MM-DD``; ``ValueError`` says what is wrong."""
    if not _DATE.match(text):
        raise ValueError("must be a date like 2026-11-27")
    try:
        return date.fromisoformat(text)
    except ValueError as e:
        raise ValueError(f"is not a real date: {e}") from None


def format_recorded_at(moment: datetime) -> str:
    """UTC with exactly 6 fractional digits and ``Z`` (the entry's ``recorded_at``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utc_now() -> datetime:
    return datetime.now(UTC)
