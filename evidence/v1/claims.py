"""What a version-1 bundle states it proves, as version 1 stated it (frozen).

The verifier never reads a bundle's ``claims``: it states them itself, from the bundle's
version and kind, and refuses a bundle whose text differs. These are the words every
version-1 bundle carried (commit 1b45e1c, unchanged up to version 2): a bundle is evidence
for ten years, so they are kept here as issued, never edited to follow a later release.
"""

from __future__ import annotations

CLAIMS_MATTER = {
    "vi": [
        "Mọi bản ghi trong hồ sơ chứng cứ này đều có mặt trong sổ cái: mỗi bản ghi có bằng "
        "chứng có mặt trong cây Merkle của điểm chốt sổ đã ký.",
        "Với hồ sơ công việc: không có bản ghi nào bị thiếu trước bản ghi cuối cùng được "
        "trình bày (chuỗi prev liên tục từ seq 0).",
        "Sổ cái đã ký xác nhận rằng, tại kích thước cây của điểm chốt, bản ghi cuối cùng của "
        "hồ sơ là bản ghi được trình bày; nếu sau này lộ ra một bản ghi khác dưới kích thước "
        "đó thì chính chữ ký này chứng minh sổ cái đã gian dối.",
        "Sổ cái đã ký danh mục (manifest) mọi chủ thể đăng ký (cơ quan, cán bộ, khóa, thẩm "
        "quyền, ủy quyền, lịch) tại kích thước cây đó, nên không thể bỏ bớt dữ liệu đăng ký.",
        "Không chứng minh được điều gì xảy ra sau điểm chốt sổ, cũng như những việc không "
        "được ghi vào sổ cái.",
    ],
    "en": [
        "Every entry in this bundle is in the log: each has an inclusion proof in the Merkle "
        "tree of the signed checkpoint.",
        "For the matter: no statement is missing before the last one shown (the prev chain "
        "runs unbroken from seq 0).",
        "The log signed that at the checkpoint's tree size the matter's last statement was "
        "the last one shown; any later-revealed statement under that size would prove the "
        "log lied.",
        "The log signed the manifest of every registry subject (agencies, officials, keys, "
        "competences, delegations, the calendar) at that tree size, so none can be left out.",
        "It proves nothing about what happened after the checkpoint, nor about acts never "
        "recorded in the ledger.",
    ],
}

CLAIMS_OFFICIAL = {
    "vi": [
        "Mọi bản ghi trong hồ sơ chứng cứ này đều có mặt trong sổ cái và do người có tên ký "
        "bằng khóa còn hiệu lực vào thời điểm đó.",
        "Hồ sơ gồm toàn bộ lịch sử (đến điểm chốt) của mọi hồ sơ công việc mà cán bộ này có "
        "liên quan trong kỳ, theo dữ liệu của sổ cái; mỗi hồ sơ có xác nhận của sổ cái về "
        "bản ghi cuối cùng.",
        "Sổ cái đã ký danh mục (manifest) các hồ sơ công việc và mọi chủ thể đăng ký tại kích "
        "thước cây đó: nếu sau này lộ ra một hồ sơ mà cán bộ là bên liên quan trong kỳ nhưng "
        "không có trong danh mục, chữ ký này chứng minh sổ cái đã gian dối.",
        "Không chứng minh được rằng cán bộ không làm việc gì khác: một hồ sơ công việc mà "
        "cán bộ không được ghi là bên liên quan sẽ không có ở đây.",
    ],
    "en": [
        "Every entry in this bundle is in the log and was signed by the person named with a "
        "key valid at the time.",
        "It holds the whole history (to the checkpoint) of every matter the ledger shows the "
        "official party to in the period, each with the log's signed word on its last "
        "statement.",
        "The log signed the manifest of these matters and of every registry subject at that "
        "tree size: a matter later revealed where the official was party in the period but "
        "missing from it would prove the log lied.",
        "It cannot prove that the official did nothing else: a matter where the ledger does "
        "not name them as a party is not here.",
    ],
}
