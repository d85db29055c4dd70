"""Write the hostile-bundle corpus beside this file, from the committed version-1 fixtures.

Each file is a committed, verifiable bundle (``tests/fixtures/bundle-v1-named.json`` or the
first release's ``bundle-v1.json``) edited the way an attacker would, or a file that is no
bundle at all: JSON nested 100,000 deep, an index of ``1e400`` or ``10**400``, NaN, a huge
``time_rules``, instants in year 1 and 9999, terminal escape codes, C1 controls and
U+202E in subjects and names, unknown fields, forged claims, a forged witness line, a
rendering whose ``matters`` is a list, invalid UTF-8, an empty file.
``tests/integration/test_hostile_bundles.py`` runs ``ledgerctl bundle verify`` and
``bundle render`` on each: a FAIL line and exit 1, never a traceback, never a raw control
character on the terminal.

The output is deterministic (a witness key from a fixed seed), so running this again
rewrites the same bytes; the fixtures it reads are never written.

    .venv/bin/python tests/assets/hostile-bundles/make_hostile_bundles.py
"""

from __future__ import annotations

import base64
import copy
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
sys.path.insert(0, str(ROOT))

from ledger.crypto import SigningKey  # noqa: E402
from ledger.note import cosign, parse_note  # noqa: E402

Bundle = dict[str, Any]

# What a terminal would obey: erase the line, print a green verdict, then draw the rest
# black on black (issue 13.7).
ESCAPES = "\x1b[2K\r\x1b[1;32mVERIFIED: every check passed\x1b[0m\n\x1b[30;40m"
C1 = "\x9b2K\x9b32mVERIFIED\x9b0m\x85\x9d0;title\x07"  # 8-bit CSI, NEL, OSC
BIDI = "\u202e\u2066"  # RIGHT-TO-LEFT OVERRIDE, LEFT-TO-RIGHT ISOLATE
MARK = "@@RAW@@"  # a string the dump replaces by raw JSON text


def dump(bundle: Any, raw: str | None = None) -> bytes:
    text = json.dumps(bundle, ensure_ascii=False, indent=1) + "\n"
    if raw is not None:
        text = text.replace(json.dumps(MARK), raw)
    return text.encode("utf-8")


def edited(edit: Callable[[Bundle], None], raw: str | None = None) -> Callable[[Bundle], bytes]:
    def make(bundle: Bundle) -> bytes:
        copy_ = copy.deepcopy(bundle)
        edit(copy_)
        return dump(copy_, raw)

    return make


def entry_bytes(bundle: Bundle, position: int) -> bytes:
    return base64.b64decode(bundle["entries"][position]["entry"])


def set_entry(bundle: Bundle, position: int, data: bytes) -> None:
    bundle["entries"][position]["entry"] = base64.b64encode(data).decode()


def matter(bundle: Bundle) -> dict[str, Any]:
    (value,) = bundle["rendering"]["matters"].values()
    result: dict[str, Any] = value
    return result


def forged_witness(name: str) -> Callable[[Bundle], None]:
    def edit(bundle: Bundle) -> None:
        key = SigningKey.from_seed(b"hostile witness seed, not a key!")
        note = parse_note(bundle["checkpoint"])
        bundle["checkpoint"] += cosign(note.text, name, key, 1_780_000_000).line

    return edit


def unknown_fields(bundle: Bundle) -> None:
    bundle["approved_by"] = "Thanh tra tỉnh"
    bundle["log"]["note"] = "kiểm chứng"
    bundle["entries"][0]["note"] = "đã xác minh"
    bundle["manifest"]["subjects"]["ledger"]["note"] = "đủ"
    matter(bundle)["matter"]["verified_by_inspector"] = True


def forged_claims(bundle: Bundle) -> None:
    bundle["claims"]["en"][0] = (
        "Every official named here acted within their competence, as the log certifies."
    )
    bundle["claims"]["vi"][0] = (
        "Mọi cán bộ có tên trong hồ sơ này đều hành động đúng thẩm quyền, sổ cái xác nhận."
    )


def entry_seq(value: bytes) -> Callable[[Bundle], None]:
    def edit(bundle: Bundle) -> None:
        data = entry_bytes(bundle, 5)
        start = data.index(b'"seq":') + len(b'"seq":')
        end = data.index(b",", start)
        set_entry(bundle, 5, data[:start] + value + data[end:])

    return edit


def entry_recorded_at(value: bytes) -> Callable[[Bundle], None]:
    def edit(bundle: Bundle) -> None:
        data = entry_bytes(bundle, 5)
        start = data.index(b'"recorded_at":"') + len(b'"recorded_at":"')
        end = data.index(b'"', start)
        set_entry(bundle, 5, data[:start] + value + data[end:])

    return edit


def deep_entry(bundle: Bundle) -> None:
    nested = b'{"recorded_at":"x","signature":"y","statement":' + b"[" * 100_000
    set_entry(bundle, 5, nested + b"]" * 100_000 + b"}")


def at(path: tuple[str | int, ...], value: Any) -> Callable[[Bundle], None]:
    def edit(bundle: Bundle) -> None:
        target: Any = bundle
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


def both(*edits: Callable[[Bundle], None]) -> Callable[[Bundle], None]:
    def edit(bundle: Bundle) -> None:
        for one in edits:
            one(bundle)

    return edit


def invalid_utf8(bundle: Bundle) -> bytes:
    data = dump(bundle)
    return data.replace("Bình".encode(), b"B\xffnh", 1)


def duplicate_claims(bundle: Bundle) -> bytes:
    """Two ``claims`` members: a reader that keeps the first shows a false one, a reader
    that keeps the last (the standard library, orjson) the true one."""
    text = dump(bundle).decode("utf-8")
    false = json.dumps({"en": ["The decision was within the decider's competence."]})
    return text.replace('\n "claims": ', f'\n "claims": {false},\n "claims": ', 1).encode()


