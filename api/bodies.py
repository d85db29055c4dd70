"""Request bodies: read within a limit on the event loop, parsed in a worker thread.

Reading is cheap (chunks appended until the limit, refused the moment it is passed, never
buffering more). Parsing is not: a 16 MiB batch parsed on the event loop held every other
request, ``/healthz`` included, for seconds (issue 13). So ``parse_batch`` runs in a worker
thread, and first counts the array's items no further than the limit allows, refusing a
batch of too many envelopes without decoding the rest of it.
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Any

from fastapi import Request

from ledger.canonical import parse_json_items
from ledger.errors import InvalidStatement, PayloadTooLarge, UnsupportedMediaType

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_PLAIN = json.JSONDecoder()  # only to find where each item ends; the strict parse judges


async def read_json_body(request: Request, limit: int) -> bytearray:
    """The body, refused with 413 past ``limit`` bytes before anything is parsed, then
    415 unless it is declared ``application/json`` (DESIGN §4 steps 2 and 3).

    A ``bytearray``: copying 16 MiB into ``bytes`` would hold the event loop for
    milliseconds; whoever needs ``bytes`` copies it in a worker thread."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(
            f"the body is {declared} bytes; the limit is {limit} bytes", limit=limit
        )
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"the body exceeds the limit of {limit} bytes", limit=limit)
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise UnsupportedMediaType(
            f"the body's Content-Type is {media_type or 'missing'}; send application/json"
        )
    return body


class _Prefix:
    """A UTF-8 body's text, decoded only as far as it has been read (in windows that
    double, so that a scan redone after each window costs twice the scan at most)."""

    def __init__(self, raw: bytes | bytearray) -> None:
        self.raw = raw
        self.text = ""
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._decoded = 0
        self._window = 256 * 1024

    def more(self) -> bool:
        """Decode the next window; ``False`` at the end of the body. Invalid UTF-8 raises
        ``UnicodeDecodeError``."""
        if self._decoded >= len(self.raw):
            return False
        piece = bytes(self.raw[self._decoded : self._decoded + self._window])
        self._decoded += len(piece)
        self._window *= 2
        self.text += self._decoder.decode(piece, final=self._decoded >= len(self.raw))
        return True

    def skip(self, at: int) -> int:
        """Where the whitespace from ``at`` ends, decoding on until something follows it
        (``len(text)`` only at the end of the body)."""
        while True:
            at = _skip(self.text, at)
            if at < len(self.text) or not self.more():
                return at

    def item(self, at: int) -> int | None:
        """Where the JSON value at ``at`` ends (``None`` if there is none): decoded on until
        something follows it, since a number cut by a window still parses."""
        while True:
            try:
                _, end = _PLAIN.raw_decode(self.text, at)
            except ValueError:
                if self.more():
                    continue
                return None
            if _skip(self.text, end) < len(self.text) or not self.more():
                return end


def _skip(text: str, at: int) -> int:
    """Where the JSON whitespace from ``at`` ends."""
    found = _WHITESPACE.match(text, at)
    return at if found is None else found.end()


def count_items(raw: bytes | bytearray, most: int) -> int | None:
    """How many items the JSON array ``raw`` holds, counting no further than ``most`` + 1
    and decoding no further than that takes; ``None`` when ``raw`` is not plainly an array
    (the strict parser then says why)."""
    body = _Prefix(raw)
    try:
        at = body.skip(0)
        if body.text[at : at + 1] != "[":
            return None
        at = body.skip(at + 1)
        if body.text[at : at + 1] == "]":
            return 0
        count = 0
        while count <= most:
            end = body.item(at)
            if end is None:
                return None
            count += 1
            at = body.skip(end)
            if body.text[at : at + 1] == "]":
                return count
            if body.text[at : at + 1] != ",":
                return None
            at = body.skip(at + 1)
    except (UnicodeDecodeError, RecursionError):  # faults the strict parser names
        return None
    return count


def parse_batch(raw: bytes | bytearray, max_items: int) -> list[Any]:
    """A batch's items, each decoded or replaced by its own problem (DESIGN §8); 413 for
    more than ``max_items`` envelopes, found before the rest of the body is decoded.
    CPU-bound on up to 16 MiB: call it in a worker thread."""
    counted = count_items(raw, max_items)
    if counted is not None and counted > max_items:
        raise PayloadTooLarge(
            f"the batch holds more than {max_items} envelopes; the limit is {max_items}",
            limit=max_items,
        )
    items = parse_json_items(bytes(raw))
    if items is None:
        raise InvalidStatement("a batch is a JSON array of envelopes")
    if len(items) > max_items:  # an array the plain count could not read to its end
        raise PayloadTooLarge(
            f"the batch holds {len(items)} envelopes; the limit is {max_items}",
            limit=max_items,
        )
    return items
