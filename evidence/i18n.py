"""Every word a rendering of the ledger shows people, in Vietnamese and in English.

One catalogue for the bundle page, its print view and (later) the console: labels, and a
name for every code a view model carries — step kinds, results, outcomes, capacities,
competence findings, delegation kinds, directions, consultation positions, return reasons,
closing results, statement types, flags and indicators. Vietnamese follows
shared/notes/glossary.md. A template asks ``t("outcome.approved")``; it never prints a code.

Keys are ``<group>.<code>``; ``GROUPS`` lists, for each group whose codes come from the
ledger's data, every code the data can hold, so a test can require a name for each.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ledger.times import parse_instant
from ledger.workdays import ICT

Language = Literal["vi", "en"]
LANGUAGES: tuple[Language, ...] = ("vi", "en")

# key -> (Vietnamese, English)
CATALOGUE: dict[str, tuple[str, str]] = {
    # --- the form's frame ------------------------------------------------------------------
    "label.national_name": (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "SOCIALIST REPUBLIC OF VIET NAM",
    ),
    "label.motto": ("Độc lập - Tự do - Hạnh phúc", "Independence - Freedom - Happiness"),
    "label.form_no": ("Mẫu số 06", "Form No. 06"),
    "label.slip_title": (
        "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ",
        "DOSSIER PROCESSING CONTROL SLIP",
    ),
    "label.form_basis": (
        "Theo mẫu phiếu kiểm soát của Thông tư 03/2025/TT-VPCP; lập từ sổ cái trách nhiệm",
        "After the control slip of Circular 03/2025/TT-VPCP; drawn from the accountability ledger",
    ),
    "label.bundle_title": (
        "Hồ sơ chứng cứ (có thể kiểm chứng ngoại tuyến)",
        "Evidence bundle (verifiable offline)",
    ),
    "label.official_title": (
        "TỔNG HỢP QUÁ TRÌNH XỬ LÝ HỒ SƠ CỦA CÁN BỘ",
        "AN OFFICIAL'S RECORD OF HANDLING DOSSIERS",
    ),
    "label.times_note": (
        "Thời gian theo giờ Việt Nam (ICT, UTC+7), dạng ngày/tháng/năm giờ:phút; thời hạn "
        "tính theo ngày làm việc.",
        "Times in Vietnam time (ICT, UTC+7), as day/month/year hour:minute; deadlines in "
        "working days.",
    ),
    "label.evaluated_at": ("Thời điểm đánh giá", "Evaluated at"),
    "label.as_of": ("Theo dữ liệu ghi sổ đến thời điểm", "As recorded by"),
    "label.exported_at": ("Thời điểm xuất hồ sơ chứng cứ", "Exported at"),
    "label.contents": ("Nội dung", "Contents"),
    # --- verdict ---------------------------------------------------------------------------
    "label.verified": (
        "ĐÃ KIỂM CHỨNG: mọi kiểm tra đều đạt.",
        "VERIFIED: every check passed.",
    ),
    "label.not_verified": (
        "KHÔNG ĐẠT KIỂM CHỨNG — không được dựa vào nội dung dưới đây.",
        "VERIFICATION FAILED — do not rely on what follows.",
    ),
    "label.verdict": ("Kết quả kiểm chứng", "Verification"),
    "label.verdict_ok": ("đạt", "passed"),
    "label.verdict_bad": ("không đạt", "failed"),
    "label.checked": ("Đã kiểm tra", "Checked"),
    "label.failures": ("Lỗi phát hiện", "Failures"),
    "label.warnings": ("Cảnh báo", "Warnings"),
    "label.claims": ("Hồ sơ chứng cứ này chứng minh được gì", "What this bundle proves"),
    "label.checkpoint": ("Điểm chốt sổ (có chữ ký)", "Signed checkpoint"),
    "label.origin": ("Sổ cái", "Log"),
    "label.tree_size": ("Số bản ghi trong cây", "Tree size"),
    "label.root_hash": ("Mã băm gốc", "Root hash"),
    "label.bundle_sha256": (
        "SHA-256 của hồ sơ chứng cứ (dạng chuẩn JCS)",
        "SHA-256 of the bundle (JCS canonical form)",
    ),
    "label.file_sha256": ("SHA-256 của tệp", "SHA-256 of the file"),
    "label.calendar": (
        "Ngày nghỉ, ngày làm bù đã áp dụng",
        "Days off and make-up working days used",
    ),
    "label.weekdays_off": ("ngày nghỉ trong tuần", "weekdays off"),
    "label.weekend_working_days": ("ngày làm bù cuối tuần", "weekend working days"),
    "label.none": ("không có", "none"),
    "label.page": ("Trang", "Page"),
    "check.checkpoint": ("chữ ký điểm chốt sổ", "checkpoint signature"),
    "check.inclusion proofs": ("bằng chứng có mặt trong sổ", "inclusion proofs"),
    "check.signatures, keys and rules": (
        "chữ ký, khóa và quy tắc của từng bản ghi",
        "signatures, keys and rules",
    ),
    "check.head attestations": (
        "xác nhận bản ghi cuối của từng chủ thể",
        "head attestations",
    ),
    "check.manifest subjects": ("chủ thể trong danh mục đã ký", "manifest subjects"),
    "check.rendering values": (
        "giá trị trình bày được tính lại và so khớp",
        "rendering values derived again and compared",
    ),
    "warning.no_vkey": (
        "KHÔNG CÓ --vkey: đang tin vào khóa của sổ cái ghi ngay trong hồ sơ chứng cứ. Ai cũng "
        "có thể tự tạo hồ sơ với khóa của mình; hãy lấy khóa xác minh (vkey) của sổ cái từ "
        "nguồn tin cậy và kiểm chứng lại với --vkey.",
        "NO --vkey GIVEN: trusting the log key written inside the bundle itself. Anyone can "
        "write a bundle with a key of their own; obtain the log's vkey from a source you "
        "trust and verify again with --vkey.",
    ),
    # --- the header ------------------------------------------------------------------------
    "label.agency": ("Cơ quan giải quyết", "Agency"),
    "label.dossier_code": ("Mã hồ sơ", "Dossier code"),
    "label.title": ("Tên hồ sơ", "Title"),
    "label.procedure": ("Thủ tục hành chính", "Administrative procedure"),
    "label.procedure_code": ("mã thủ tục", "procedure code"),
    "label.applicant": ("Người nộp hồ sơ (mã tham chiếu)", "Applicant (reference)"),
    "label.received_at": ("Thời gian tiếp nhận", "Received at"),
    "label.received_by": ("Người tiếp nhận", "Received by"),
    "label.deadline": ("Thời hạn giải quyết", "Time limit"),
    "label.working_days": ("ngày làm việc", "working days"),
    "label.due_initial": ("Hẹn trả kết quả (khi tiếp nhận)", "Promised return (at receipt)"),
    "label.due_current": ("Hẹn trả kết quả (hiện hành)", "Promised return (current)"),
    "label.extensions": ("Gia hạn", "Extensions"),
    "label.extension_no": ("Gia hạn lần", "Extension no."),
    "label.extension_after_due": ("gia hạn sau khi đã quá hạn", "extended after the due time"),
    "label.new_due": ("hẹn mới", "new due time"),
    "label.apology": ("Văn bản xin lỗi (Mẫu 04)", "Apology letter (form 04)"),
    "label.apology_none": (
        "không ghi nhận văn bản xin lỗi",
        "no apology letter recorded",
    ),
    "label.paused": (
        "Thời gian tạm dừng chờ bổ sung hồ sơ",
        "Paused awaiting supplements",
    ),
    "label.handling_unit": ("Đơn vị chủ trì giải quyết", "Handling unit"),
    "label.cooperating": ("Đơn vị, người phối hợp", "Cooperating units and people"),
    "label.status": ("Trạng thái", "Status"),
    "label.custodian": ("Người đang xử lý", "Currently held by"),
    "label.closed_at": ("Thời gian kết thúc", "Closed at"),
    "label.closing_result": ("Kết quả giải quyết", "Result"),
    "label.timeliness": ("Tình trạng thời hạn", "Timeliness"),
    "label.pending_offer": ("Đang chờ tiếp nhận", "Offer awaiting acceptance"),
    # --- the step table --------------------------------------------------------------------
    "label.steps": ("Quá trình giải quyết hồ sơ", "Processing steps"),
    "col.no": ("TT", "No."),
    "col.step": ("Tên bước / việc", "Step"),
    "col.giver": ("Bên giao", "Given by"),
    "col.receiver": ("Bên nhận", "Received by"),
    "col.given_at": ("Thời gian giao", "Given at"),
    "col.received_at": ("Thời gian nhận", "Received at"),
    "col.due": ("Hạn của bước", "Step due"),
    "col.result": ("Kết quả", "Result"),
    "col.signatures": ("Chữ ký", "Signatures"),
    "col.notes": ("Ghi chú", "Notes"),
    "label.applicant_party": ("Người nộp hồ sơ", "Applicant"),
    "label.key": ("khóa", "key"),
    "label.signature_valid": ("chữ ký hợp lệ", "signature valid"),
    "label.signature_unverified": ("chưa kiểm chứng", "not verified"),
    "label.statement_no": ("bản ghi", "statement"),
    "label.see_decisions": ("xem mục Quyết định", "see Decisions"),
    "label.step_held": ("giữ hồ sơ", "held"),
    "label.step_until": ("đến", "until"),
    "label.still_running": ("đang xử lý", "in progress"),
    "label.reason": ("Lý do", "Reason"),
    "label.instructions": ("Nội dung giao", "Instructions"),
    "label.note": ("Ghi chú", "Note"),
    "label.direction": ("Hướng chuyển", "Direction"),
    "label.question": ("Nội dung xin ý kiến", "Question"),
    "label.proposed_position": ("Ý kiến đề xuất", "Proposed position"),
    "label.no_proposed_position": (
        "không kèm ý kiến đề xuất",
        "no proposed position",
    ),
    "label.required_by": (
        "Căn cứ pháp lý bắt buộc xin ý kiến",
        "Legal basis requiring the consultation",
    ),
    "label.reply_due": ("Hạn trả lời", "Reply due"),
    "label.answer": ("Trả lời", "Answer"),
    "label.items": ("Giấy tờ yêu cầu bổ sung", "Items requested"),
    "label.pause_days": ("Tạm dừng", "Paused"),
    "label.no_new_pause": (
        "yêu cầu thêm trong lúc đang tạm dừng: không mở thêm thời gian tạm dừng",
        "asked again while paused: no new pause",
    ),
    "label.summary": ("Trích yếu", "Summary"),
    "label.legal_basis": ("Căn cứ pháp lý", "Legal basis"),
    "label.document_sha256": ("SHA-256 văn bản", "Document SHA-256"),
    "label.corrections": ("Đính chính", "Corrections"),
    "label.correction_of": ("đính chính bản ghi", "corrects statement"),
    "label.corrected_fields": ("Nội dung đính chính", "Corrected fields"),
    "label.overdue_by": ("quá hạn", "late by"),
    # --- decisions, consultations, flags ---------------------------------------------------
    "label.decisions": ("Quyết định và căn cứ thẩm quyền", "Decisions and their authority"),
    "label.decider": ("Người quyết định", "Decider"),
    "label.outcome": ("Kết quả quyết định", "Outcome"),
    "label.capacity": ("Tư cách ký (người ký tự khai)", "Capacity (as claimed)"),
    "label.competence": (
        "Thẩm quyền (sổ cái xác định theo sổ đăng ký)",
        "Competence (the ledger's finding from the registry)",
    ),
    "label.authority": ("Căn cứ thẩm quyền", "Authority"),
    "label.authority_own": ("thẩm quyền được giao theo", "competence granted by"),
    "label.authority_delegation": ("theo văn bản", "under instrument"),
    "label.authority_grantor": ("của", "from"),
    "label.authority_valid": ("hiệu lực", "valid"),
    "label.authority_grantor_own": (
        "người giao có thẩm quyền theo",
        "the grantor's competence granted by",
    ),
    "label.authority_none": (
        "sổ đăng ký không ghi nhận thẩm quyền, ủy quyền hay phân cấp nào cho người quyết "
        "định về thủ tục này tại thời điểm quyết định",
        "the registry records no competence, delegation or devolution to the decider for "
        "this procedure at the time of the decision",
    ),
    "label.claimed_delegation": ("văn bản người ký viện dẫn", "instrument the signer cited"),
    "label.latest_stands": ("quyết định sau cùng có hiệu lực", "the latest decision stands"),
    "label.no_decisions": ("Chưa có quyết định.", "No decision yet."),
    "label.consultations": ("Xin ý kiến", "Consultations"),
    "label.requester": ("Người xin ý kiến", "Requested by"),
    "label.consultee": ("Người được xin ý kiến", "Consulted"),
    "label.requested_at": ("Thời gian xin ý kiến", "Requested at"),
    "label.answered_at": ("Thời gian trả lời", "Answered at"),
    "label.position": ("Ý kiến trả lời", "Position"),
    "label.no_consultations": ("Không có xin ý kiến.", "No consultations."),
    "label.unavailable": (
        "Không tính được phiếu kiểm soát của hồ sơ này: một giá trị đã ghi sổ nằm ngoài "
        "phạm vi lịch ngày làm việc (ghi theo quy tắc phiên bản 3). Các bản ghi của hồ sơ "
        "vẫn có trong hồ sơ chứng cứ và đã được kiểm chứng.",
        "This matter's control slip cannot be computed: a recorded value lies outside the "
        "working-day calendar (recorded under rules version 3). Its entries are in the "
        "bundle and verified.",
    ),
    "label.flags": ("Các sự kiện được ghi nhận", "Facts noted"),
    "label.flags_note": (
        "Sự kiện do sổ cái ghi nhận theo quy tắc, không phải kết luận vi phạm; mỗi sự kiện "
        "dẫn tới các bản ghi làm căn cứ.",
        "Facts the ledger notes by its rules, not findings of fault; each points to the "
        "statements behind it.",
    ),
    "label.no_flags": ("Không có.", "None."),
    "label.applies": (
        "Dấu hiệu chỉ số áp dụng cho hồ sơ này",
        "Indicators this matter counts towards",
    ),
    "label.statements": ("Danh mục bản ghi đã ký", "Signed statements"),
    "col.seq": ("Số thứ tự", "Seq"),
    "col.event_id": ("Mã bản ghi", "Event id"),
    "col.type": ("Loại", "Type"),
    "col.signer": ("Người ký", "Signed by"),
    "col.key_id": ("Mã khóa ký", "Key id"),
    "col.occurred_at": ("Thời gian xảy ra", "Occurred"),
    "col.recorded_at": ("Thời gian ghi sổ", "Recorded"),
    "col.flags": ("Ghi nhận", "Noted"),
    # --- an official's bundle --------------------------------------------------------------
    "label.official": ("Cán bộ", "Official"),
    "label.official_id": ("Mã cán bộ", "Official id"),
    "label.full_name": ("Họ và tên", "Name"),
    "label.job_position": ("Chức vụ", "Position"),
    "label.unit": ("Đơn vị", "Unit"),
    "label.agency_of": ("Cơ quan", "Agency"),
    "label.period": ("Kỳ xem xét", "Period"),
    "label.period_open": ("không giới hạn", "unbounded"),
    "label.matters_in_bundle": ("Hồ sơ trong hồ sơ chứng cứ", "Matters in this bundle"),
    "label.indicators": ("Tổng hợp chỉ số", "Indicator summary"),
    "col.indicator": ("Chỉ số", "Indicator"),
    "col.value": ("Giá trị", "Value"),
    "col.count": ("Số hồ sơ / lần", "Count"),
    "col.percentile": ("Thứ hạng so với toàn tỉnh", "Province-wide percentile"),
    "col.peers": ("Số cán bộ so sánh", "Group size"),
    "col.matters": ("Hồ sơ", "Matters"),
    "label.percentile_not_derived": (
        "không tính trong hồ sơ chứng cứ",
        "not computed in an evidence bundle",
    ),
    "label.percentile_note": (
        "Hồ sơ chứng cứ chỉ chứa các hồ sơ của cán bộ này, không chứa toàn bộ lịch sử của "
        "các cán bộ khác trong tỉnh, nên không thể tính lại thứ hạng (bách phân vị) khi kiểm "
        "chứng ngoại tuyến; thứ hạng do máy chủ tính chỉ có tại giao diện tra cứu, không "
        "được kiểm chứng ở đây. Giá trị và số đếm dưới đây được tính lại từ các bản ghi "
        "trong hồ sơ chứng cứ.",
        "An evidence bundle holds this official's matters only, not the whole history of "
        "the province's other officials, so a percentile cannot be derived again offline; "
        "the server's percentiles are in the console and are not verified here. The values "
        "and counts below are derived again from the statements in this bundle.",
    ),
    "label.hours": ("giờ làm việc", "working hours"),
    "label.median": ("trung vị", "median"),
    "label.total_overdue_days": ("tổng số ngày làm việc quá hạn", "total overdue working days"),
    "label.longest_idle": ("lâu nhất không xử lý", "longest idle"),
    "label.no_value": ("chưa có dữ liệu", "no data"),
    # --- field names a correction may change ----------------------------------------------
    "field.title": ("tên hồ sơ", "title"),
    "field.procedure_code": ("mã thủ tục", "procedure code"),
    "field.agency_id": ("cơ quan", "agency"),
    "field.deadline_working_days": ("thời hạn (ngày làm việc)", "time limit (working days)"),
    "field.applicant_ref": ("người nộp hồ sơ", "applicant"),
    "field.instructions": ("nội dung giao", "instructions"),
    "field.due_at": ("hạn", "due time"),
    "field.reason": ("lý do", "reason"),
    "field.note": ("ghi chú", "note"),
    "field.question": ("nội dung xin ý kiến", "question"),
    "field.proposed_position": ("ý kiến đề xuất", "proposed position"),
    "field.reply_due_at": ("hạn trả lời", "reply due"),
    "field.required_by": ("căn cứ bắt buộc xin ý kiến", "legal basis requiring it"),
    "field.position": ("ý kiến trả lời", "position"),
    "field.text": ("nội dung trả lời", "text"),
    "field.items": ("giấy tờ yêu cầu bổ sung", "items"),
    "field.new_due_at": ("hẹn mới", "new due time"),
    "field.apology_document": ("văn bản xin lỗi", "apology letter"),
    "field.outcome": ("kết quả quyết định", "outcome"),
    "field.summary": ("trích yếu", "summary"),
    "field.legal_basis": ("căn cứ pháp lý", "legal basis"),
    "field.capacity": ("tư cách ký", "capacity"),
    "field.delegation_id": ("văn bản ủy quyền", "delegation"),
    "field.document_sha256": ("SHA-256 văn bản", "document SHA-256"),
    "field.result": ("kết quả giải quyết", "result"),
    "field.corrections": ("nội dung đính chính", "corrections"),
    "field.target_event_id": ("bản ghi được đính chính", "corrected statement"),
    # --- codes: step kinds -----------------------------------------------------------------
    "step.opened": ("Tiếp nhận hồ sơ", "Dossier received"),
    "step.assigned_lead": ("Giao việc chủ trì", "Assigned to lead"),
    "step.assigned_support": ("Giao việc phối hợp", "Assigned to support"),
    "step.handoff": ("Chuyển xử lý", "Hand-over"),
    "step.consultation": ("Xin ý kiến", "Consultation"),
    "step.supplement": ("Yêu cầu bổ sung hồ sơ", "Supplement requested"),
    "step.extension": ("Gia hạn thời hạn giải quyết", "Deadline extended"),
    "step.decision": ("Quyết định", "Decision"),
    "step.closed": ("Kết thúc, trả kết quả", "Closed, result returned"),
    "step.statement": ("Bản ghi khác", "Other statement"),
    # --- codes: a row's state --------------------------------------------------------------
    "state.accepted": ("đã tiếp nhận", "accepted"),
    "state.returned": ("bị trả lại", "returned"),
    "state.withdrawn": ("đã rút lại", "withdrawn"),
    "state.pending": ("đang chờ tiếp nhận", "awaiting acceptance"),
    "state.cancelled": (
        "chưa được trả lời thì đã có giao việc chủ trì hoặc hồ sơ kết thúc",
        "ended unanswered by a lead assignment or the closing",
    ),
    "state.answered": ("đã trả lời", "answered"),
    "state.deemed_agreed": (
        "không trả lời đúng hạn: coi như đồng ý",
        "no answer by the deadline: deemed agreed",
    ),
    "state.awaiting_answer": ("đang chờ trả lời", "awaiting an answer"),
    "state.closed_first": (
        "hồ sơ kết thúc trước hạn trả lời",
        "the matter closed before the reply was due",
    ),
    "state.received": ("đã nhận bổ sung", "supplement received"),
    "state.paused": ("đang tạm dừng chờ bổ sung", "paused, awaiting the supplement"),
    "state.within_pause": ("yêu cầu thêm trong lúc tạm dừng", "asked again while paused"),
    # --- codes: results --------------------------------------------------------------------
    "result.before": ("trước hạn", "before time"),
    "result.on_time": ("đúng hạn", "on time"),
    "result.late": ("quá hạn", "late"),
    "result.running": ("đang xử lý, chưa đến hạn", "in progress, not yet due"),
    "due_source.task": ("hạn giao việc", "task due time"),
    "due_source.matter": ("hạn giải quyết hồ sơ", "the matter's due time"),
    "due_source.reply": ("hạn trả lời", "reply due time"),
    "status.open": ("đang giải quyết", "open"),
    "status.closed": ("đã kết thúc", "closed"),
    # --- codes: the ledger's enumerations --------------------------------------------------
    "role.lead": ("chủ trì", "lead"),
    "role.support": ("phối hợp", "support"),
    "outcome.approved": ("chấp thuận", "approved"),
    "outcome.rejected": ("từ chối", "rejected"),
    "outcome.other": ("khác", "other"),
    "capacity.own": ("thẩm quyền của mình", "own competence"),
    "capacity.delegated": ("được ủy quyền, phân cấp", "delegated"),
    "capacity.on_behalf": ("ký thay (KT.)", "signing on behalf (KT.)"),
    "competence.own": ("thuộc thẩm quyền (theo sổ đăng ký)", "own competence (per the registry)"),
    "competence.delegated": (
        "được ủy quyền, phân cấp (theo sổ đăng ký)",
        "delegated (per the registry)",
    ),
    "competence.none": (
        "không tìm thấy thẩm quyền (theo sổ đăng ký)",
        "no competence found (per the registry)",
    ),
    "delegation.uy_quyen": ("ủy quyền", "authorisation (ủy quyền)"),
    "delegation.phan_cap": ("phân cấp", "devolution (phân cấp)"),
    "delegation.ky_thay": ("ký thay (KT.)", "signing on behalf (ký thay)"),
    "direction.up": ("lên cấp trên", "up"),
    "direction.down": ("xuống cấp dưới", "down"),
    "direction.lateral": ("ngang cấp", "lateral"),
    "direction.up_external": ("lên cơ quan cấp trên", "up to a higher agency"),
    "direction.external": ("sang cơ quan khác", "to another agency"),
    "position.agree": ("đồng ý", "agree"),
    "position.disagree": ("không đồng ý", "disagree"),
    "position.conditional": ("đồng ý có điều kiện", "agree with conditions"),
    "position.no_position": ("không nêu quan điểm", "no position stated"),
    "return_reason.not_competent": (
        "bên nhận cho rằng không thuộc thẩm quyền của mình",
        "the addressee says it is not theirs to handle",
    ),
    "return_reason.incomplete": ("hồ sơ chưa đầy đủ", "incomplete dossier"),
    "return_reason.other": ("lý do khác", "other reason"),
    "closed.completed": ("hoàn thành", "completed"),
    "closed.withdrawn": ("rút hồ sơ", "withdrawn"),
    "closed.stopped": ("dừng giải quyết", "stopped"),
    "type.matter.opened": ("tiếp nhận, mở hồ sơ", "matter opened"),
    "type.task.assigned": ("giao việc", "task assigned"),
    "type.handoff.offered": ("chuyển xử lý", "hand-over offered"),
    "type.handoff.accepted": ("tiếp nhận chuyển xử lý", "hand-over accepted"),
    "type.handoff.returned": ("trả lại chuyển xử lý", "hand-over returned"),
    "type.handoff.withdrawn": ("rút lại chuyển xử lý", "hand-over withdrawn"),
    "type.consultation.requested": ("đề nghị cho ý kiến", "consultation requested"),
    "type.consultation.answered": ("trả lời xin ý kiến", "consultation answered"),
    "type.supplement.requested": ("yêu cầu bổ sung hồ sơ", "supplement requested"),
    "type.supplement.received": ("đã bổ sung hồ sơ", "supplement received"),
    "type.deadline.extended": ("gia hạn", "deadline extended"),
    "type.decision.recorded": ("quyết định", "decision recorded"),
    "type.matter.closed": ("kết thúc hồ sơ", "matter closed"),
    "type.correction.recorded": ("đính chính", "correction recorded"),
    # --- codes: flags (facts, in neutral words) --------------------------------------------
    "flag.recorded_late": (
        "ghi sổ muộn (hơn 24 giờ sau khi xảy ra)",
        "recorded late (more than 24 hours after it occurred)",
    ),
    "flag.unanswerable": (
        "người nhận chưa có khóa ký hợp lệ tại thời điểm đó",
        "the addressee had no valid signing key then",
    ),
    "flag.escalation_within_competence": (
        "chuyển lên cấp trên khi người chuyển đang có thẩm quyền giải quyết (theo sổ đăng ký)",
        "sent up while the sender held competence for it (per the registry)",
    ),
    "flag.returned": ("chuyển xử lý bị trả lại", "hand-over returned"),
    "flag.repeated_extension": ("gia hạn lần thứ hai trở lên", "second or later extension"),
    "flag.outside_competence": (
        "quyết định khi sổ đăng ký không ghi nhận thẩm quyền của người quyết định",
        "decision where the registry records no competence of the decider",
    ),
    "flag.capacity_mismatch": (
        "tư cách ký tự khai khác với ghi nhận của sổ đăng ký",
        "claimed capacity differs from the registry's finding",
    ),
    "flag.retroactive_registry_change": (
        "dữ liệu đăng ký được ghi sau nhưng có hiệu lực từ trước",
        "registry data recorded later with an earlier effect",
    ),
    "flag.overdue": ("hồ sơ quá hạn", "matter overdue"),
    "flag.extension_after_due": ("gia hạn sau khi đã quá hạn", "extension after the due time"),
    "flag.late_answer": ("trả lời xin ý kiến sau hạn", "consultation answered after its deadline"),
    "flag.deemed_agreed": (
        "xin ý kiến không được trả lời đúng hạn: coi như đồng ý",
        "consultation unanswered by its deadline: deemed agreed",
    ),
    # --- codes: indicators (DESIGN §7) -----------------------------------------------------
    "indicator.escalation_within_competence": (
        "đẩy việc thuộc thẩm quyền lên cấp trên",
        "escalation within competence",
    ),
    "indicator.positionless_consultation": (
        "xin ý kiến không kèm ý kiến đề xuất",
        "consultation without a proposed position",
    ),
    "indicator.ping_pong": ("đùn đẩy qua lại", "ping-pong"),
    "indicator.returned_handoffs": (
        "chuyển sai thẩm quyền bị trả lại",
        "hand-overs returned as not competent",
    ),
    "indicator.overdue": ("quá hạn", "overdue"),
    "indicator.unresponsive_consultee": (
        "chậm, không trả lời xin ý kiến hoặc trả lời không rõ quan điểm",
        "late, missing or positionless answers to consultations",
    ),
    "indicator.first_action_delay": (
        "thời gian chậm bắt đầu xử lý (giờ làm việc)",
        "first-action delay (working hours)",
    ),
    "indicator.decisions_outside_competence": (
        "quyết định khi sổ đăng ký không ghi nhận thẩm quyền",
        "decisions where the registry records no competence",
    ),
    "indicator.repeated_supplement_requests": (
        "yêu cầu bổ sung hồ sơ nhiều lần",
        "repeated supplement requests",
    ),
    "indicator.competence_unused": (
        "việc thuộc thẩm quyền nhưng để cấp khác quyết định",
        "competence left unused",
    ),
    "indicator.missed_step_deadlines": ("trễ hạn bước được giao", "missed step deadlines"),
    "indicator.idle_custody": ("giữ hồ sơ không xử lý", "idle custody"),
}

# The codes each group can hold, from the ledger's schema and rules (a test requires a
# name for each; the step table's own codes are listed here too).
GROUPS: dict[str, tuple[str, ...]] = {
    "step": (
        "opened",
        "assigned_lead",
        "assigned_support",
        "handoff",
        "consultation",
        "supplement",
        "extension",
        "decision",
        "closed",
        "statement",
    ),
    "state": (
        "accepted",
        "returned",
        "withdrawn",
        "pending",
        "cancelled",
        "answered",
        "deemed_agreed",
        "awaiting_answer",
        "closed_first",
        "received",
        "paused",
        "within_pause",
    ),
    "result": ("before", "on_time", "late", "running"),
    "due_source": ("task", "matter", "reply"),
    "status": ("open", "closed"),
    "role": ("lead", "support"),
    "outcome": ("approved", "rejected", "other"),
    "capacity": ("own", "delegated", "on_behalf"),
    "competence": ("own", "delegated", "none"),
    "delegation": ("uy_quyen", "phan_cap", "ky_thay"),
    "direction": ("up", "down", "lateral", "up_external", "external"),
    "position": ("agree", "disagree", "conditional", "no_position"),
    "return_reason": ("not_competent", "incomplete", "other"),
    "closed": ("completed", "withdrawn", "stopped"),
}


class MissingTranslation(KeyError):
    """A view model holds a code the catalogue has no name for."""


class Translator:
    """``t(key)`` in one language. ``strict`` raises on a key the catalogue lacks (tests);
    otherwise the key is returned, marked, so a page still renders and shows the gap."""

    def __init__(self, lang: Language, *, strict: bool = False) -> None:
        if lang not in LANGUAGES:
            raise ValueError(f"language {lang!r}: use vi or en")
        self.lang = lang
        self.column = LANGUAGES.index(lang)
        self.strict = strict
        self.used: set[str] = set()

    def __call__(self, key: str) -> str:
        self.used.add(key)
        words = CATALOGUE.get(key)
        if words is None:
            if self.strict:
                raise MissingTranslation(key)
            return f"⟨{key}⟩"
        return words[self.column]

    def has(self, key: str) -> bool:
        return key in CATALOGUE


def when(instant: str | None) -> str:
    """An instant as people read it on form 06: ``dd/mm/yyyy HH:mm`` in ICT."""
    if not instant:
        return ""
    moment: datetime = parse_instant(instant).astimezone(ICT)
    return moment.strftime("%d/%m/%Y %H:%M")


def day(text: str | None) -> str:
    """A ``YYYY-MM-DD`` date as ``dd/mm/yyyy``."""
    if not text:
        return ""
    year, month, dd = text.split("-")
    return f"{dd}/{month}/{year}"


def translate_warning(warning: str, t: Translator) -> str:
    """The verifier's warnings are English sentences; the known one has a Vietnamese text."""
    if warning.startswith("NO --vkey GIVEN"):
        return t("warning.no_vkey")
    return warning
