"""Rules versions (DESIGN §4 v4) and what version 4 adds at the door (DESIGN §3 v4).

The rules an entry is judged by change over the years, yet every verdict must stay
re-derivable from the log: so rules carry a version. The genesis names the one a ledger
starts with (absent: 3, the rules before v4); a root may record ``ledger.rules_adopted``, and
every entry after it is judged by that version. ``LedgerState`` keeps the version in force
and asks ``check_statement`` before any other rule.

Version 4 refuses what version 3 accepted, since a lexically valid but absurd value would
be stored forever in an append-only log and poison every read that touches it:

- instants and dates outside the years 2000–2099 (UTC); ``deadline_working_days`` outside
  1–1000;
- an identifier, code or hash that only ``re.match`` with ``$`` accepted (``ta.cong.nam\\n``);
- C0 and C1 control characters in any string (free text may hold ``\\n`` and ``\\t``), and
  Unicode bidirectional or invisible format controls anywhere (a name ending in U+202E can
  make a page show another official's name).
"""

from __future__ import annotations

import re
import typing
from collections.abc import Iterator
from functools import cache
from typing import Any

from pydantic import AfterValidator, BaseModel

from ledger import statements as s
from ledger.errors import InvalidStatement
from ledger.times import LEDGER_YEARS, in_ledger_years, parse_date, parse_instant

RULES_BEFORE_V4 = 3  # a genesis without ``rules``
LATEST_RULES = s.MAX_RULES_VERSION  # what ``ledgerctl init`` writes into a new genesis
KNOWN_RULES = tuple(range(RULES_BEFORE_V4, LATEST_RULES + 1))

FIRST_YEAR, LAST_YEAR = LEDGER_YEARS
MAX_DEADLINE_WORKING_DAYS = 1000

# Identifiers and codes matched against the whole string (``\Z``, not ``$``).
_FULL = {
    "id": re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}\Z"),
    "uuid": re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z"),
    "hex64": re.compile(r"[0-9a-f]{64}\Z"),
    "hex32": re.compile(r"[0-9a-f]{32}\Z"),
    "subject": re.compile(
        r"(ledger|calendar:VN|(agency|official|matter):[A-Za-z0-9][A-Za-z0-9._-]{0,127})\Z"
    ),
}
# C0 controls but TAB and LF, DEL, and C1 controls: never in a version-4 string.
_CONTROLS = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_CONTROLS_IN_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # free text keeps TAB and LF
# Bidirectional and invisible format controls (DESIGN §3 v4).
_FORMAT_CONTROLS = re.compile("[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")

# The kind of each lexical type of ``ledger.statements``, by its validator.
_VALIDATOR_KINDS: dict[Any, str] = {
    s._identifier: "id",
    s._uuid: "uuid",
    s._hex64: "hex64",
    s._key_id: "hex32",
    s._instant: "instant",
    s._date: "date",
    s._line: "name",
    s._origin: "name",
    s._text: "text",
    s._public_key: "opaque",  # canonical base64: no character a rule here could catch
}


def check_statement(version: int, statement: s.Statement) -> None:
    """Raise ``InvalidStatement`` (422) when ``statement`` breaks a lexical rule of
    ``version``; version 3 adds nothing to the schema."""
    if version < 4:
        return
    problems = list(_header_problems(statement)) + list(
        _model_problems(statement.body, "statement.body")
    )
    if problems:
        field = problems[0][0]
        detail = "; ".join(f"{f}: {m}" for f, m in problems[:5])
        raise InvalidStatement(
            f"{detail} (DESIGN §3, rules version {version})",
            field=field,
            errors=[{"field": f, "message": m} for f, m in problems],
        )


def _header_problems(st: s.Statement) -> Iterator[tuple[str, str]]:
    for name, value, kind in (
        ("event_id", st.event_id, "uuid"),
        ("subject", st.subject, "subject"),
        ("actor", st.actor, "id"),
        ("key", st.key, "hex32"),
        ("prev", st.prev, "hex64"),
        ("occurred_at", st.occurred_at, "instant"),
    ):
        if value is not None:
            yield from _value_problems(f"statement.{name}", value, kind)


