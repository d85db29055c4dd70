"""``ledgerctl verify``: the whole-ledger audit, from a database or over HTTP.

What it prints can carry text from the log or a server (a subject, an error's detail): all
of it goes through ``evidence.verify.printable``, the one function by which the command
line shows text it did not write, so no stored byte can drive the terminal.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterator

import httpx
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from evidence.verify import printable
from ledger.application import Ledger
from ledger.audit import AuditReport, audit
from ledger.canonical import envelope_bytes, split_entry
from ledger.crypto import SigningKey
from ledger.errors import ConfigurationError, LedgerError
from ledger.note import format_vkey, parse_checkpoint, parse_note, parse_verifier
from ledger.settings import Settings
from ledger.storage import LogRecord, StoredCheckpoint

PAGE = 1000


def run_verify(
    *,
    settings: Settings | None,
    url: str | None,
    vkey: str | None,
    token: str | None,
    console: Console,
) -> int:
    """Audit and print a one-line summary on stdout; the exit code (0 only if all holds)."""
    try:
        report = _remote(url, vkey, token, console) if url else _local(settings, vkey, console)
    except (ConfigurationError, ValueError, httpx.HTTPError) as e:
        console.print(f"[bold red]error:[/] {shown(str(e))}", highlight=False)
        return 2
    for note in report.notes:
        console.print(f"[yellow]note:[/] {shown(note)}", highlight=False)
    sys.stdout.write(printable(report.summary()) + "\n")
    return 0 if report.ok else 1


def shown(text: str) -> str:
    """Text for the console: control characters escaped, and no Rich markup in it."""
    return escape(printable(text))


def _progress(console: Console, total: int) -> Progress:
    return Progress(
        TextColumn("verifying"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=True,
    )


def _local(settings: Settings | None, vkey: str | None, console: Console) -> AuditReport:
    assert settings is not None
    ledger = Ledger(settings.effective_database_url)
    try:
        recorder = ledger.recorder
        if vkey is None and settings.log_key_path.is_file() and recorder.size() > 0:
            # The key on file is the one this deployment signs with: trust it, not the log.
            from ledger.entries import decode_entry

            origin = getattr(
                decode_entry(recorder.records(0, 1)[0]).envelope.statement.body, "origin", None
            )
            if origin:
                vkey = format_vkey(origin, SigningKey.load(settings.log_key_path).public_bytes)
        total = recorder.size()
        with _progress(console, total) as progress:
            task = progress.add_task("entries", total=total)
            return audit(
                recorder.iter_records(),
                recorder.iter_checkpoints(),
                log_verifier=parse_verifier(vkey) if vkey else None,
                stored_nodes=recorder.nodes_in_range,
                stored_tree_size=recorder.tree_size(),
                progress=lambda done: progress.update(task, completed=done),
            )
    except LedgerError as e:
        raise ConfigurationError(str(e)) from None
    finally:
        ledger.close()


def split_log_entries(body: bytes) -> list[LogRecord]:
    """Entries of a ``/v1/log/entries`` answer with their exact bytes (never re-encoded)."""
    text = body.decode("utf-8")
    decoder = json.JSONDecoder()
    records: list[LogRecord] = []
    position = 0
    while True:
        start = text.find('{"index":', position)
        if start < 0:
            return records
        marker = text.index(',"entry":', start) + len(',"entry":')
        header = json.loads(text[start : marker - len(',"entry":')] + "}")
        entry_obj, end = decoder.raw_decode(text, marker)
        raw = text[marker:end].encode("utf-8")
        statement = entry_obj["statement"]
        envelope_canonical = envelope_bytes(split_entry(raw).statement, entry_obj["signature"])
        records.append(
            LogRecord(
                index=header["index"],
                event_id=statement["event_id"],
                subject=statement["subject"],
                seq=statement["seq"],
                leaf_hash=bytes.fromhex(header["leaf_hash"]),
                envelope_hash=hashlib.sha256(envelope_canonical).digest(),
                recorded_at=entry_obj["recorded_at"],
                entry=raw,
            )
        )
        position = end


def _remote(url: str | None, vkey: str | None, token: str | None, console: Console) -> AuditReport:
    assert url is not None
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=url, timeout=60.0, headers=headers) as http:
        key = http.get("/v1/log/key")
        key.raise_for_status()
        served_vkey = key.json()["vkey"]
        if vkey is not None and served_vkey != vkey:
            console.print(
                f"[yellow]note:[/] the server names log key {shown(str(served_vkey))}; "
                "verifying against the one given",
                highlight=False,
            )
        note_response = http.get("/v1/log/checkpoint")
        note_response.raise_for_status()
        note = note_response.text
        size = parse_checkpoint(parse_note(note).text).size
        latest = StoredCheckpoint(size, parse_checkpoint(parse_note(note).text).root, note, "")

        def records() -> Iterator[LogRecord]:
            for start in range(0, size, PAGE):
                response = http.get(
                    "/v1/log/entries", params={"start": start, "end": min(start + PAGE, size)}
                )
                response.raise_for_status()
                yield from split_log_entries(response.content)

        with _progress(console, size) as progress:
            task = progress.add_task("entries", total=size)
            return audit(
                records(),
                [latest],
                log_verifier=parse_verifier(vkey or served_vkey),
                progress=lambda done: progress.update(task, completed=done),
            )