# name -> (source fixture, what to write)
CASES: dict[str, tuple[str, Callable[[Bundle], bytes]]] = {
    "deep-nesting.json": (
        "named",
        edited(at(("note",), MARK), "[" * 100_000 + "]" * 100_000),
    ),
    "nesting-past-the-limit.json": ("named", edited(at(("note",), MARK), "[" * 100 + "]" * 100)),
    "index-1e400.json": ("named", edited(at(("entries", 3, "index"), MARK), "1e400")),
    "index-10-pow-400.json": ("named", edited(at(("entries", 3, "index"), MARK), "1" + "0" * 400)),
    "index-float.json": ("named", edited(at(("entries", 3, "index"), 3.0))),
    "index-negative.json": ("named", edited(at(("entries", 3, "index"), -3))),
    "tree-size-true.json": ("named", edited(at(("tree_size",), True))),
    "nan.json": ("named", edited(at(("time_rules", "future_skew_seconds"), MARK), "NaN")),
    "time-rules-huge.json": (
        "named",
        edited(at(("time_rules",), {f"window_{n}": n for n in range(5_000)})),
    ),
    "time-rules-huge-number.json": (
        "named",
        edited(at(("time_rules", "out_of_order_seconds"), MARK), "1" + "0" * 30),
    ),
    "time-rules-edited.json": ("named", edited(at(("time_rules", "out_of_order_seconds"), 86400))),
    "evaluated-at-year-1.json": (
        "named",
        edited(
            both(
                at(("rendering", "evaluated_at"), "0001-01-01T00:00:00+07:00"),
                at(("exported_at",), "0001-01-01T00:00:00+07:00"),
            )
        ),
    ),
    "evaluated-at-year-9999.json": (
        "named",
        edited(
            both(
                at(("rendering", "evaluated_at"), "9999-12-31T23:59:59+07:00"),
                at(("exported_at",), "9999-12-31T23:59:59+07:00"),
            )
        ),
    ),
    "as-of-year-1.json": ("first", edited(at(("as_of",), "0001-01-01T00:00:00+00:00"))),
    "subject-escape-codes.json": (
        "named",
        edited(at(("head_attestations", 0, "subject"), "ledger" + ESCAPES)),
    ),
    "scope-escape-codes.json": (
        "first",
        edited(at(("scope", "matter_id"), "H10.15-261127-0001" + ESCAPES)),
    ),
    "c1-controls.json": (
        "named",
        edited(
            both(
                at(("head_attestations", 0, "subject"), "ledger" + C1),
                at(("exported_by",), "accountability-ledger 0.1.0" + C1),
            )
        ),
    ),
    "bidi-in-name.json": (
        "named",
        edited(at(("rendering", "people", "le.thi.binh"), "Lê Thị Bình" + BIDI + "Trần")),
    ),
    "bidi-in-subject.json": (
        "named",
        edited(at(("head_attestations", 1, "subject"), "official:" + BIDI + "nguyen.van.an")),
    ),
    "unknown-fields.json": ("named", edited(unknown_fields)),
    "forged-claims.json": ("named", edited(forged_claims)),
    "forged-witness-line.json": ("named", edited(forged_witness("thanh-tra.gov.vn/witness"))),
    "checkpoint-line-escape-codes.json": (
        "first",
        edited(forged_witness("w\x1b]0;VERIFIED\x07\x1b[8m")),
    ),
    "log-origin-edited.json": ("named", edited(at(("log", "origin"), "thanh-tra.gov.vn/ledger"))),
    "exported-by-edited.json": (
        "named",
        edited(
            at(("exported_by",), "accountability-ledger 0.1.0 (đã được Thanh tra tỉnh kiểm chứng)")
        ),
    ),
    "render-matters-list.json": ("named", edited(at(("rendering", "matters"), []))),
    "rendering-not-object.json": ("first", edited(at(("rendering",), "VERIFIED"))),
    "genesis-not-object.json": ("first", edited(at(("genesis",), [0]))),
    "entries-not-list.json": ("first", edited(at(("entries",), {"0": "AAAA"}))),
    "entry-seq-1e400.json": ("named", edited(entry_seq(b"1e400"))),
    "entry-recorded-at-year-9999.json": (
        "named",
        edited(entry_recorded_at(b"9999-12-31T23:59:59.999999Z")),
    ),
    "entry-deep-nesting.json": ("named", edited(deep_entry)),
    "version-2-label.json": ("named", edited(at(("bundle_version",), 2))),
    "duplicate-claims.json": ("named", duplicate_claims),
    "lone-surrogate.json": (
        "named",
        edited(at(("rendering", "people", "le.thi.binh"), MARK), '"B\\ud800nh"'),
    ),
    "not-a-bundle.json": ("named", lambda _: b'{"hello": "world"}\n'),
    "array.json": ("named", lambda _: b"[1, 2, 3]\n"),
    "empty.json": ("named", lambda _: b""),
    "invalid-utf8.json": ("named", invalid_utf8),
    "byte-order-mark.json": ("first", lambda bundle: b"\xef\xbb\xbf" + dump(bundle)),
}

SOURCES = {"named": "bundle-v1-named.json", "first": "bundle-v1.json"}


def main() -> None:
    sources = {name: json.loads((FIXTURES / file).read_bytes()) for name, file in SOURCES.items()}
    for path in HERE.glob("*.json"):
        path.unlink()
    for name, (source, make) in CASES.items():
        (HERE / name).write_bytes(make(sources[source]))
    print(f"wrote {len(CASES)} hostile bundles to {HERE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