def _model_problems(model: BaseModel, where: str) -> Iterator[tuple[str, str]]:
    for name, kinds in _field_kinds(type(model)).items():
        value = getattr(model, name)
        if value is None:
            continue
        path = f"{where}.{name}"
        if isinstance(value, BaseModel):
            yield from _model_problems(value, path)
        elif isinstance(value, list):
            for n, item in enumerate(value):
                if isinstance(item, BaseModel):
                    yield from _model_problems(item, f"{path}[{n}]")
                else:
                    yield from _value_problems(f"{path}[{n}]", item, kinds)
        elif name == "deadline_working_days" and isinstance(value, int):
            yield from _deadline_problems(path, value)
        elif isinstance(value, dict):  # a correction's values: by the field they correct
            for field_name, corrected in value.items():
                yield from _correction_problems(f"{path}.{field_name}", field_name, corrected)
        else:
            yield from _value_problems(path, value, kinds)


def _correction_problems(path: str, name: str, value: Any) -> Iterator[tuple[str, str]]:
    """A corrected value is held to the rules of the field it corrects (any type's field of
    that name: the names mean the same in every type)."""
    if isinstance(value, list):
        for n, item in enumerate(value):
            yield from _correction_problems(f"{path}[{n}]", name, item)
    elif name == "deadline_working_days" and isinstance(value, int):
        yield from _deadline_problems(path, value)
    else:
        yield from _value_problems(path, value, _kinds_by_name().get(name, "text"))


def _deadline_problems(path: str, days: int) -> Iterator[tuple[str, str]]:
    if not 1 <= days <= MAX_DEADLINE_WORKING_DAYS:
        yield path, f"must be 1 to {MAX_DEADLINE_WORKING_DAYS} working days"


@cache
def _kinds_by_name() -> dict[str, str]:
    out: dict[str, str] = {}
    for model in s.BODY_MODELS.values():
        for name, kind in _field_kinds(model).items():
            out.setdefault(name, kind)
    return out


def _value_problems(path: str, value: Any, kind: str) -> Iterator[tuple[str, str]]:
    if not isinstance(value, str):
        return
    if _FORMAT_CONTROLS.search(value):
        yield path, "must not contain bidirectional or invisible format controls (U+202E …)"
        return
    controls = _CONTROLS_IN_TEXT if kind == "text" else _CONTROLS
    if controls.search(value):
        allowed = " (only TAB and LF are allowed in free text)" if kind == "text" else ""
        yield path, f"must not contain control characters{allowed}"
        return
    pattern = _FULL.get(kind)
    if pattern is not None and not pattern.match(value):
        yield path, "must match its pattern over the whole string"
    elif kind == "instant" and not _in_range(value):
        yield path, f"must lie in the years {FIRST_YEAR}–{LAST_YEAR} (UTC)"
    elif kind == "date" and not _date_in_range(value):
        yield path, f"must lie in the years {FIRST_YEAR}–{LAST_YEAR}"


@cache
def _field_kinds(model: type[BaseModel]) -> dict[str, str]:
    """Each field of ``model`` and the lexical kind of its strings (``opaque`` for none)."""
    fields = model.model_fields.items()
    return {name: _kind_of(info.annotation, info.metadata) for name, info in fields}


def _kind_of(annotation: Any, metadata: list[Any]) -> str:
    for meta in metadata:
        if isinstance(meta, AfterValidator) and meta.func in _VALIDATOR_KINDS:
            return _VALIDATOR_KINDS[meta.func]
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        base, *extra = typing.get_args(annotation)
        return _kind_of(base, list(extra))
    for arg in typing.get_args(annotation):  # Optional[X], list[X]
        if arg is not type(None):
            kind = _kind_of(arg, [])
            if kind != "opaque":
                return kind
    return "opaque"


def _in_range(instant: str) -> bool:
    try:
        return in_ledger_years(parse_instant(instant))
    except ValueError:  # not an instant (a correction's value): its own check names it
        return True


def _date_in_range(day: str) -> bool:
    try:
        return FIRST_YEAR <= parse_date(day).year <= LAST_YEAR
    except ValueError:
        return True
