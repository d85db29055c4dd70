"""Strict JSON in, RFC 8785 (JCS) bytes out, and the byte layouts built from them.

Parsing refuses what JCS cannot represent faithfully (DESIGN §4): invalid UTF-8, syntax
errors, duplicate member names and NaN/Infinity are malformed (400); floats, integers
outside ±(2^53−1) and lone surrogates make a statement invalid (422). Strings are never
normalised.

Entries and envelopes are JCS objects whose members are themselves JCS values, so their
bytes are built by splicing the statement's canonical bytes, never by re-encoding a
decoded statement; a test holds these layouts equal to ``rfc8785.dumps``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import orjson
import rfc8785

from ledger.errors import InvalidStatement, MalformedRequest

MAX_SAFE_INTEGER = 2**53 - 1
MAX_NESTING = 32

_SURROGATE = re.compile("[\ud800-\udfff]")


def _reject_constant(name: str) -> Any:
    raise MalformedRequest(f"JSON value {name} is not allowed; send a finite integer instead")


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise MalformedRequest(
                f"duplicate member name {key!r} in a JSON object; each name may appear once"
            )
        obj[key] = value
    return obj


class _Refused:
    """A value JSON can carry but a statement may not (a float, an integer beyond 2^53)."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message


def _parse_float(token: str) -> Any:
    return _Refused(f"number {token} is not an integer; statements carry integers only")


def _parse_int(token: str) -> Any:
    if len(token.lstrip("-")) <= 16 and abs(value := int(token)) <= MAX_SAFE_INTEGER:
        return value
    return _Refused(
        f"integer {token[:20]} is outside ±(2^53−1); statements carry integers in that range only"
    )


def _decode(data: bytes, max_depth: int) -> Any:
    """JSON with 400-class faults raised and 422-class values left as ``_Refused`` marks
    (nesting is checked by ``_inspect``, in the same walk that finds those marks)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise MalformedRequest(
            f"the body is not valid UTF-8 (byte {e.start}); send UTF-8 encoded JSON"
        ) from None
    if text.startswith("\ufeff"):
        raise MalformedRequest("the body starts with a byte order mark; send JSON without one")
    try:
        return json.loads(
            text,
            object_pairs_hook=_object_without_duplicates,
            parse_constant=_reject_constant,
            parse_float=_parse_float,
            parse_int=_parse_int,
        )
    except json.JSONDecodeError as e:
        raise MalformedRequest(
            f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}"
        ) from None
    except RecursionError:
        raise MalformedRequest(f"JSON nests deeper than {max_depth} levels") from None


def _inspect(value: Any, path: str, depth: int, max_depth: int) -> str | None:
    """Raise ``MalformedRequest`` for nesting beyond ``max_depth`` anywhere; else what makes
    ``value`` unfit for a statement (the first fault in document order), or ``None``."""
    if isinstance(value, _Refused):
        return value.message
    if isinstance(value, str):
        if _SURROGATE.search(value):
            return f"{path} contains a lone surrogate (\\ud800–\\udfff); send valid Unicode text"
        return None
    if not isinstance(value, (dict, list)):
        return None
    if depth >= max_depth:
        raise MalformedRequest(f"JSON nests deeper than {max_depth} levels")
    found: str | None = None
    if isinstance(value, dict):
        for key, item in value.items():
            if found is None and _SURROGATE.search(key):
                found = (
                    f"{path} has a member name with a lone surrogate (\\ud800–\\udfff); send "
                    "valid Unicode text"
                )
            inner = _inspect(item, f"{path}.{key}", depth + 1, max_depth)
            found = found or inner
    else:
        for i, item in enumerate(value):
            inner = _inspect(item, f"{path}[{i}]", depth + 1, max_depth)
            found = found or inner
    return found


def parse_json(data: bytes, *, max_depth: int = MAX_NESTING) -> Any:
    """Parse request bytes as strict JSON for signing (see the module docstring)."""
    value = _decode(data, max_depth)
    refused = _inspect(value, "$", 0, max_depth)
    if refused is not None:
        raise InvalidStatement(refused)
    return value


def parse_json_items(data: bytes, *, max_depth: int = MAX_NESTING) -> list[Any] | None:
    """A JSON array whose items are judged one by one: an item unfit for a statement is
    replaced by its ``InvalidStatement`` (the others are unaffected); ``None`` if the body
    is not an array. Faults of the JSON itself raise ``MalformedRequest`` for the whole."""
    value = _decode(data, max_depth + 1)
    if not isinstance(value, list):
        _inspect(value, "$", 0, max_depth + 1)
        return None
    # Every item is inspected before any answer, so nesting anywhere fails the whole body.
    refusals = [_inspect(item, f"$[{i}]", 1, max_depth + 1) for i, item in enumerate(value)]
    return [
        InvalidStatement(refused) if refused is not None else item
        for item, refused in zip(value, refusals, strict=True)
    ]


def _orjson_exact(value: Any) -> bool:
    """Whether orjson with sorted keys writes exactly RFC 8785 for this value: no floats,
    integers within 64 bits, and ASCII member names (so byte order is UTF-16 order)."""
    if isinstance(value, str) or value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    if isinstance(value, dict):
        return all(
            isinstance(k, str) and k.isascii() and _orjson_exact(v) for k, v in value.items()
        )
    if isinstance(value, list):
        return all(_orjson_exact(v) for v in value)
    return False


def jcs(value: Any) -> bytes:
    """The RFC 8785 canonical bytes of a JSON value.

    ``rfc8785`` is the reference; orjson with sorted keys writes the same bytes for the
    values statements carry (a property test holds the two equal) about fifty times faster.
    """
    if _orjson_exact(value):
        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:
            pass  # lone surrogates and the like: rfc8785 says what is wrong
    try:
        return rfc8785.dumps(value)
    except rfc8785.CanonicalizationError as e:
        raise InvalidStatement(f"value cannot be canonicalised (RFC 8785): {e}") from None


def jcs_string(text: str) -> bytes:
    """JCS of a string that needs no escaping (base64, instants); else the general path."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return b'"' + text.encode("ascii") + b'"'
    return jcs(text)


