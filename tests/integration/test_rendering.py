"""The demo province's planted matters, rendered as a disciplinary council reads them.

The demo is built once for the module (as in ``test_demo.py``); for every planted official
an evidence bundle of all their matters is exported, verified, and rendered in Vietnamese
and in English with the strict catalogue (a code without a name fails the render). Each
page is then read as text, the way a council member reads it: Vietnamese throughout, names
beside ids, the late step of a late matter marked "quá hạn" and the steps done in time not,
competence only where something was decided, every signed statement present, the
official's own summary, and the English page on request (``ledgerctl bundle render
--lang en``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app
from demo.build import build
from evidence.bundle import export
from evidence.i18n import CATALOGUE
from evidence.render import bundle_sha256, render_html
from evidence.verify import verify_bundle
from ledger.datadir import open_ledger
from ledger.settings import Settings
from projections.indicators import NAMES
from projections.reads import ReadModels

SEED = 2026
MATTERS = 300
FIXTURE_V1 = Path(__file__).resolve().parent.parent / "fixtures" / "bundle-v1.json"

# Codes that leaked into the version-1 page (shared/notes/form06.md) and others like them.
RAW_CODES = (
    "approved",
    "rejected",
    "own",
    "on_behalf",
    "delegated",
    "agree",
    "no_position",
    "conditional",
    "not_competent",
    "ky_thay",
    "uy_quyen",
    "up_external",
    "lateral",
    "completed",
    "Flags",
    "event",
    "handoff.offered",
    "decision.recorded",
    *NAMES,
)
PARTY_KEYS = (
    "giver",
    "receiver",
    "decider",
    "holder",
    "by",
    "signer",
    "grantor",
    "received_by",
    "custodian",
    "official",
)


class PageText(HTMLParser):
    """The text of a page as a reader sees it, and the text of each element with an id
    (a matter ``m1``, a step row ``m1-r3``) and of each matter's decisions section."""

    VOID = frozenset({"br", "col", "meta", "hr", "img", "input", "link"})

    def __init__(self, html: str) -> None:
        super().__init__()
        self.stack: list[tuple[str, str | None]] = []  # (tag, capture key)
        self.parts: list[str] = []
        self.by_key: dict[str, list[str]] = {}
        self.skip = 0
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            self.parts.append(" ")
            return
        if tag in ("style", "script", "title"):
            self.skip += 1
        a = dict(attrs)
        key = a.get("id")
        if tag == "section" and "decisions" in (a.get("class") or ""):
            matter = next((k for _, k in reversed(self.stack) if k and "-" not in k), None)
            key = f"{matter}/decisions"
        self.stack.append((tag, key))
        self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        if tag in ("style", "script", "title"):
            self.skip -= 1
        while self.stack:
            open_tag, _ = self.stack.pop()
            if open_tag == tag:
                break
        self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        self.parts.append(data)
        for _, key in self.stack:
            if key:
                self.by_key.setdefault(key, []).append(data)

    @cached_property
    def text(self) -> str:
        return squash("".join(self.parts))

    def of(self, key: str) -> str:
        return squash(" ".join(self.by_key.get(key, [])))


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def appears(phrase: str, text: str) -> bool:
    """``phrase`` as a word or words of ``text``, not as part of a longer word or id."""
    return bool(found_in(text, [phrase]))


def found_in(text: str, phrases: list[str]) -> set[str]:
    """Which of ``phrases`` appear in ``text`` as words (one pass over a long page)."""
    ordered = sorted(set(phrases), key=len, reverse=True)
    pattern = "|".join(re.escape(p) for p in ordered)
    return set(re.findall(rf"(?<![\w.-])(?:{pattern})(?![\w-])", text))


@dataclass
class Page:
    official_id: str
    indicator: str
    bundle: dict[str, Any]
    vi: str
    en: str
    read: PageText = field(init=False)

    def __post_init__(self) -> None:
        self.read = PageText(self.vi)

    @property
    def matters(self) -> dict[str, Any]:
        value: dict[str, Any] = self.bundle["rendering"]["matters"]
        return value


