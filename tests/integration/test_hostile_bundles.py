"""Hostile bundles get a FAIL line and exit 1, never a traceback (issue 13.7, DESIGN §9 v4).

The corpus under ``tests/assets/hostile-bundles`` is written by the committed script beside
it from the committed version-1 fixtures, the way sigstore keeps its hostile bundles: JSON
nested 100,000 deep, an entry index of ``1e400`` or ``10**400``, a huge ``time_rules``,
instants in year 1 and 9999, terminal escape codes, C1 controls and U+202E in subjects and
names, unknown fields, forged claims, a forged witness line, a rendering whose ``matters``
is a list, a file that is no bundle, an empty file, invalid UTF-8. ``ledgerctl bundle
verify`` and ``bundle render`` run on every file: each must name what is wrong in a FAIL
line, exit 1, and print no raw control character (on a VT100 an ESC[ in a subject drew a
fake 'VERIFIED' line and the real verdict black on black).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.e2e.conftest import run

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "assets" / "hostile-bundles"
FIXTURES = ROOT / "tests" / "fixtures"
VKEYS = {"named": "bundle-v1-named.vkey", "first": "bundle-v1.vkey"}

# Every file of the corpus, and the failure that must name what is wrong with it (a line
# of stdout starts with ``FAIL`` and holds this text).
EXPECTED = {
    "deep-nesting.json": "[format] bundle: not a readable JSON bundle: nests deeper than 64",
    "nesting-past-the-limit.json": "[format] bundle: not a readable JSON bundle: nests deeper",
    "index-1e400.json": "not a readable JSON bundle: number 1e400 is not a finite number",
    "index-10-pow-400.json": "not a readable JSON bundle: integer 10000",
    "index-float.json": "[format] entries[3]: index 3.0 is not an index",
    "index-negative.json": "[format] entries[3]: index -3 is not an index",
    "tree-size-true.json": "[checkpoint] tree_size: the bundle says true",
    "nan.json": "not a readable JSON bundle: NaN is not a number a bundle holds",
    "time-rules-huge.json": '[time_rules] time_rules: the bundle says {"window_0": 0',
    "time-rules-huge-number.json": "is outside ±(2^53−1)",
    "time-rules-edited.json": "[time_rules] time_rules: the bundle says",
    "evaluated-at-year-1.json": (
        '[rendering] rendering.evaluated_at: "0001-01-01T00:00:00+07:00" lies in year 1,'
    ),
    "evaluated-at-year-9999.json": (
        '[rendering] rendering.evaluated_at: "9999-12-31T23:59:59+07:00" lies in year 9999,'
    ),
    "as-of-year-1.json": '[format] as_of: "0001-01-01T00:00:00+00:00" lies in year 1,',
    "subject-escape-codes.json": (
        r"[attestation] head_attestations[0] (ledger\x1B[2K\x0D\x1B[1;32mVERIFIED: every "
        r"check passed\x1B[0m\x0A\x1B[30;40m): not a head attestation"
    ),
    "scope-escape-codes.json": "[manifest] scope: differs from the scope the log signed",
    "c1-controls.json": r'[format] exported_by: "accountability-ledger 0.1.0\x9B2K\x9B32m',
    "bidi-in-name.json": (
        r'[rendering] rendering.people.le.thi.binh: the bundle says "Lê Thị Bình\u202E\u2066'
        'Trần" but its entries give "Lê Thị Bình"'
    ),
    "bidi-in-subject.json": r"head_attestations[1] (official:\u202E\u2066nguyen.van.an)",
    "unknown-fields.json": "[format] unknown field approved_by: a version-1 bundle has no such",
    "forged-claims.json": '[claims] claims.en[0]: the bundle says "Every official named here',
    "forged-witness-line.json": (
        "[checkpoint] checkpoint: signature line 2 by thanh-tra.gov.vn/witness (key hash "
    ),
    "checkpoint-line-escape-codes.json": r"signature line 2 by w\x1B]0;VERIFIED\x07\x1B[8m",
    "log-origin-edited.json": '[log] log.origin: the bundle says "thanh-tra.gov.vn/ledger"',
    "exported-by-edited.json": "[format] exported_by:",
    "render-matters-list.json": "[rendering] rendering.matters: [] is not the scope's",
    "rendering-not-object.json": "[rendering] rendering: missing",
    "genesis-not-object.json": "[genesis] genesis: the genesis field is not the entry at index 0",
    "entries-not-list.json": "[format] entries: a JSON object, not a list of entries",
    "entry-seq-1e400.json": "[entry] index 5: not a valid entry",
    "entry-recorded-at-year-9999.json": '"9999-12-31T23:59:59.999999Z" lies in year 9999',
    "entry-deep-nesting.json": "[entry] index 5: not a valid entry: entry is not JSON",
    "version-2-label.json": "[format] unknown field rendering.matters.",
    "duplicate-claims.json": "member name 'claims' appears twice in one object",
    "lone-surrogate.json": "a string holds a lone surrogate",
    "not-a-bundle.json": "[format] bundle_version: null is not a bundle version",
    "array.json": "[format] bundle: a JSON array, not a bundle",
    "empty.json": "[format] bundle: not a readable JSON bundle: not JSON",
    "invalid-utf8.json": "[format] bundle: not a readable JSON bundle: not UTF-8",
    "byte-order-mark.json": "not a readable JSON bundle: starts with a byte order mark",
}

# What no line of a terminal and no page may carry raw (DESIGN §3): C0 but line feed (and
# tab, on a page), DEL, C1, and the bidirectional and invisible format controls.
RAW_CONTROL = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2028\u2029\u2060-\u2069\ufeff]"
)
RAW_CONTROL_ON_A_PAGE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2028\u2029\u2060-\u2069\ufeff]"
)


def generator() -> ModuleType:
    path = CORPUS / "make_hostile_bundles.py"
    spec = importlib.util.spec_from_file_location("make_hostile_bundles", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GENERATOR = generator()


def vkey_of(name: str) -> str:
    source = GENERATOR.CASES[name][0]
    return (FIXTURES / VKEYS[source]).read_text("utf-8").strip()


def test_the_corpus_is_exactly_what_the_committed_script_writes_from_the_fixtures() -> None:
    import json

    sources = {
        name: json.loads((FIXTURES / file).read_bytes()) for name, file in GENERATOR.SOURCES.items()
    }
    on_disk = sorted(p.name for p in CORPUS.glob("*.json"))
    assert on_disk == sorted(GENERATOR.CASES) == sorted(EXPECTED)
    for name, (source, make) in GENERATOR.CASES.items():
        assert (CORPUS / name).read_bytes() == make(sources[source]), name


@pytest.mark.parametrize("command", ["verify", "render"])
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_hostile_bundle_gets_a_fail_line_and_exit_1_never_a_traceback(
    name: str, command: str, tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    args = ["bundle", command, str(CORPUS / name), "--vkey", vkey_of(name)]
    if command == "render":
        args += ["-o", str(page)]

    result = CliRunner().invoke(app, args)

    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1, result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    lines = result.stdout.splitlines()
    assert any(line.startswith("FAIL ") and EXPECTED[name] in line for line in lines), output
    assert lines[-1].startswith("NOT VERIFIED: ")
    assert "VERIFIED: every check passed" not in lines
    assert not RAW_CONTROL.search(output), [
        line for line in output.splitlines() if RAW_CONTROL.search(line)
    ]
    assert max(len(line) for line in lines) < 1000  # a huge field is quoted, cut short
    if command == "render":
        html = page.read_text("utf-8")
        assert "KHÔNG ĐẠT KIỂM CHỨNG" in html
        assert "ĐÃ KIỂM CHỨNG" not in html
        assert not RAW_CONTROL_ON_A_PAGE.search(html)


def test_a_bidi_override_in_a_name_shows_as_an_escape_on_the_page(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    name = "bidi-in-name.json"
    CliRunner().invoke(
        app, ["bundle", "render", str(CORPUS / name), "-o", str(page), "--vkey", vkey_of(name)]
    )
    html = page.read_text("utf-8")
    assert "Lê Thị Bình\\u202E\\u2066Trần" in html  # where the page names her, and the failure
    assert "\u202e" not in html


@pytest.mark.parametrize("name", ["subject-escape-codes.json", "c1-controls.json"])
def test_a_real_terminal_gets_no_escape_code_from_a_bundle(name: str, tmp_path: Path) -> None:
    """The installed command, as a council runs it: stdout and stderr as raw bytes."""
    result = run("bundle", "verify", str(CORPUS / name), "--vkey", vkey_of(name), check=False)
    assert result.returncode == 1
    for stream in (result.stdout, result.stderr):
        assert b"\x1b" not in stream
        assert "\x9b".encode() not in stream
        assert b"Traceback" not in stream
    assert result.stdout.decode().splitlines()[-1].startswith("NOT VERIFIED: ")
