"""``bundle verify``: re-check a bundle offline, trusting only the vkey given.

Every field of a bundle is signed (the entries, the checkpoint, the head attestations, the
manifest), proven (inclusion proofs), or derived again here and compared (the log's name
and key, the time rules, the claims, the rendering); a field that is none of these is
refused as an ``unknown field``, by each bundle version's own table (``KNOWN_FIELDS``).
In this order, stopping at nothing: the fields; the checkpoint's signature and every other
signature line on it (only witnesses given are accepted); the genesis at index 0 naming the
trusted vkey; every leaf hash from the entry bytes and every inclusion proof; every
signature, every key's validity at its ``occurred_at`` and every rule, by admitting the
entries again; the time rules; every chain and head attestation; the manifest; the claims;
then the rendering derived again from the entries alone and compared with the bundle's.

A bundle is hostile input. ``parse_bundle`` reads a file with a depth limit and refuses
numbers no bundle holds; every check turns a shape it did not expect into a failure line,
never a traceback; and ``printable`` is how any of a bundle's text reaches a person.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeGuard

from evidence.derive import Derived, Failure, admit_all, entry_record, where
from evidence.derive import rendering as rendering_v2
from evidence.v1 import claims as claims_v1
from evidence.v1.first import rendering as rendering_v1_first
from evidence.v1.rendering import rendering as rendering_v1
from ledger.canonical import jcs, split_entry
from ledger.crypto import b64decode_canonical, verify_ed25519
from ledger.entries import leaf_hash
from ledger.errors import LedgerError, MalformedRequest, ProblemError
from ledger.merkle import ProofError, verify_inclusion
from ledger.note import (
    COSIGNATURE_V1_ALGORITHM,
    Checkpoint,
    Note,
    NoteError,
    Verifier,
    open_checkpoint,
    parse_verifier,
    parse_vkey,
    verify_cosignature,
)
from ledger.state import TimeRules
from ledger.storage import LogRecord
from ledger.times import parse_instant
from ledger.transparency import head_message, manifest_message

# How each bundle version's rendering is derived from (the admitted entries, the scope's
# matters, the evaluation instant, the signed scope): every version ever issued keeps its own.
Derivation = Callable[[Derived, list[str], datetime, dict[str, Any]], dict[str, Any]]


def _rendering_v1(
    derived: Derived, matter_ids: list[str], evaluated_at: datetime, scope: dict[str, Any]
) -> dict[str, Any]:
    return rendering_v1(derived, matter_ids, evaluated_at)  # version 1 never read the scope


RENDERINGS: dict[int, Derivation] = {1: _rendering_v1, 2: rendering_v2}
SUPPORTED_VERSIONS = tuple(RENDERINGS)


def _rendering_v1_first_shape(
    derived: Derived, matter_ids: list[str], evaluated_at: datetime, scope: dict[str, Any]
) -> dict[str, Any]:
    return rendering_v1_first(derived, matter_ids, evaluated_at)


# Version 1 was issued in two shapes (``evidence.v1.first``): the first release's rendering
# has no ``people``. Each shape is derived in full and compared; which one a bundle is, it
# says itself.
V1_FIRST_SHAPE: Derivation = _rendering_v1_first_shape


# --- the fields of each version ---------------------------------------------------------

# How each field at the top of a bundle is established (DESIGN §9 v4): nothing is read on
# the bundle's word. ``time_rules``, ``claims`` and ``rendering`` are compared whole with
# what the verifier derives, so their members are exactly those it derives for the version
# (version 1's ``time_rules`` counts hours where version 2's counts seconds; version 1's
# rendering is ``evidence.v1``'s).
ESTABLISHED = {
    "bundle_version": "chooses the rules; a version this verifier does not know is refused",
    "kind": "derived: from the signed scope",
    "scope": "signed: the manifest's",
    "as_of": "checked: with exported_at it gives the rendering's evaluated_at",
    "exported_at": "checked: with as_of it gives the rendering's evaluated_at",
    "exported_by": "checked: a plain version string; unsigned, it proves nothing",
    "log": "derived: the trusted vkey and its name",
    "genesis": "proven: the entry at index 0",
    "checkpoint": "signed: by the log, cosigned only by the witnesses given",
    "tree_size": "signed: the checkpoint's",
    "time_rules": "derived: from the genesis entry",
    "entries": "proven: each by its inclusion proof; signed by their signers",
    "head_attestations": "signed: by the log",
    "manifest": "signed: by the log",
    "claims": "derived: the verifier's own words for the version and kind",
    "rendering": "derived: from the entries at evaluated_at",
}

# Every field each version holds, level by level. Written out per version, never derived
# from another: a version's fields are fixed when it is issued.
KNOWN_FIELDS: dict[int, dict[str, frozenset[str]]] = {
    1: {
        "": frozenset(
            {
                "bundle_version",
                "kind",
                "scope",
                "as_of",
                "exported_at",
                "exported_by",
                "log",
                "genesis",
                "checkpoint",
                "tree_size",
                "time_rules",
                "entries",
                "head_attestations",
                "manifest",
                "claims",
                "rendering",
            }
        ),
        "scope (matter)": frozenset({"matter_id"}),
        "scope (official)": frozenset({"official_id", "from", "to", "matters"}),
        "log": frozenset({"origin", "vkey"}),
        "genesis": frozenset({"index", "entry"}),
        "entries[]": frozenset({"index", "entry", "inclusion_proof"}),
        "head_attestations[]": frozenset(
            {"origin", "subject", "seq", "envelope_hash", "tree_size", "signature"}
        ),
        "manifest": frozenset({"origin", "tree_size", "scope", "subjects", "signature"}),
        "manifest.subjects.*": frozenset({"seq", "envelope_hash"}),
        "claims": frozenset({"vi", "en"}),
    },
    2: {
        "": frozenset(
            {
                "bundle_version",
                "kind",
                "scope",
                "as_of",
                "exported_at",
                "exported_by",
                "log",
                "genesis",
                "checkpoint",
                "tree_size",
                "time_rules",
                "entries",
                "head_attestations",
                "manifest",
                "claims",
                "rendering",
            }
        ),
        "scope (matter)": frozenset({"matter_id"}),
        "scope (official)": frozenset({"official_id", "from", "to", "matters"}),
        "log": frozenset({"origin", "vkey"}),
        "genesis": frozenset({"index", "entry"}),
        "entries[]": frozenset({"index", "entry", "inclusion_proof"}),
        "head_attestations[]": frozenset(
            {"origin", "subject", "seq", "envelope_hash", "tree_size", "signature"}
        ),
        "manifest": frozenset({"origin", "tree_size", "scope", "subjects", "signature"}),
        "manifest.subjects.*": frozenset({"seq", "envelope_hash"}),
        "claims": frozenset({"vi", "en"}),
    },
}

# What ``exported_by`` may say: the exporter writes ``accountability-ledger <version>`` with
# a PEP 440 version, and nothing else (no free text reaches a page through it).
EXPORTED_BY = re.compile(
    r"accountability-ledger [0-9]{1,4}(\.[0-9]{1,4}){1,3}((a|b|rc)[0-9]{1,4})?"
    r"(\.post[0-9]{1,4})?(\.dev[0-9]{1,4})?(\+[a-z0-9]{1,16}(\.[a-z0-9]{1,16}){0,4})?\Z"
)


def claims_for(version: int, kind: str) -> dict[str, list[str]]:
    """What a bundle of ``version`` and ``kind`` proves, in the verifier's words (the
    bundle's own ``claims`` are compared with these, never read)."""
    if version == 1:
        return claims_v1.CLAIMS_MATTER if kind == "matter" else claims_v1.CLAIMS_OFFICIAL
    # Today's version: the exporter's words. When a version 3 comes, freeze these beside
    # version 2's derivation, as version 1's were (``evidence.v1.claims``).
    from evidence.bundle import CLAIMS_MATTER, CLAIMS_OFFICIAL  # evidence.bundle imports us

    return CLAIMS_MATTER if kind == "matter" else CLAIMS_OFFICIAL


