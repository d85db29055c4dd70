"""Vietnamese text survives the round trip byte for byte, in NFC and in NFD."""

from __future__ import annotations

import json
import unicodedata

from ledger.canonical import jcs
from tests.world import World

NAME = "Nguyễn Thị Ánh Tuyết"


def test_nfc_and_nfd_names_are_stored_and_served_exactly_as_signed(world: World) -> None:
    agency = world.agency("H10", name="Sở Tài nguyên và Môi trường")
    nfc = unicodedata.normalize("NFC", NAME)
    nfd = unicodedata.normalize("NFD", NAME)
    assert nfc.encode() != nfd.encode()
    signed = {}
    for official_id, name in (("tuyet.nfc", nfc), ("tuyet.nfd", nfd)):
        env = world.envelope(
            "official.registered",
            f"official:{official_id}",
            agency.registrar,
            {
                "full_name": name,
                "agency_id": agency.id,
                "unit_id": agency.root_unit,
                "position": "Chuyên viên chính",
                "is_head": False,
            },
        )
        assert world.post(env).status_code == 201
        signed[official_id] = (name, jcs(env["statement"]))
    for official_id, (name, statement_bytes) in signed.items():
        raw = world.http.get(f"/v1/subjects/official:{official_id}/entries").content
        # The stored statement is the signed canonical bytes, spliced verbatim.
        assert statement_bytes in raw
        assert name.encode("utf-8") in raw
        served = json.loads(raw)["entries"][0]["entry"]["statement"]["body"]["full_name"]
        assert served == name
        assert unicodedata.is_normalized("NFD" if official_id.endswith("nfd") else "NFC", served)
