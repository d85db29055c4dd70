"""``bundle verify``: re-check a bundle offline, trusting only the vkey given.

In this order, stopping at nothing: the checkpoint's signature; the genesis at index 0
naming that vkey; every leaf hash from the entry bytes and every inclusion proof against
the checkpoint; every signature, every key's validity at its ``occurred_at`` and every rule,
by admitting the entries again; every chain and each head attestation; then the rendering
(custody, decisions and their competence findings, consultations, the calendar) derived
again from the entries alone and compared with what the bundle says.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from evidence.derive import Derived, Failure, admit_all, entry_record, where
from evidence.derive import rendering as rendering_v2
from evidence.v1.first import rendering as rendering_v1_first
from evidence.v1.rendering import rendering as rendering_v1
from ledger.canonical import jcs, split_entry
from ledger.crypto import b64decode_canonical, verify_ed25519
from ledger.entries import leaf_hash
from ledger.errors import ProblemError
from ledger.merkle import ProofError, verify_inclusion
from ledger.note import Checkpoint, NoteError, open_checkpoint, parse_verifier, parse_vkey
from ledger.state import TimeRules
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


def verify_bundle(bundle: Any, vkey: str | None) -> Report:
    """Every check of a bundle; ``vkey`` is the one trusted (``None``: the bundle's own)."""
    report = Report()
    try:
        return _verify(bundle, vkey, report)
    except (AttributeError, KeyError, TypeError, ValueError) as e:
        # A bundle is hostile input: a shape no check expected is a failure, never a crash.
        report.fail("format", "bundle", f"malformed ({type(e).__name__}: {e})")
        return report


def _verify(bundle: Any, vkey: str | None, report: Report) -> Report:
    if not isinstance(bundle, dict) or bundle.get("bundle_version") not in SUPPORTED_VERSIONS:
        version = bundle.get("bundle_version") if isinstance(bundle, dict) else None
        report.fail(
            "format",
            "bundle_version",
            f"{version!r} is not a bundle version this verifier reads ({SUPPORTED_VERSIONS})",
        )
        return report
    trusted = vkey
    if trusted is None:
        trusted = str(bundle.get("log", {}).get("vkey", ""))
        report.warnings.append(
            "NO --vkey GIVEN: trusting the log key written inside the bundle itself. Anyone "
            "can write a bundle with a key of their own; obtain the log's vkey from a source "
            "you trust and verify again with --vkey."
        )
    checkpoint = _checkpoint(bundle, trusted, report)
    entries = _entries(bundle, report)
    _genesis(bundle, entries, trusted, report)
    if checkpoint is not None:
        _inclusion(bundle, entries, checkpoint, report)
    derived = admit_all(sorted(entries.items()))
    report.failures.extend(derived.failures)
    _time_rules(bundle, derived.time_rules, report)
    report.checked["signatures, keys and rules"] = derived.admitted
    _chains_and_heads(bundle, entries, derived.subjects, checkpoint, trusted, report)
    _manifest(bundle, derived.subjects, checkpoint, trusted, report)
    _rendering(bundle, derived, report)
    return report


def _checkpoint(bundle: dict[str, Any], vkey: str, report: Report) -> Checkpoint | None:
    try:
        verifier = parse_verifier(vkey)
        checkpoint, _ = open_checkpoint(str(bundle.get("checkpoint", "")), verifier)
    except (NoteError, ValueError) as e:
        report.fail("checkpoint", "checkpoint", f"not signed by the trusted log key {vkey}: {e}")
        return None
    if checkpoint.size != bundle.get("tree_size"):
        report.fail(
            "checkpoint",
            "tree_size",
            f"the bundle says {bundle.get('tree_size')} but the checkpoint is of size "
            f"{checkpoint.size}",
        )
    report.checked["checkpoint"] = 1
    return checkpoint


def _entries(bundle: dict[str, Any], report: Report) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    for n, item in enumerate(bundle.get("entries") or []):
        try:
            index = int(item["index"])
            out[index] = base64.b64decode(item["entry"], validate=True)
        except (KeyError, TypeError, ValueError, binascii.Error) as e:
            report.fail("format", f"entries[{n}]", f"unreadable: {e}")
    if not out:
        report.fail("format", "entries", "the bundle holds no entries")
    return out


def _genesis(bundle: dict[str, Any], entries: dict[int, bytes], vkey: str, report: Report) -> None:
    genesis = entries.get(0)
    if genesis is None:
        report.fail("genesis", "index 0", "the bundle has no entry at index 0 (the genesis)")
        return
    try:
        given = base64.b64decode(bundle["genesis"]["entry"], validate=True)
    except (KeyError, TypeError, ValueError, binascii.Error):
        given = None
    if given != genesis:
        report.fail("genesis", "genesis", "the genesis field is not the entry at index 0")
    try:
        statement = json.loads(split_entry(genesis).statement)
    except ValueError as e:
        report.fail("genesis", "index 0", f"not an entry: {e}")
        return
    if statement.get("type") != "ledger.genesis":
        report.fail("genesis", "index 0", f"is a {statement.get('type')}, not ledger.genesis")
    elif statement.get("body", {}).get("log_vkey") != vkey:
        report.fail(
            "genesis",
            "index 0",
            f"the genesis names log key {statement.get('body', {}).get('log_vkey')}, not the "
            f"trusted {vkey}",
        )


def _inclusion(
    bundle: dict[str, Any], entries: dict[int, bytes], checkpoint: Checkpoint, report: Report
) -> None:
    proofs: dict[int, list[str]] = {}
    for item in bundle.get("entries") or []:
        if isinstance(item, dict) and isinstance(item.get("inclusion_proof"), list):
            proofs[int(item.get("index", -1))] = [str(h) for h in item["inclusion_proof"]]
    count = 0
    for index, entry in sorted(entries.items()):
        try:
            record = entry_record(index, entry)
            label = where(record)
        except (ValueError, KeyError):
            label = f"index {index}"
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
                f"{checkpoint.size}: {e}",
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
            f"the bundle says {json.dumps(given, ensure_ascii=False)} but the genesis entry "
            f"gives {json.dumps(expected)}; the windows are the genesis's alone",
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


def _chains_and_heads(
    bundle: dict[str, Any],
    entries: dict[int, bytes],
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
    for n, att in enumerate(bundle.get("head_attestations") or []):
        label = f"head_attestations[{n}] ({att.get('subject') if isinstance(att, dict) else '?'})"
        try:
            subject, seq, envelope_hash = att["subject"], int(att["seq"]), att["envelope_hash"]
            size = int(att["tree_size"])
            message = head_message(origin, subject, seq, envelope_hash, size)
            verify_ed25519(public_key, message, b64decode_canonical(att["signature"]))
        except (KeyError, TypeError, ValueError, ProblemError):
            report.fail(
                "attestation", label, "not a head attestation signed by the trusted log key"
            )
            continue
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
        _, public_key = parse_vkey(vkey)
        signature = b64decode_canonical(str(manifest.get("signature")))
        verify_ed25519(public_key, manifest_message(manifest), signature)
    except (ValueError, ProblemError):
        report.fail("manifest", "manifest", "not signed by the trusted log key")
        return
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
            subject,
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


def _rendering(bundle: dict[str, Any], derived: Any, report: Report) -> None:
    given = bundle.get("rendering")
    if not isinstance(given, dict):
        report.fail("rendering", "rendering", "missing")
        return
    try:
        evaluated_at = parse_instant(str(given.get("evaluated_at")))
    except ValueError as e:
        report.fail("rendering", "rendering.evaluated_at", str(e))
        return
    matters = list((given.get("matters") or {}).keys())
    scope = bundle.get("scope") or {}
    expected_ids = (
        [scope["matter_id"]] if "matter_id" in scope else list(scope.get("matters") or [])
    )
    if sorted(matters) != sorted(expected_ids):
        report.fail(
            "rendering", "rendering.matters", f"{matters} is not the scope's {expected_ids}"
        )
    derive = RENDERINGS[int(bundle["bundle_version"])]
    if bundle["bundle_version"] == 1 and "people" not in given:
        derive = V1_FIRST_SHAPE
    # The scope is signed (the manifest's), so an official's summary may be derived from it.
    again = json.loads(jcs(derive(derived, expected_ids, evaluated_at, dict(scope))))
    for path, want, got in _differences("rendering", again, given):
        report.fail(
            "rendering",
            path,
            f"the bundle says {json.dumps(got, ensure_ascii=False)} but its entries give "
            f"{json.dumps(want, ensure_ascii=False)}",
        )
    report.checked["rendering values"] = _count(again)


def _differences(path: str, want: Any, got: Any) -> list[tuple[str, Any, Any]]:
    if isinstance(want, dict) and isinstance(got, dict):
        out: list[tuple[str, Any, Any]] = []
        for key in sorted(set(want) | set(got)):
            out += _differences(f"{path}.{key}", want.get(key), got.get(key))
        return out
    if isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        out = []
        for n, (w, g) in enumerate(zip(want, got, strict=True)):
            out += _differences(f"{path}[{n}]", w, g)
        return out
    return [] if want == got else [(path, want, got)]


def _count(value: Any) -> int:
    if isinstance(value, dict):
        return sum(_count(v) for v in value.values())
    if isinstance(value, list):
        return sum(_count(v) for v in value)
    return 1
