"""Evidence bundles (DESIGN §9): one JSON document a disciplinary council checks offline.

A bundle holds the entries themselves (their exact bytes, base64), every registry entry of
the log below the bundle's tree size (genesis, roots, agencies, registrars, officials,
keys, competences, delegations, calendar adjustments: everything a signature or a
competence finding can depend on), an inclusion proof of each against one checkpoint (the
latest cosigned one where witnesses exist), that checkpoint with its cosignatures, a head
attestation for every subject in it, the calendar days used, the log's vkey, the genesis,
and the rendering the entries give — the matter read model, custody and the form-06 slip
of each matter, an official's summary — which ``bundle verify`` derives again and compares.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from evidence.derive import admit_all, rendering
from evidence.verify import time_rules_json
from ledger import __version__
from ledger.application import Ledger
from ledger.errors import MalformedRequest, NotFound
from ledger.storage import LogRecord, StoredCheckpoint
from ledger.times import format_recorded_at, utc_now
from ledger.transparency import TransparencyLog
from ledger.workdays import ict_text
from projections.reads import ReadModels

# 2: the rendering reads like form 06 (``evidence.slip``), names beside ids, an official's
# summary; version 1 bundles keep verifying with version 1's derivation (``evidence.v1``).
BUNDLE_VERSION = 2

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


def _checkpoint(log: TransparencyLog, as_of: datetime | None) -> StoredCheckpoint:
    """The latest cosigned checkpoint (else the latest); for ``as_of``, the first one that
    covers every entry recorded by then."""
    recorder = log.recorder
    if as_of is not None:
        last = recorder.index_recorded_by(format_recorded_at(as_of))
        if last < 0:
            raise NotFound(f"nothing was recorded by {as_of.isoformat()}")
        found = recorder.checkpoint_covering(last + 1)
        if found is None:
            raise NotFound(
                "no signed checkpoint covers the entries recorded by "
                f"{as_of.isoformat()} yet; try again in a second"
            )
        return found
    size = recorder.latest_cosigned_size()
    found = log.latest() if size is None else recorder.checkpoint(size)
    assert found is not None
    return found


def export(
    ledger: Ledger,
    *,
    matter_id: str | None = None,
    official_id: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    as_of: datetime | None = None,
    reads: ReadModels | None = None,
) -> dict[str, Any]:
    """A bundle for one matter, or for everything an official was party to in [start, end)."""
    if (matter_id is None) == (official_id is None):
        raise MalformedRequest("give a matter, or an official and a period")
    log = ledger.transparency
    if log is None:
        raise NotFound("this process serves no transparency log")
    checkpoint = _checkpoint(log, as_of)
    recorder = ledger.recorder
    if official_id is not None:
        if reads is None:
            raise NotFound("an official's bundle needs the read models")
        # The matters come from the read models: the checkpoint must not reach past them,
        # or a matter projected later would be missing without a word.
        projected = min(reads.positions().values())
        if checkpoint.size > projected + 1:
            within = recorder.checkpoint_within(projected + 1)
            if within is None:
                raise NotFound("the read models have not caught up with any checkpoint yet")
            checkpoint = within
    size = checkpoint.size
    exported_at = utc_now()
    evaluated_at = min(as_of, exported_at) if as_of is not None else exported_at
    records: dict[int, LogRecord] = {r.index: r for r in recorder.registry_records(size)}
    wanted = [matter_id] if matter_id is not None else []
    if official_id is not None:
        assert reads is not None
        wanted = _matters_of(reads, official_id, start, end, as_of)
    matter_ids: list[str] = []
    for mid in wanted:
        chain = [
            r for r in recorder.subject_records(f"matter:{mid}", -1, 1_000_000) if r.index < size
        ]
        if not chain:
            if matter_id is not None:
                raise NotFound(f"no matter {mid} in the log at tree size {size}")
            continue
        matter_ids.append(mid)
        records.update((r.index, r) for r in chain)
    ordered = [records[i] for i in sorted(records)]
    entries = []
    for record in ordered:
        proof = log.inclusion_proof(index=record.index, tree_size=size)
        entries.append(
            {
                "index": record.index,
                "entry": base64.b64encode(record.entry).decode(),
                "inclusion_proof": [h.hex() for h in proof.hashes],
            }
        )
    subjects = sorted({r.subject for r in ordered})
    attestations = [log.attest_head(subject, size) for subject in subjects]
    heads = {
        a["subject"]: {"seq": a["seq"], "envelope_hash": a["envelope_hash"]} for a in attestations
    }
    derived = admit_all((r.index, r.entry) for r in ordered)
    if derived.failures:  # the log's own entries must pass: anything else is an integrity fault
        raise RuntimeError(f"the log's entries fail their own checks: {derived.failures[0]}")
    notes = checkpoint.note + "".join(recorder.cosignature_lines(size))
    genesis = records.get(0)
    assert genesis is not None, "the genesis is a registry entry below every tree size"
    scope: dict[str, Any] = (
        {"matter_id": matter_id}
        if matter_id is not None
        else {
            "official_id": official_id,
            "from": None if start is None else ict_text(start),
            "to": None if end is None else ict_text(end),
            "matters": matter_ids,
        }
    )
    manifest: dict[str, Any] = {
        "origin": log.origin,
        "tree_size": size,
        "scope": scope,
        "subjects": heads,
    }
    manifest["signature"] = log.sign_manifest(manifest)
    return {
        "bundle_version": BUNDLE_VERSION,
        "kind": "matter" if matter_id is not None else "official",
        "scope": scope,
        "as_of": None if as_of is None else ict_text(as_of),
        "exported_at": ict_text(exported_at),
        "exported_by": f"accountability-ledger {__version__}",
        "log": {"origin": log.origin, "vkey": log.vkey},
        "genesis": {"index": 0, "entry": base64.b64encode(genesis.entry).decode()},
        "checkpoint": notes,
        "tree_size": size,
        "time_rules": time_rules_json(derived.time_rules, BUNDLE_VERSION),
        "entries": entries,
        "head_attestations": attestations,
        "manifest": manifest,
        "claims": CLAIMS_MATTER if matter_id is not None else CLAIMS_OFFICIAL,
        "rendering": rendering(derived, matter_ids, evaluated_at, scope),
    }


def _matters_of(
    reads: ReadModels,
    official_id: str,
    start: datetime | None,
    end: datetime | None,
    as_of: datetime | None,
) -> list[str]:
    """The matters the official is party to in [start, end), as the timeline knows them."""
    cut = reads.cut(as_of=as_of, start=start, to=end)
    found: set[str] = set()
    after: int | None = None
    while True:
        page = reads.timeline(official_id, cut, after=after, limit=1000)
        found.update(r["matter_id"] for r in page["rows"] if r["matter_id"])
        after = page["next_after"]
        if after is None:
            return sorted(found)
