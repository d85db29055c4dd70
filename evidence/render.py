"""A rendering for people: one HTML page per bundle, from the verified bundle alone.

Vietnamese by default, English on request. The page follows the one-stop "phiếu kiểm soát
quá trình giải quyết hồ sơ" (TT 03/2025/TT-VPCP form 06) for the hand-overs, then the
decisions with their authority finding, the consultations, the indicators that apply, and
what the verification checked — rendered only after ``verify_bundle`` has run on the same
bundle, and saying so plainly when it failed.
"""

from __future__ import annotations

from typing import Any, Literal

from jinja2 import Environment, PackageLoader, select_autoescape

from evidence.verify import Report

Language = Literal["vi", "en"]

LABELS: dict[str, dict[Language, str]] = {
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

_ENV = Environment(
    loader=PackageLoader("evidence", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def render_html(bundle: dict[str, Any], report: Report, lang: Language = "vi") -> str:
    """The page for ``bundle`` as ``report`` (its verification) found it."""
    if lang not in ("vi", "en"):
        raise ValueError(f"language {lang!r}: use vi or en")

    def t(key: str) -> str:
        return LABELS.get(key, {}).get(lang, key)

    template = _ENV.get_template("bundle.html")
    return template.render(
        bundle=bundle,
        report=report,
        lang=lang,
        t=t,
        claims=(bundle.get("claims") or {}).get(lang, []),
        matters=(bundle.get("rendering") or {}).get("matters", {}),
        calendar=(bundle.get("rendering") or {}).get("calendar", {}),
        people=(bundle.get("rendering") or {}).get("people", {}),
    )