def scope_kind(scope: Any) -> str | None:
    """``matter`` or ``official`` as the (signed) scope says, ``None`` for no scope."""
    if not isinstance(scope, dict):
        return None
    return "matter" if "matter_id" in scope else "official"


# --- reading a bundle file ---------------------------------------------------------------

MAX_DEPTH = 64  # a bundle nests about ten levels deep
MAX_SAFE_INTEGER = 2**53 - 1
_SURROGATE = re.compile("[\ud800-\udfff]")
YEARS = (2000, 2099)  # DESIGN §3 v4: every instant lies in these years (UTC)


def _duplicate_names_refused(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            # Two readers could see two bundles: one that keeps the first, one the last.
            raise MalformedRequest(f"member name {_short(key)!r} appears twice in one object")
        obj[key] = value
    return obj


def _constant_refused(name: str) -> Any:
    raise MalformedRequest(f"{name} is not a number a bundle holds")


def _integer(token: str) -> int:
    if len(token.lstrip("-")) > 16 or abs(value := int(token)) > MAX_SAFE_INTEGER:
        raise MalformedRequest(f"integer {_short(token, 24)} is outside ±(2^53−1)")
    return value


def _float(token: str) -> float:
    value = float(token) if len(token) <= 32 else math.inf
    if not math.isfinite(value):
        raise MalformedRequest(f"number {_short(token, 24)} is not a finite number a bundle holds")
    return value


def parse_bundle(data: bytes) -> Any:
    """A bundle file's JSON, read as hostile input; ``MalformedRequest`` says what is wrong.

    Refused: bytes that are not UTF-8, a byte order mark, a syntax error, a member name
    given twice, NaN and Infinity, numbers no bundle holds (an integer beyond ±(2^53−1)
    such as ``10**400``, a float that is not finite such as ``1e400``), lone surrogates, and
    nesting deeper than ``MAX_DEPTH``. (orjson refuses nesting beyond 1024, but it keeps the
    last of two equal names silently and reads integers beyond 64 bits as floats: hence the
    standard parser with hooks. Nesting deep enough to exhaust its recursion stops it with
    ``RecursionError``; anything shallower stops at the walk below.)
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise MalformedRequest(f"not UTF-8 (byte {e.start})") from None
    if text.startswith("\ufeff"):
        raise MalformedRequest("starts with a byte order mark")
    try:
        value = json.loads(
            text,
            object_pairs_hook=_duplicate_names_refused,
            parse_constant=_constant_refused,
            parse_int=_integer,
            parse_float=_float,
        )
    except json.JSONDecodeError as e:
        raise MalformedRequest(f"not JSON (line {e.lineno} column {e.colno}: {e.msg})") from None
    except RecursionError:
        raise MalformedRequest(f"nests deeper than {MAX_DEPTH} levels") from None
    _walk(value)
    return value


def _walk(value: Any) -> None:
    """Nesting and lone surrogates, without recursion (the value may be deep)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise MalformedRequest("a string holds a lone surrogate (not Unicode text)")
        elif isinstance(item, (dict, list)):
            if depth >= MAX_DEPTH:
                raise MalformedRequest(f"nests deeper than {MAX_DEPTH} levels")
            if isinstance(item, dict):
                stack.extend((key, depth) for key in item)
                stack.extend((inner, depth + 1) for inner in item.values())
            else:
                stack.extend((inner, depth + 1) for inner in item)


# --- text a person sees ------------------------------------------------------------------

# Control characters (C0, DEL, C1), format controls (bidirectional and invisible ones:
# U+061C, U+200B–U+200F, U+202A–U+202E, U+2060–U+2069, U+FEFF, …), surrogates, and line and
# paragraph separators: none reaches a terminal or a page as itself (DESIGN §3).
_ESCAPED = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _escape(ch: str) -> str:
    n = ord(ch)
    if n <= 0xFF:
        return f"\\x{n:02X}"
    return f"\\u{n:04X}" if n <= 0xFFFF else f"\\U{n:08X}"


def printable(text: str, *, keep: str = "") -> str:
    """``text`` with every control and format character shown as an escape (``\\x1B``,
    ``\\u202E``), so that no bundle can move a cursor, recolour a verdict or reorder a
    name; ``keep`` names characters left as they are (a page keeps line breaks and tabs).
    The one function by which the command line and the page show a bundle's text."""
    if text.isascii() and text.isprintable():
        return text
    return "".join(
        _escape(ch) if ch not in keep and unicodedata.category(ch) in _ESCAPED else ch
        for ch in text
    )


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def _text(value: Any, limit: int = 120) -> str:
    """A string of a bundle as it is (cut short), anything else as JSON."""
    return _short(value, limit) if isinstance(value, str) else shown(value, limit)


def shown(value: Any, limit: int = 200) -> str:
    """A value of a bundle as a failure quotes it: JSON, cut short when long."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        text = repr(type(value))
    return _short(text, limit)


# --- the report ---------------------------------------------------------------------------


@dataclass
class Report:
    """What ``bundle verify`` found."""

    failures: list[Failure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failures

    def fail(self, check: str, where_: str, detail: str) -> None:
        self.failures.append(Failure(check, where_, detail))


# What a check may meet in a hostile bundle that no earlier check ruled out: each becomes a
# failure line. Anything else is a bug in this verifier, and is left to show as one.
EXPECTED = (AttributeError, LookupError, TypeError, ValueError, OverflowError, LedgerError)

TRUSTING_EMBEDDED_KEY = (
    "NO --vkey GIVEN: trusting the log key written inside the bundle itself. Anyone "
    "can write a bundle with a key of their own; obtain the log's vkey from a source "
    "you trust and verify again with --vkey."
)


def verify_bundle(bundle: Any, vkey: str | None, witnesses: Sequence[str] = ()) -> Report:
    """Every check of a bundle; ``vkey`` is the one trusted (``None``: the bundle's own, with
    a warning); ``witnesses`` are the cosignature/v1 vkeys whose lines the checkpoint may
    carry beside the log's (any other line is refused)."""
    report = Report()
    try:
        return _verify(bundle, vkey, witnesses, report)
    except EXPECTED as e:
        report.fail("format", "bundle", f"malformed ({type(e).__name__}: {_short(str(e))})")
        return report


def verify_bundle_file(
    data: bytes, vkey: str | None, witnesses: Sequence[str] = ()
) -> tuple[Any, Report]:
    """``parse_bundle`` then ``verify_bundle``: the bundle (``None`` if unreadable) and the
    report, where a file that is no JSON bundle is one ``format`` failure."""
    try:
        bundle = parse_bundle(data)
    except MalformedRequest as e:
        report = Report()
        report.fail("format", "bundle", f"not a readable JSON bundle: {e.detail}")
        return None, report
    return bundle, verify_bundle(bundle, vkey, witnesses)


def _verify(bundle: Any, vkey: str | None, witnesses: Sequence[str], report: Report) -> Report:
    if not isinstance(bundle, dict):
        report.fail("format", "bundle", f"a JSON {_json_type(bundle)}, not a bundle (an object)")
        return report
    version = bundle.get("bundle_version")
    if not _is_int(version) or version not in RENDERINGS:
        report.fail(
            "format",
            "bundle_version",
            f"{shown(version)} is not a bundle version this verifier reads ({SUPPORTED_VERSIONS})",
        )
        return report
    trusted = vkey
    if trusted is None:
        log = bundle.get("log")
        embedded = log.get("vkey") if isinstance(log, dict) else None
        trusted = embedded if isinstance(embedded, str) else ""
        report.warnings.append(TRUSTING_EMBEDDED_KEY)
    _fields(bundle, version, report)
    scope = _scope(bundle, report)
    _stated(bundle, trusted, report)
    checkpoint = _checkpoint(bundle, trusted, _witnesses(witnesses, report), report)
    entries, proofs, records, labels = _entries(bundle, report)
    _genesis(bundle, entries, trusted, report)
    if checkpoint is not None:
        _inclusion(entries, proofs, labels, checkpoint, report)
    # Only entries that read as entries are admitted (the others failed above).
    derived = admit_all((i, entries[i]) for i in sorted(records))
    report.failures.extend(derived.failures)
    _time_rules(bundle, derived.time_rules, report)
    report.checked["signatures, keys and rules"] = derived.admitted
    _chains_and_heads(bundle, derived.subjects, checkpoint, trusted, report)
    _manifest(bundle, derived.subjects, checkpoint, trusted, report)
    _claims(bundle, version, scope, report)
    _rendering(bundle, version, derived, scope, report)
    return report


def _json_type(value: object) -> str:
    kinds: dict[type, str] = {dict: "object", list: "array", str: "string", bool: "boolean"}
    kinds.update({int: "number", float: "number"})
    return "null" if value is None else kinds.get(type(value), type(value).__name__)


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_index(value: object) -> TypeGuard[int]:
    return _is_int(value) and 0 <= value <= MAX_SAFE_INTEGER


# --- fields --------------------------------------------------------------------------------

_LISTED = 20  # unknown fields named one by one in an object; the rest are counted


def _unknown(value: Any, known: frozenset[str], path: str, version: int, report: Report) -> None:
    if not isinstance(value, dict):
        return  # its type is judged where it is read
    extra = sorted(set(value) - known)
    for name in extra[:_LISTED]:
        report.fail(
            "format",
            f"unknown field {path + '.' if path else ''}{_short(name)}",
            f"a version-{version} bundle has no such field; a field that is neither signed, "
            "proven nor derived again is refused, never ignored",
        )
    if len(extra) > _LISTED:
        report.fail(
            "format",
            f"unknown field {path or 'bundle'}",
            f"and {len(extra) - _LISTED} more unknown fields",
        )


def _fields(bundle: dict[str, Any], version: int, report: Report) -> None:
    """Every level of the document against the version's table of known fields."""
    known = KNOWN_FIELDS[version]
    _unknown(bundle, known[""], "", version, report)
    for name in ("log", "genesis", "manifest", "claims"):
        _unknown(bundle.get(name), known[name], name, version, report)
    scopes = [("scope", bundle.get("scope"))]
    manifest = bundle.get("manifest")
    if isinstance(manifest, dict):
        scopes.append(("manifest.scope", manifest.get("scope")))
        subjects = manifest.get("subjects")
        if isinstance(subjects, dict):
            for subject, head in subjects.items():
                path = f"manifest.subjects.{_short(subject)}"
                _unknown(head, known["manifest.subjects.*"], path, version, report)
    for path, scope in scopes:
        table = known[f"scope ({scope_kind(scope)})"] if isinstance(scope, dict) else frozenset()
        _unknown(scope, table, path, version, report)
    for name in ("entries", "head_attestations"):
        items = bundle.get(name)
        if isinstance(items, list):
            for n, item in enumerate(items):
                _unknown(item, known[f"{name}[]"], f"{name}[{n}]", version, report)


def _instant(value: Any, path: str, check: str, report: Report) -> datetime | None:
    """An instant of DESIGN §3 within its years, else a failure (and ``None``)."""
    try:
        if not isinstance(value, str):
            raise ValueError("is not an instant (a string)")
        moment = parse_instant(value)
        try:
            year = moment.astimezone(UTC).year
        except OverflowError:
            year = moment.year  # year 1 at +07:00 lies before any date Python can hold
        if not YEARS[0] <= year <= YEARS[1]:
            raise ValueError(f"lies in year {year}, outside {YEARS[0]}–{YEARS[1]}")
    except ValueError as e:
        report.fail(check, path, f"{shown(value, 60)} {e}")
        return None
    return moment


def _scope(bundle: dict[str, Any], report: Report) -> dict[str, Any] | None:
    """The scope, if its shape is one the rendering can be derived for (it is signed: the
    manifest's signature covers it)."""
    scope = bundle.get("scope")
    ok = isinstance(scope, dict)
    if isinstance(scope, dict) and scope_kind(scope) == "matter":
        ok = isinstance(scope.get("matter_id"), str)
    elif isinstance(scope, dict):
        matters = scope.get("matters")
        ok = (
            isinstance(scope.get("official_id"), str)
            and isinstance(matters, list)
            and all(isinstance(m, str) for m in matters)
        )
        for name in ("from", "to"):
            if (
                scope.get(name) is not None
                and _instant(scope[name], f"scope.{name}", "format", report) is None
            ):
                ok = False
    if not ok:
        report.fail("format", "scope", f"{shown(scope)} is not a matter's or an official's scope")
        return None
    assert isinstance(scope, dict)
    kind = bundle.get("kind")
    if kind != scope_kind(scope):
        report.fail(
            "format",
            "kind",
            f"the bundle says {shown(kind)} but its scope is "
            + ("a matter's" if scope_kind(scope) == "matter" else "an official's"),
        )
    return scope


def _stated(bundle: dict[str, Any], trusted: str, report: Report) -> None:
    """What the exporter states unsigned: checked against what is known, never believed."""
    exported_by = bundle.get("exported_by")
    if not isinstance(exported_by, str) or not EXPORTED_BY.match(exported_by):
        report.fail(
            "format",
            "exported_by",
            f"{shown(exported_by, 80)} is not what an exporter writes "
            "('accountability-ledger <version>')",
        )
    if bundle.get("as_of") is not None:
        _instant(bundle["as_of"], "as_of", "format", report)
    _instant(bundle.get("exported_at"), "exported_at", "format", report)
    log = bundle.get("log")
    if not isinstance(log, dict):
        report.fail("format", "log", f"{shown(log, 80)} is not the log's origin and vkey")
        return
    try:
        origin, _ = parse_vkey(trusted)
    except ValueError:
        return  # no trusted key to compare with: the checkpoint fails for it
    if log.get("origin") != origin:
        report.fail(
            "log",
            "log.origin",
            f"the bundle says {shown(log.get('origin'), 120)} but the trusted key is {origin!r}'s",
        )
    if log.get("vkey") != trusted:
        report.fail(
            "log",
            "log.vkey",
            f"the bundle says {shown(log.get('vkey'), 120)} but the key trusted is {trusted}",
        )


# --- the checkpoint and its signature lines --------------------------------------------------


def _witnesses(vkeys: Sequence[str], report: Report) -> list[Verifier]:
    out = []
    for vkey in vkeys:
        try:
            witness = parse_verifier(vkey)
        except ValueError as e:
            report.fail("witness", _short(vkey), f"not a witness vkey: {e}")
            continue
        if witness.algorithm != COSIGNATURE_V1_ALGORITHM:
            report.fail("witness", witness.name, "not a cosignature/v1 key (type 0x04)")
            continue
        out.append(witness)
    return out


def _checkpoint(
    bundle: dict[str, Any], vkey: str, witnesses: list[Verifier], report: Report
) -> Checkpoint | None:
    note_text = bundle.get("checkpoint")
    if not isinstance(note_text, str):
        report.fail("format", "checkpoint", f"{shown(note_text, 80)} is not a signed note")
        return None
    try:
        log = parse_verifier(vkey)
        checkpoint, note = open_checkpoint(note_text, log)
    except (NoteError, ValueError) as e:
        trusted = _short(vkey, 200)
        report.fail("checkpoint", "checkpoint", f"not signed by the trusted log key {trusted}: {e}")
        return None
    size = bundle.get("tree_size")
    if not _is_int(size) or size != checkpoint.size:
        report.fail(
            "checkpoint",
            "tree_size",
            f"the bundle says {shown(size, 40)} but the checkpoint is of size {checkpoint.size}",
        )
    report.checked["checkpoint"] = 1
    _signature_lines(note, log, witnesses, report)
    return checkpoint


def _signature_lines(note: Note, log: Verifier, witnesses: list[Verifier], report: Report) -> None:
    """The log's line (already verified) and one valid cosignature per witness given: any
    other line is refused, since a line nobody checked would still look like a witness."""
    seen: set[tuple[str, bytes]] = set()
    cosigned = 0
    for n, line in enumerate(note.signatures, start=1):
        key = (line.name, line.key_hash)
        by = f"by {_short(line.name)} (key hash {line.key_hash.hex()})"
        if key in seen:
            report.fail("checkpoint", "checkpoint", f"signature line {n} {by} repeats a key")
            continue
        seen.add(key)
        if key == (log.name, log.key_hash):
            continue
        witness = next((w for w in witnesses if (w.name, w.key_hash) == key), None)
        if witness is None:
            report.fail(
                "checkpoint",
                "checkpoint",
                f"signature line {n} {by} is from neither the log's key nor a witness given "
                "with --witness: refused",
            )
            continue
        try:
            verify_cosignature(note.text, line, witness)
        except NoteError as e:
            report.fail("witness", witness.name, str(e))
            continue
        cosigned += 1
    for witness in witnesses:
        if (witness.name, witness.key_hash) not in seen:
            report.fail("witness", witness.name, "the checkpoint carries no cosignature by it")
    if witnesses:
        report.checked["witness cosignatures"] = cosigned


# --- entries ---------------------------------------------------------------------------------


def _entries(
    bundle: dict[str, Any], report: Report
) -> tuple[dict[int, bytes], dict[int, list[str]], dict[int, LogRecord], dict[int, str]]:
    """The entry bytes by index, their proofs, the records of those that are entries a log
    could have written (only these are admitted), and a label for each that reads as one."""
    entries: dict[int, bytes] = {}
    proofs: dict[int, list[str]] = {}
    records: dict[int, LogRecord] = {}
    labels: dict[int, str] = {}
    items = bundle.get("entries")
    if not isinstance(items, list):
        report.fail("format", "entries", f"a JSON {_json_type(items)}, not a list of entries")
        items = []
    for n, item in enumerate(items):
        index = item.get("index") if isinstance(item, dict) else None
        if not isinstance(item, dict) or not _is_index(index):
            report.fail(
                "format",
                f"entries[{n}]",
                f"index {shown(index, 40)} is not an index (an integer 0 … 2^53−1)",
            )
            continue
        if index in entries:
            report.fail("format", f"entries[{n}]", f"index {index} appears twice")
            continue
        try:
            if not isinstance(item.get("entry"), str):
                raise ValueError("no entry (base64 of its bytes)")
            data = base64.b64decode(item["entry"], validate=True)
        except (ValueError, binascii.Error) as e:
            report.fail("format", f"entries[{n}]", f"unreadable: {_short(str(e))}")
            continue
        entries[index] = data
        proof = item.get("inclusion_proof")
        if isinstance(proof, list) and all(isinstance(h, str) for h in proof):
            proofs[index] = proof
        try:
            record = entry_record(index, data)
        except (ValueError, TypeError, OverflowError, AttributeError, LookupError) as e:
            report.fail("entry", f"index {index}", f"not a valid entry: {_short(str(e))}")
            continue
        # An instant no log can have written (year 9999) is refused before any rule does
        # arithmetic with it; a valid one is judged by the rules.
        labels[index] = where(record)
        if _instant(record.recorded_at, labels[index], "entry", report) is not None:
            records[index] = record
    if not entries:
        report.fail("format", "entries", "the bundle holds no entries")
    return entries, proofs, records, labels


def _genesis(bundle: dict[str, Any], entries: dict[int, bytes], vkey: str, report: Report) -> None:
    genesis = entries.get(0)
    if genesis is None:
        report.fail("genesis", "index 0", "the bundle has no entry at index 0 (the genesis)")
        return
    field_ = bundle.get("genesis")
    given: bytes | None = None
    if isinstance(field_, dict) and isinstance(field_.get("entry"), str):
        try:
            given = base64.b64decode(field_["entry"], validate=True)
        except (ValueError, binascii.Error):
            given = None
    index = field_.get("index") if isinstance(field_, dict) else None
    if given != genesis or not _is_int(index) or index != 0:
        report.fail("genesis", "genesis", "the genesis field is not the entry at index 0")
    try:
        statement = json.loads(split_entry(genesis).statement)
        kind = statement.get("type")
        body = statement.get("body")
    except (ValueError, AttributeError) as e:
        report.fail("genesis", "index 0", f"not an entry: {_short(str(e))}")
        return
    named = body.get("log_vkey") if isinstance(body, dict) else None
    if kind != "ledger.genesis":
        report.fail("genesis", "index 0", f"is a {_text(kind)}, not ledger.genesis")
    elif named != vkey:
        report.fail(
            "genesis",
            "index 0",
            f"the genesis names log key {_text(named)}, not the trusted {_short(vkey, 200)}",
        )


def _inclusion(
    entries: dict[int, bytes],
    proofs: dict[int, list[str]],
    labels: dict[int, str],
    checkpoint: Checkpoint,
    report: Report,
) -> None:
    count = 0
    for index, entry in sorted(entries.items()):
        label = labels.get(index, f"index {index}")
        hashes = proofs.get(index)
        if hashes is None:
            report.fail("inclusion", label, "no inclusion proof")
            continue
        try:
            verify_inclusion(
                leaf_hash(entry),
                index,
                checkpoint.size,
                [bytes.fromhex(h) for h in hashes],
                checkpoint.root,
            )
        except (ProofError, ValueError) as e:
            report.fail(
                "inclusion",
                label,
                f"the entry bytes (leaf hash {leaf_hash(entry).hex()}) are not in the tree of size "
                f"{checkpoint.size}: {_short(str(e))}",
            )
            continue
        count += 1
    report.checked["inclusion proofs"] = count


def _time_rules(bundle: dict[str, Any], rules: TimeRules, report: Report) -> None:
    """The bundle's ``time_rules`` field must repeat the genesis's windows: the entries
    were judged by the genesis alone, and a field nobody signed is never read."""
    expected = time_rules_json(rules, int(bundle["bundle_version"]))
    given = bundle.get("time_rules")
    if given != expected:
        report.fail(
            "time_rules",
            "time_rules",
            f"the bundle says {shown(given)} but the genesis entry gives "
            f"{json.dumps(expected)}; the windows are the genesis's alone",
        )


def time_rules_json(rules: TimeRules, bundle_version: int) -> dict[str, int]:
    """The ``time_rules`` field as each bundle version writes it."""
    if bundle_version == 1:
        return {
            "future_skew_seconds": int(rules.future_skew.total_seconds()),
            "out_of_order_seconds": int(rules.out_of_order.total_seconds()),
            "recorded_late_hours": int(rules.recorded_late.total_seconds() // 3600),
        }
    return rules.as_json()


# --- heads and the manifest ------------------------------------------------------------------


def _chains_and_heads(
    bundle: dict[str, Any],
    heads: dict[str, tuple[int, str]],
    checkpoint: Checkpoint | None,
    vkey: str,
    report: Report,
) -> None:
    """Each subject's last statement in the bundle is the one the log attested."""
    try:
        origin, public_key = parse_vkey(vkey)
    except ValueError:
        return
    attested: set[str] = set()
    items = bundle.get("head_attestations")
    for n, att in enumerate(items if isinstance(items, list) else []):
        subject = att.get("subject") if isinstance(att, dict) else None
        label = f"head_attestations[{n}] ({_short(subject) if isinstance(subject, str) else '?'})"
        head = _attestation(att, origin, public_key)
        if head is None:
            report.fail(
                "attestation", label, "not a head attestation signed by the trusted log key"
            )
            continue
        subject, seq, envelope_hash, size = head
        if checkpoint is not None and size != checkpoint.size:
            report.fail("attestation", label, f"made at tree size {size}, not the checkpoint's")
        attested.add(subject)
        last = heads.get(subject)
        if last is None or last != (seq, envelope_hash):
            report.fail(
                "chain",
                subject,
                f"the log attests seq {seq} ({envelope_hash[:16]}…) as the last statement at "
                f"tree size {size}, but the bundle's chain ends at "
                + ("nothing" if last is None else f"seq {last[0]} ({last[1][:16]}…)")
                + ": statements are missing",
            )
    for subject in sorted(set(heads) - attested):
        report.fail("attestation", subject, "no head attestation for this subject")
    report.checked["head attestations"] = len(attested)


def _attestation(att: Any, origin: str, public_key: bytes) -> tuple[str, int, str, int] | None:
    """The subject, seq, envelope hash and tree size a head attestation signed by the log
    states; ``None`` if it is not one."""
    if not isinstance(att, dict) or att.get("origin") != origin:
        return None
    subject, seq = att.get("subject"), att.get("seq")
    envelope_hash, size = att.get("envelope_hash"), att.get("tree_size")
    if not (
        isinstance(subject, str)
        and isinstance(envelope_hash, str)
        and _is_index(seq)
        and _is_index(size)
    ):
        return None
    try:
        message = head_message(origin, subject, seq, envelope_hash, size)
        verify_ed25519(public_key, message, b64decode_canonical(str(att.get("signature"))))
    except (ValueError, ProblemError):
        return None
    return subject, seq, envelope_hash, size


def _manifest(
    bundle: dict[str, Any],
    heads: dict[str, tuple[int, str]],
    checkpoint: Checkpoint | None,
    vkey: str,
    report: Report,
) -> None:
    """The log's signed list of every subject the bundle must hold: none may be missing."""
    manifest = bundle.get("manifest")
    if not isinstance(manifest, dict):
        report.fail("manifest", "manifest", "missing: the bundle's completeness is unproven")
        return
    try:
        origin, public_key = parse_vkey(vkey)
        signature = b64decode_canonical(str(manifest.get("signature")))
        verify_ed25519(public_key, manifest_message(manifest), signature)
    except (ValueError, TypeError, ProblemError):
        report.fail("manifest", "manifest", "not signed by the trusted log key")
        return
    if manifest.get("origin") != origin:
        report.fail("manifest", "manifest.origin", f"is not the trusted log's {origin!r}")
    if checkpoint is not None and manifest.get("tree_size") != checkpoint.size:
        report.fail("manifest", "manifest.tree_size", "is not the checkpoint's size")
    if manifest.get("scope") != bundle.get("scope"):
        report.fail("manifest", "scope", "differs from the scope the log signed")
    listed = manifest.get("subjects")
    if not isinstance(listed, dict):
        report.fail("manifest", "manifest.subjects", "missing")
        return
    for subject in sorted(set(listed) - set(heads)):
        report.fail(
            "manifest",
            _short(subject),
            "the log lists this subject at the checkpoint but the bundle holds none of its "
            "statements: entries were removed",
        )
    for subject in sorted(set(heads) - set(listed)):
        report.fail("manifest", subject, "in the bundle but not in the log's signed manifest")
    for subject in sorted(set(heads) & set(listed)):
        head = listed[subject]
        if (
            not isinstance(head, dict)
            or (head.get("seq"), head.get("envelope_hash")) != heads[subject]
        ):
            report.fail("manifest", subject, "its last statement is not the one the log listed")
    report.checked["manifest subjects"] = len(listed)


# --- what is derived: claims and the rendering ----------------------------------------------


def _claims(
    bundle: dict[str, Any], version: int, scope: dict[str, Any] | None, report: Report
) -> None:
    """The claims are the verifier's words for the version and the (signed) kind: a bundle
    that says it proves more, or other, than that is refused."""
    if scope is None:
        return  # the kind is unknown: the scope failed already
    kind = scope_kind(scope)
    assert kind is not None
    expected = claims_for(version, kind)
    given = bundle.get("claims")
    for path, want, got in _differences("claims", expected, given):
        if path.startswith("unknown field "):
            continue  # named by the fields' check
        report.fail(
            "claims",
            path,
            f"the bundle says {shown(got)} but a version-{version} {kind}'s bundle claims "
            f"{shown(want)}: what a bundle proves is stated by the verifier, never read",
        )


def _rendering(
    bundle: dict[str, Any],
    version: int,
    derived: Derived,
    scope: dict[str, Any] | None,
    report: Report,
) -> None:
    given = bundle.get("rendering")
    if not isinstance(given, dict):
        report.fail("rendering", "rendering", "missing")
        return
    evaluated_at = _instant(
        given.get("evaluated_at"), "rendering.evaluated_at", "rendering", report
    )
    if evaluated_at is None or scope is None:
        report.fail("rendering", "rendering", "not derived again: its inputs failed above")
        return
    _evaluated_at_stated(bundle, evaluated_at, report)
    matters = given.get("matters")
    expected_ids = [scope["matter_id"]] if scope_kind(scope) == "matter" else list(scope["matters"])
    if not isinstance(matters, dict) or sorted(matters) != sorted(expected_ids):
        report.fail(
            "rendering",
            "rendering.matters",
            f"{shown(list(matters) if isinstance(matters, dict) else matters)} is not the "
            f"scope's {shown(expected_ids)}",
        )
    derive = RENDERINGS[version]
    if version == 1 and "people" not in given:
        derive = V1_FIRST_SHAPE
    # The scope is signed (the manifest's), so an official's summary may be derived from it.
    again = json.loads(jcs(derive(derived, expected_ids, evaluated_at, dict(scope))))
    for path, want, got in _differences("rendering", again, given):
        if path.startswith("unknown field "):
            report.fail(
                "format",
                path,
                f"version {version}'s rendering derives no such field; the bundle says "
                f"{shown(got)}",
            )
            continue
        report.fail(
            "rendering", path, f"the bundle says {shown(got)} but its entries give {shown(want)}"
        )
    report.checked["rendering values"] = _count(again)


def _evaluated_at_stated(bundle: dict[str, Any], evaluated_at: datetime, report: Report) -> None:
    """The rendering is judged at ``as_of`` if given and earlier than ``exported_at``, else at
    ``exported_at``, as the exporter writes it: three unsigned instants that must agree."""
    try:
        exported_at = parse_instant(str(bundle.get("exported_at")))
        as_of = bundle.get("as_of")
        expected = exported_at if as_of is None else min(parse_instant(str(as_of)), exported_at)
    except ValueError:
        return  # failed as a field already
    if evaluated_at != expected:
        report.fail(
            "rendering",
            "rendering.evaluated_at",
            f"is not the instant as_of and exported_at give ({expected.isoformat()})",
        )


def _differences(path: str, want: Any, got: Any) -> list[tuple[str, Any, Any]]:
    """Where ``got`` differs from ``want``; a member ``want`` has not is an unknown field
    (its path starts ``unknown field``)."""
    if isinstance(want, dict) and isinstance(got, dict):
        out: list[tuple[str, Any, Any]] = []
        for key in sorted(set(want) | set(got)):
            inner = f"{path}.{_short(key)}"
            if key not in want:
                out.append((f"unknown field {inner}", None, got[key]))
                continue
            out += _differences(inner, want[key], got.get(key))
        return out
    if isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        out = []
        for n, (w, g) in enumerate(zip(want, got, strict=True)):
            out += _differences(f"{path}[{n}]", w, g)
        return out
    return [] if _same(want, got) else [(path, want, got)]


def _same(want: Any, got: Any) -> bool:
    """Equal as JSON values: ``True`` is not ``1``, nor ``1.0`` a different number from ``1``
    (JCS writes them alike)."""
    if isinstance(want, bool) or isinstance(got, bool):
        return type(want) is type(got) and want == got
    return bool(want == got)


def _count(value: Any) -> int:
    if isinstance(value, dict):
        return sum(_count(v) for v in value.values())
    if isinstance(value, list):
        return sum(_count(v) for v in value)
    return 1
