"""A rendering for people: one HTML page per bundle, from the verified bundle alone.

Vietnamese by default, English on request, every word from ``evidence.i18n``. A version-2
bundle reads like the one-stop "phiếu kiểm soát quá trình giải quyết hồ sơ" (TT
03/2025/TT-VPCP, mẫu số 06): the form's header, one row per step judged against its own
budget, the decisions with their authority, the consultations, the facts noted, every
signed statement, what the verification checked, and an A4 print view whose footer carries
the bundle's SHA-256, the checkpoint and the verdict. An official's bundle opens with their
name, position, unit and agency and a summary of their indicators. It is rendered only
after ``verify_bundle`` has run on the same bundle, and says so plainly when that failed.

A version-1 bundle is rendered by the template and labels it was issued with
(``bundle_v1.html``), unchanged; a first-release one, without ``people``, shows ids as that
release did. The claims shown are the verifier's for the bundle's version and kind, never
the bundle's own text, and every value of a bundle reaches the page through ``printable``:
a control or bidirectional character in a name shows as ``\u202e`` rather than reordering
the line it is in.
"""

from __future__ import annotations

import hashlib
from typing import Any

from jinja2 import Environment, PackageLoader, Undefined, select_autoescape
from jinja2.exceptions import TemplateError
from markupsafe import Markup

from evidence.i18n import GROUPS, Language, Translator, day, translate_warning, when
from evidence.verify import Report, claims_for, printable, scope_kind
from ledger.canonical import jcs
from ledger.errors import ProblemError

# The labels of version 1's page, kept with its template: a version-1 bundle renders as
# it did when issued.
V1_LABELS: dict[str, dict[Language, str]] = {
    "title": {"vi": "Hồ sơ chứng cứ", "en": "Evidence bundle"},
    "matter": {"vi": "Hồ sơ công việc", "en": "Matter"},
    "official": {"vi": "Cán bộ", "en": "Official"},
    "period": {"vi": "Kỳ", "en": "Period"},
    "procedure": {"vi": "Mã thủ tục hành chính", "en": "Procedure code"},
    "agency": {"vi": "Cơ quan", "en": "Agency"},
    "status": {"vi": "Trạng thái", "en": "Status"},
    "open": {"vi": "đang giải quyết", "en": "open"},
    "closed": {"vi": "đã kết thúc", "en": "closed"},
    "custodian": {"vi": "Người đang xử lý", "en": "Custodian"},
    "opened_at": {"vi": "Thời điểm tiếp nhận", "en": "Received"},
    "due_at": {"vi": "Hạn giải quyết", "en": "Due"},
    "overdue_days": {"vi": "Số ngày làm việc quá hạn", "en": "Overdue working days"},
    "slip": {
        "vi": "Phiếu kiểm soát quá trình giải quyết hồ sơ",
        "en": "Hand-over control slip",
    },
    "giver": {"vi": "Bên giao", "en": "Giver"},
    "receiver": {"vi": "Bên nhận", "en": "Receiver"},
    "received_at": {"vi": "Thời gian nhận", "en": "Received at"},
    "result": {"vi": "Kết quả", "en": "Result"},
    "on_time": {"vi": "đúng hạn", "en": "on time"},
    "late": {"vi": "quá hạn", "en": "late"},
    "custody": {"vi": "Quá trình nắm giữ hồ sơ", "en": "Custody"},
    "role": {"vi": "Vai trò", "en": "Role"},
    "lead": {"vi": "chủ trì", "en": "lead"},
    "support": {"vi": "phối hợp", "en": "support"},
    "from": {"vi": "Từ", "en": "From"},
    "to": {"vi": "Đến", "en": "To"},
    "decisions": {"vi": "Quyết định và thẩm quyền", "en": "Decisions and authority"},
    "decider": {"vi": "Người quyết định", "en": "Decider"},
    "outcome": {"vi": "Kết quả", "en": "Outcome"},
    "capacity": {"vi": "Tư cách ký (tự khai)", "en": "Capacity claimed"},
    "competence": {"vi": "Thẩm quyền (sổ cái xác định)", "en": "Competence (ledger finding)"},
    "own": {"vi": "thuộc thẩm quyền", "en": "own"},
    "delegated": {"vi": "được ủy quyền / phân cấp", "en": "delegated"},
    "none": {"vi": "không có thẩm quyền", "en": "none"},
    "consultations": {"vi": "Xin ý kiến", "en": "Consultations"},
    "requester": {"vi": "Người xin ý kiến", "en": "Requester"},
    "consultee": {"vi": "Người được xin ý kiến", "en": "Consultee"},
    "proposed": {"vi": "Có ý kiến đề xuất", "en": "Proposed position"},
    "reply_due": {"vi": "Hạn trả lời", "en": "Reply due"},
    "answered_at": {"vi": "Trả lời lúc", "en": "Answered at"},
    "position": {"vi": "Ý kiến", "en": "Position"},
    "deemed": {"vi": "coi như đồng ý", "en": "deemed agreed"},
    "escalations": {"vi": "Chuyển lên cấp trên", "en": "Escalations"},
    "direction": {"vi": "Hướng", "en": "Direction"},
    "indicators": {"vi": "Dấu hiệu né tránh áp dụng", "en": "Indicators that apply"},
    "verification": {"vi": "Kết quả kiểm chứng", "en": "Verification"},
    "verified": {
        "vi": "ĐÃ KIỂM CHỨNG: mọi kiểm tra đều đạt.",
        "en": "VERIFIED: every check passed.",
    },
    "not_verified": {
        "vi": "KHÔNG ĐẠT KIỂM CHỨNG — không được dựa vào nội dung dưới đây.",
        "en": "VERIFICATION FAILED — do not rely on what follows.",
    },
    "checked": {"vi": "Đã kiểm tra", "en": "Checked"},
    "failures": {"vi": "Lỗi phát hiện", "en": "Failures"},
    "warnings": {"vi": "Cảnh báo", "en": "Warnings"},
    "claims": {"vi": "Hồ sơ này chứng minh được gì", "en": "What this bundle proves"},
    "checkpoint": {"vi": "Điểm chốt sổ (có chữ ký)", "en": "Signed checkpoint"},
    "evaluated_at": {"vi": "Thời điểm đánh giá", "en": "Evaluated at"},
    "yes": {"vi": "có", "en": "yes"},
    "no": {"vi": "không", "en": "no"},
    "calendar": {"vi": "Ngày nghỉ đã áp dụng", "en": "Days off used"},
}