def envelope_bytes(statement_jcs: bytes, signature: str) -> bytes:
    """JCS of ``{"signature": …, "statement": …}`` from the statement's canonical bytes."""
    return b'{"signature":' + jcs_string(signature) + b',"statement":' + statement_jcs + b"}"


def entry_prefix(recorded_at: str, signature: str) -> bytes:
    """The entry bytes that precede the statement's canonical bytes."""
    return (
        b'{"recorded_at":'
        + jcs_string(recorded_at)
        + b',"signature":'
        + jcs_string(signature)
        + b',"statement":'
    )


def entry_bytes(statement_jcs: bytes, signature: str, recorded_at: str) -> bytes:
    """JCS of ``{"recorded_at", "signature", "statement"}`` (DESIGN §4 entry)."""
    return entry_prefix(recorded_at, signature) + statement_jcs + b"}"


_RECORDED_AT_PREFIX = b'{"recorded_at":"'


def entry_recorded_at(entry: bytes) -> str:
    """An entry's ``recorded_at``, read from its bytes (it is their first member)."""
    if entry.startswith(_RECORDED_AT_PREFIX):
        end = entry.find(b'"', len(_RECORDED_AT_PREFIX))
        if end > 0:
            return entry[len(_RECORDED_AT_PREFIX) : end].decode("ascii", "replace")
    return split_entry(entry).recorded_at


@dataclass(frozen=True)
class EntryParts:
    """An entry's bytes split into its members; ``statement`` is a slice of the bytes."""

    recorded_at: str
    signature: str
    statement: bytes


def split_entry(entry: bytes) -> EntryParts:
    """Find the statement's bytes inside stored entry bytes without re-encoding them.

    Raises ``ValueError`` when the bytes are not an entry laid out as JCS lays it out.
    """
    try:
        obj = json.loads(entry)
    except (ValueError, RecursionError) as e:
        raise ValueError(f"entry is not JSON: {e}") from None
    if not isinstance(obj, dict) or set(obj) != {"recorded_at", "signature", "statement"}:
        raise ValueError("entry must have exactly recorded_at, signature and statement")
    recorded_at, signature = obj["recorded_at"], obj["signature"]
    if not isinstance(recorded_at, str) or not isinstance(signature, str):
        raise ValueError("entry recorded_at and signature must be strings")
    prefix = entry_prefix(recorded_at, signature)
    if not entry.startswith(prefix) or not entry.endswith(b"}"):
        raise ValueError("entry bytes are not in canonical (RFC 8785) member order")
    return EntryParts(recorded_at, signature, entry[len(prefix) : -1])


def statement_body(statement: bytes) -> bytes:
    """The JCS bytes of a canonical statement's ``body``, sliced out without re-encoding.

    In JCS the members run ``actor``, ``body``, ``event_id``, …: the body starts after the
    first ``,"body":`` (the actor is an identifier, without quotes) and ends before the last
    ``,"event_id":"`` (nothing after it can hold that sequence unescaped).
    """
    start = statement.index(b',"body":') + len(b',"body":')
    end = statement.rindex(b',"event_id":"')
    return statement[start:end]