@dataclass
class Demo:
    settings: Settings
    vkey: str
    pages: dict[str, Page]  # by planted official


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    settings = Settings.load(tmp_path_factory.mktemp("demo") / "ledger-data")
    summary = build(settings, matters=MATTERS, seed=SEED)
    ledger, _ = open_ledger(settings, warm=False)
    reads = ReadModels(ledger.recorder, ledger.database_url)
    try:
        assert ledger.transparency is not None
        vkey = ledger.transparency.vkey
        pages: dict[str, Page] = {}
        for planted in summary.planted:
            bundle = json.loads(
                json.dumps(export(ledger, official_id=planted.official_id, reads=reads))
            )
            report = verify_bundle(bundle, vkey)
            assert report.ok, [str(f) for f in report.failures]
            pages[planted.official_id] = Page(
                planted.official_id,
                planted.indicator,
                bundle,
                render_html(bundle, report, "vi", strict=True),
                render_html(bundle, report, "en", strict=True),
            )
        yield Demo(settings, vkey, pages)
    finally:
        reads.close()
        ledger.close()


def people_in(value: Any) -> Iterator[dict[str, Any]]:
    """Every person the view model names (giver, receiver, decider, signer, grantor …)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in PARTY_KEYS and isinstance(item, dict) and "id" in item and "name" in item:
                yield item
            yield from people_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from people_in(item)


def test_every_planted_official_has_a_page_of_their_matters(demo: Demo) -> None:
    assert len(demo.pages) >= 9
    for page in demo.pages.values():
        assert page.matters, page.official_id
        assert page.bundle["bundle_version"] == 2


def test_the_vietnamese_pages_hold_no_english_label_and_no_raw_code(demo: Demo) -> None:
    english = [en for vi, en in CATALOGUE.values() if en != vi]
    for page in demo.pages.values():
        text = page.read.text
        assert found_in(text, english) == set(), page.official_id
        assert found_in(text, list(RAW_CODES)) == set(), page.official_id
        # Instants as people write them, never as ISO strings.
        assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", text), page.official_id
        assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
        assert "Độc lập - Tự do - Hạnh phúc" in text
        assert "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ" in text
        assert "Mẫu số 06" in text
        assert "ĐÃ KIỂM CHỨNG: mọi kiểm tra đều đạt." in text


def test_every_person_named_stands_by_name_beside_their_id(demo: Demo) -> None:
    for page in demo.pages.values():
        text = page.read.text
        people = {(p["id"], p["name"]) for m in page.matters.values() for p in people_in(m)}
        assert people, page.official_id
        missing = [(i, n) for i, n in people if f"{n} ({i})" not in text]
        assert missing == [], page.official_id


def test_a_late_matter_shows_its_late_step_as_qua_han_and_no_step_done_in_time_so(
    demo: Demo,
) -> None:
    page = next(p for p in demo.pages.values() if p.indicator == "overdue")
    late_matters = 0
    for n, (matter_id, m) in enumerate(page.matters.items(), start=1):
        slip = m["slip"]
        judged = [row for row in slip["steps"] if row["step"] and row["step"]["result"]]
        for row in judged:
            text = page.read.of(f"m{n}-r{row['no']}")
            assert text, (matter_id, row["no"])
            if row["step"]["result"] == "late":
                assert "quá hạn" in text, (matter_id, row["no"], text)
            elif row["step"]["result"] in ("before", "on_time"):
                assert "quá hạn" not in text, (matter_id, row["no"], text)
        if slip["header"]["timeliness"] != "late":
            continue
        late_matters += 1
        # The late days show on the sitter's own step, not on every hand-over.
        theirs = [
            row
            for row in judged
            if row["step"]["holder"] == page.official_id and row["step"]["result"] == "late"
        ]
        assert theirs, matter_id
        assert any(row["step"]["result"] == "before" for row in judged), matter_id
        assert "quá hạn" in page.read.of(f"m{n}")
    assert late_matters >= 2


def test_competence_is_shown_on_decisions_and_nowhere_else(demo: Demo) -> None:
    findings = [vi for key, (vi, _) in CATALOGUE.items() if key.startswith("competence.")]
    seen = set()
    for page in demo.pages.values():
        for n, m in enumerate(page.matters.values(), start=1):
            whole = page.read.of(f"m{n}")
            decisions = page.read.of(f"m{n}/decisions")
            for finding in findings:
                assert whole.count(finding) == decisions.count(finding), (page.official_id, n)
            for d in m["slip"]["decisions"]:
                assert CATALOGUE[f"competence.{d['competence']}"][0] in decisions
                seen.add(d["competence"])
        outside = page.read.text
        for n in range(1, len(page.matters) + 1):
            outside = outside.replace(page.read.of(f"m{n}/decisions"), "")
        assert not [f for f in findings if f in outside], page.official_id
    assert seen >= {"own", "none"}


def test_a_decisions_authority_is_named_by_person_and_instrument(demo: Demo) -> None:
    delegated = [
        (page, d)
        for page in demo.pages.values()
        for m in page.matters.values()
        for d in m["slip"]["decisions"]
        if d["competence"] == "delegated"
    ]
    assert delegated
    for page, d in delegated:
        link = d["authority"][0]
        assert link["instrument_no"]
        assert link["grantor"]["name"]
        text = page.read.text
        assert f"{link['instrument_no']} {CATALOGUE['label.authority_grantor'][0]}" in text
        assert f"{link['grantor']['name']} ({link['grantor']['id']})" in text
        assert link["delegation_id"] not in text  # never a bare id for an authority


def test_every_signed_statement_of_every_matter_is_on_the_page(demo: Demo) -> None:
    for page in demo.pages.values():
        text = page.read.text
        shown = 0
        for item in page.bundle["entries"]:
            statement = json.loads(base64.b64decode(item["entry"]))["statement"]
            if statement["subject"].startswith("matter:"):
                assert statement["event_id"] in text, (page.official_id, statement["type"])
                assert statement["key"] in text
                shown += 1
        assert shown == sum(len(m["slip"]["statements"]) for m in page.matters.values())


def test_the_officials_page_names_them_and_sums_up_their_indicators(demo: Demo) -> None:
    for page in demo.pages.values():
        summary = page.bundle["rendering"]["official"]
        me = summary["official"]
        assert me["id"] == page.official_id
        text = page.read.text
        for value in (me["name"], me["position"], me["unit"]["name"], me["agency"]["name"]):
            assert value
            assert value in text
        row = next(i for i in summary["indicators"] if i["name"] == page.indicator)
        assert row["numerator"] > 0, page.official_id
        label = CATALOGUE[f"indicator.{page.indicator}"][0]
        count = f"{row['numerator']} / {row['denominator']}"
        assert re.search(re.escape(label) + r" [^/]*? " + re.escape(count), text), page.indicator
        assert CATALOGUE["label.percentile_not_derived"][0] in text
        assert CATALOGUE["label.percentile_note"][0] in text


def test_the_page_prints_on_a4_with_the_proof_in_its_footer(demo: Demo) -> None:
    page = next(iter(demo.pages.values()))
    assert "size: A4" in page.vi
    assert "@bottom-center" in page.vi
    digest = bundle_sha256(page.bundle)
    assert digest
    assert digest in page.read.text
    origin, size, root = page.bundle["checkpoint"].split("\n")[:3]
    assert f"{origin} · Số bản ghi trong cây {size} · Mã băm gốc {root}" in page.read.text


def test_ledgerctl_renders_vietnamese_by_default_and_english_with_lang_en(
    demo: Demo, tmp_path: Path
) -> None:
    page = next(p for p in demo.pages.values() if p.indicator == "overdue")
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(page.bundle, ensure_ascii=False, indent=1), "utf-8")
    runner = CliRunner()
    for lang, out in (("vi", "vi.html"), ("en", "en.html")):
        args = ["bundle", "render", str(path), "-o", str(tmp_path / out), "--vkey", demo.vkey]
        result = runner.invoke(app, [*args, "--lang", lang])
        assert result.exit_code == 0, result.output
    vi = PageText((tmp_path / "vi.html").read_text("utf-8")).text
    en = PageText((tmp_path / "en.html").read_text("utf-8")).text
    assert "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ" in vi
    for words in ("DOSSIER PROCESSING CONTROL SLIP", "Form No. 06", "late", "Given by"):
        assert words in en
    step_table = ("step", "giver", "receiver", "given_at", "received_at", "due", "result")
    labels = [CATALOGUE[f"col.{name}"][0] for name in (*step_table, "signatures", "notes")]
    labels += [vi for key, (vi, _) in CATALOGUE.items() if key.startswith("result.")]
    assert found_in(en, labels) == set()
    assert "quá hạn" not in en
    assert hashlib.sha256(path.read_bytes()).hexdigest() in en  # the file as read


def test_a_version_1_bundle_still_renders_with_the_page_it_was_issued_with() -> None:
    bundle = json.loads(FIXTURE_V1.read_bytes())
    vkey = (FIXTURE_V1.with_suffix(".vkey")).read_text("utf-8").strip()
    report = verify_bundle(bundle, vkey)
    assert report.ok, [str(f) for f in report.failures]
    vi = render_html(bundle, report, "vi")
    en = render_html(bundle, report, "en")
    assert "Phiếu kiểm soát quá trình giải quyết hồ sơ" in vi
    assert "Quyết định và thẩm quyền" in vi
    assert "Hand-over control slip" in en
    assert "Mẫu số 06" not in vi  # the version-2 page is not applied to it