# Body fields a correction may name, by the label group of their coded values.
_CODED_FIELDS = {
    "outcome": "outcome",
    "capacity": "capacity",
    "position": "position",
    "result": "closed",
    "role": "role",
    "reason": "return_reason",
}


def visible(value: Any) -> Any:
    """Every value a template prints, before it is escaped: text with its control and format
    characters shown as escapes (line breaks and tabs kept), so autoescaping cannot be
    outwitted by a U+202E that reverses the rest of a name, or an invisible character."""
    if isinstance(value, (Markup, Undefined)) or value is None:
        return value
    if isinstance(value, (bool, int, float)):
        return value
    return printable(str(value), keep="\n\t")


_ENV = Environment(
    loader=PackageLoader("evidence", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
    finalize=visible,
)

# What a page meets in a bundle that failed verification, and may hold any shape.
_SHAPE_ERRORS = (TemplateError, TypeError, LookupError, AttributeError, ValueError, OverflowError)


def bundle_sha256(bundle: Any) -> str | None:
    """SHA-256 of the bundle's JCS form: the same for every spacing of the same file."""
    try:
        return hashlib.sha256(jcs(bundle)).hexdigest()
    except (ProblemError, TypeError, ValueError, RecursionError):
        return None  # a hostile bundle may hold anything: the page shows no hash then


def checkpoint_body(bundle: Any) -> dict[str, str]:
    """Origin, tree size and root hash as the checkpoint note's body states them."""
    note = str(bundle.get("checkpoint", "")) if isinstance(bundle, dict) else ""
    lines = note.split("\n")
    if len(lines) < 3:
        return {"origin": "", "size": "", "root": ""}
    return {"origin": lines[0], "size": lines[1], "root": lines[2]}


def css_string(text: str) -> str:
    """``text`` as a CSS string literal's content: anything but ASCII letters, digits and a
    few safe marks is escaped, so no value can end the string or the style sheet. (A CSS
    escape swallows one following space, hence the space after each.)"""
    safe = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:/#=+-_()")
    return "".join(c if c in safe else f"\\{ord(c):06x} " for c in text)


def render_html(
    bundle: dict[str, Any],
    report: Report,
    lang: Language = "vi",
    *,
    strict: bool = False,
    file_sha256: str | None = None,
) -> str:
    """The page for ``bundle`` as ``report`` (its verification) found it.

    ``strict`` raises ``MissingTranslation`` for a code the catalogue cannot name (the
    tests); otherwise such a code shows, marked, rather than failing the page.
    ``file_sha256`` is the hash of the file as read, shown beside the JCS hash.
    """
    t = Translator(lang, strict=strict)
    if isinstance(bundle, dict) and _is_one(bundle.get("bundle_version")):
        return _render_v1(bundle, report, lang)
    rendering = bundle.get("rendering") if isinstance(bundle, dict) else None
    context: dict[str, Any] = {
        "bundle": bundle if isinstance(bundle, dict) else {},
        "report": report,
        "lang": lang,
        "t": t,
        "when": when,
        "day": day,
        "num": lambda value, digits=1: number(value, lang, digits),
        "field_value": lambda name, value: field_value(name, value, t),
        "field_label": lambda name: t(f"field.{name}"),
        "warnings": [translate_warning(w, t) for w in report.warnings],
        "rendering": rendering if isinstance(rendering, dict) else {},
        "claims": verified_claims(bundle, lang),
        "sha256": bundle_sha256(bundle),
        "file_sha256": file_sha256,
        "cp": checkpoint_body(bundle),
        "css_string": css_string,
        "show_content": True,
    }
    template = _ENV.get_template("bundle_v2.html")
    try:
        return template.render(**context)
    except _SHAPE_ERRORS:
        if report.ok or strict:
            raise  # a verified bundle's rendering is derived by this very code: a bug
        # A bundle that failed verification may hold any shape: show the verdict alone.
        return template.render(**{**context, "rendering": {}, "show_content": False})


def _is_one(value: Any) -> bool:
    return type(value) is int and value == 1


def verified_claims(bundle: Any, lang: Language) -> list[str]:
    """What the bundle proves, in the verifier's words for its version and signed kind
    (a bundle's own ``claims`` are compared with these and never shown)."""
    if not isinstance(bundle, dict):
        return []
    version, kind = bundle.get("bundle_version"), scope_kind(bundle.get("scope"))
    if type(version) is not int or version not in (1, 2) or kind is None:
        return []
    return claims_for(version, kind)[lang]


def _render_v1(bundle: dict[str, Any], report: Report, lang: Language) -> str:
    def t(key: str) -> str:
        return V1_LABELS.get(key, {}).get(lang, key)

    template = _ENV.get_template("bundle_v1.html")
    rendering = bundle.get("rendering")
    rendering = rendering if isinstance(rendering, dict) else {}
    try:
        return template.render(
            bundle=bundle,
            report=report,
            lang=lang,
            t=t,
            claims=verified_claims(bundle, lang),
            matters=rendering.get("matters", {}),
            calendar=rendering.get("calendar", {}),
            # The first release's bundles name nobody: their page shows ids, as it did.
            people=rendering.get("people", {}),
        )
    except _SHAPE_ERRORS:
        if report.ok:
            raise  # a verified bundle's rendering is derived by this very code: a bug
        # A bundle that failed verification may hold any shape: the verdict alone.
        bare: dict[str, Any] = {
            "bundle_version": 1,
            "kind": bundle.get("kind"),
            "scope": {},
            "log": {},
        }
        return template.render(
            bundle={**bare, "rendering": {}, "tree_size": "", "checkpoint": ""},
            report=report,
            lang=lang,
            t=t,
            claims=[],
            matters={},
            calendar={},
            people={},
        )


def number(value: Any, lang: Language, digits: int = 1) -> str:
    """A number as people of ``lang`` write it (a decimal comma in Vietnamese)."""
    if value is None:
        return ""
    if isinstance(value, int) or float(value).is_integer():
        text = str(int(value))
    else:
        text = f"{float(value):.{digits}f}"
    return text.replace(".", ",") if lang == "vi" else text


def field_value(name: str, value: Any, t: Translator) -> str:
    """A corrected field's new value: a code by its name, a list joined, text as it is."""
    group = _CODED_FIELDS.get(name)
    if group is not None and isinstance(value, str) and value in GROUPS.get(group, ()):
        return t(f"{group}.{value}")
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)
