"""Tampering behind the ledger's back: ``ledgerctl verify`` fails and names what is wrong.

Each test builds a small province, integrates it and signs checkpoints deterministically
(``transparency.step()``), then edits the database directly — sqlite3 or psycopg, never
the ledger — and runs the audit as the CLI does (DESIGN §5, §10).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
from rich.console import Console

from cli.verify import run_verify
from ledger.canonical import envelope_bytes, split_entry
from ledger.crypto import SigningKey, b64encode
from ledger.entries import leaf_hash
from ledger.note import Checkpoint
from ledger.settings import Settings
from ledger.storage import LogRecord
from tests.conftest import running_node
from tests.world import ORIGIN, Node, World

LEDGERCTL = str(Path(sys.executable).parent / "ledgerctl")


@pytest.fixture
def node(database_url: str, tmp_path: Path) -> Iterator[Node]:
    """The shared ``node``, but integrating only when a test calls ``step()``."""
    settings = Settings.load(tmp_path / "data", database_url=database_url, integrate=False)
    with running_node(settings, integrate=False) as running:
        yield running


class Tables:
    """The ledger's tables, reached directly (SQLite or a PostgreSQL schema)."""

    def __init__(self, url: str) -> None:
        self._sqlite: sqlite3.Connection | None = None
        self._pg: psycopg.Connection[Any] | None = None
        if url.startswith("sqlite:///"):
            self._sqlite = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
            base, self.names = "stored_events", {"id": "rowid"}
            self.names["events"] = base
            for suffix in ("log", "tree", "tree_size", "checkpoints"):
                self.names[suffix] = f"{base}_{suffix}"
        else:
            parts = urlsplit(url)
            schema = parse_qs(parts.query)["schema"][0]
            self._pg = psycopg.connect(parts._replace(query="").geturl(), autocommit=True)
            self.names = {"id": "notification_id", "events": f'"{schema}".ledger_events'}
            for suffix in ("log", "tree", "tree_size", "checkpoints"):
                self.names[suffix] = f'"{schema}"."ledger_events_{suffix}"'

    def run(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        sql = sql.format(**self.names)
        if self._sqlite is not None:
            return self._sqlite.execute(sql, params).fetchall()
        assert self._pg is not None
        cursor = self._pg.execute(sql.replace("?", "%s"), params)
        return cursor.fetchall() if cursor.description else []

    def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
        if self._pg is not None:
            self._pg.close()

    # --- what the tests edit ---------------------------------------------------------

    def entry_id(self, index: int) -> int:
        (row,) = self.run("SELECT notification_id FROM {log} WHERE log_index = ?", index)
        return int(row[0])

    def entry(self, index: int) -> bytes:
        (row,) = self.run("SELECT state FROM {events} WHERE {id} = ?", self.entry_id(index))
        return bytes(row[0])

    def set_entry(self, index: int, data: bytes) -> None:
        self.run("UPDATE {events} SET state = ? WHERE {id} = ?", data, self.entry_id(index))

    def delete_entries(self, *indexes: int) -> None:
        for index in indexes:
            self.run("DELETE FROM {events} WHERE {id} = ?", self.entry_id(index))
            self.run("DELETE FROM {log} WHERE log_index = ?", index)


@pytest.fixture
def tables(node: Node) -> Iterator[Tables]:
    db = Tables(node.settings.effective_database_url)
    yield db
    db.close()


@dataclass(frozen=True)
class Province:
    records: list[LogRecord]
    checkpoints: list[int]  # the sizes of the signed checkpoints, in order

    @property
    def size(self) -> int:
        return len(self.records)

    def find(self, subject: str, seq: int) -> LogRecord:
        return next(r for r in self.records if r.subject == subject and r.seq == seq)


@pytest.fixture
def province(world: World) -> Province:
    """30 entries over nine subjects and four checkpoints, all integrated."""
    log = world.ledger.transparency
    assert log is not None
    sizes: list[int] = []

    def checkpoint() -> None:
        signed = log.step()
        assert signed is not None
        sizes.append(signed.size)

    so = world.agency("H10")
    phong = world.unit(so, "phong-dat")
    truong = world.official("truong.phong", so, phong, head=True)
    cv = world.official("chuyen.vien", so, phong)
    world.grant(cv, so)
    checkpoint()
    other = world.agency("H20")
    world.official("can.bo", other)
    matters = [world.open_matter(f"H10.15-260302-000{i}", cv, so) for i in (1, 2, 3)]
    checkpoint()
    for matter in matters:
        offer = world.ok("handoff.offered", matter, cv, {"to": truong.id, "reason": "Xin ý kiến"})
        world.ok("handoff.accepted", matter, truong, {"in_reply_to": offer["event_id"]})
    checkpoint()
    for matter in matters:
        back = world.ok("handoff.offered", matter, truong, {"to": cv.id, "reason": "Trả lại"})
        world.ok("handoff.accepted", matter, cv, {"in_reply_to": back["event_id"]})
    checkpoint()
    records = world.ledger.records(0, world.ledger.size())
    assert len(records) == sizes[-1] >= 30
    return Province(records, sizes)


def audit(node: Node, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run ``ledgerctl verify``'s code path; its exit code and its one-line summary."""
    code = run_verify(
        settings=node.settings,
        url=None,
        vkey=None,
        token=None,
        console=Console(stderr=True),
    )
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1, lines
    return code, lines[0]


def failed(node: Node, capsys: pytest.CaptureFixture[str]) -> str:
    code, summary = audit(node, capsys)
    assert code == 1, summary
    assert summary.startswith("FAILED: "), summary
    return summary


def where(record: LogRecord, *, at: int | None = None) -> str:
    """How the summary names an entry (``at`` another index): index, subject, seq, event id."""
    index = record.index if at is None else at
    return f"entry {index} ({record.subject} seq {record.seq}, event {record.event_id})"


def ledgerctl_verify(node: Node) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    return subprocess.run(
        [
            LEDGERCTL,
            "verify",
            "--data-dir",
            str(node.settings.data_dir),
            "--database-url",
            node.settings.effective_database_url,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def edit_text(entry: bytes, member: bytes) -> bytes:
    """One ASCII letter changed inside a string member: still valid, canonical JSON."""
    at = entry.index(b'"' + member + b'":"') + len(member) + 4
    assert chr(entry[at]).isalpha(), entry[at - 10 : at + 10]
    changed = b"Q" if entry[at : at + 1] != b"Q" else b"R"
    return entry[:at] + changed + entry[at + 1 :]


# --- the untouched ledger -----------------------------------------------------------------


def test_the_audit_passes_on_an_untouched_ledger(
    node: Node, province: Province, capsys: pytest.CaptureFixture[str]
) -> None:
    code, summary = audit(node, capsys)
    assert code == 0, summary
    assert node.ledger.transparency is not None
    root = node.ledger.transparency.latest().root.hex()
    assert summary.startswith(
        f"OK: {province.size} entries, {len(province.checkpoints)} checkpoints"
    )
    assert summary.endswith(f"tree size {province.size}, root {root}")


def test_ledgerctl_verify_exits_0_with_an_ok_summary_when_the_ledger_is_intact(
    node: Node, province: Province
) -> None:
    result = ledgerctl_verify(node)
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.splitlines()
    assert line.startswith(f"OK: {province.size} entries, {len(province.checkpoints)} checkpoints")


def test_ledgerctl_verify_exits_1_and_prints_the_failure_on_stdout(
    node: Node, province: Province, tables: Tables
) -> None:
    victim = province.find("matter:H10.15-260302-0002", 1)
    tables.set_entry(victim.index, edit_text(tables.entry(victim.index), b"reason"))
    result = ledgerctl_verify(node)
    assert result.returncode == 1, result.stdout + result.stderr
    (line,) = result.stdout.splitlines()
    assert line.startswith(f"FAILED: {where(victim)}: "), line
    assert "leaf hash" in line


# --- (a) one byte of a stored entry ---------------------------------------------------


def test_a_byte_changed_in_a_stored_entry_is_a_leaf_hash_mismatch_at_its_index(
    node: Node, province: Province, tables: Tables, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = province.find("matter:H10.15-260302-0001", 1)  # handoff.offered
    tables.set_entry(victim.index, edit_text(tables.entry(victim.index), b"reason"))
    summary = failed(node, capsys)
    assert summary.startswith(f"FAILED: {where(victim)}: "), summary
    assert "leaf hash" in summary


def test_a_byte_changed_with_its_hashes_rewritten_to_match_is_a_bad_signature(
    node: Node, province: Province, tables: Tables, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = province.find("official:chuyen.vien", 0)  # official.registered
    forged = edit_text(tables.entry(victim.index), b"full_name")
    parts = split_entry(forged)
    tables.run(
        "UPDATE {log} SET leaf_hash = ?, envelope_hash = ? WHERE log_index = ?",
        leaf_hash(forged),
        hashlib.sha256(envelope_bytes(parts.statement, parts.signature)).digest(),
        victim.index,
    )
    tables.set_entry(victim.index, forged)
    summary = failed(node, capsys)
    assert summary.startswith(f"FAILED: {where(victim)}: "), summary
    assert "bad-signature" in summary
    assert "leaf hash" not in summary  # the hashes were made to match


def test_a_log_rows_recorded_at_that_disagrees_with_the_entry_bytes_is_named(
    node: Node, province: Province, tables: Tables, capsys: pytest.CaptureFixture[str]
) -> None:
    # Receipts serve (and the log signs) the log row's recorded_at: twelve hours off here
    # (whatever the hour the test runs at), a well-formed instant, but not what the entry's
    # bytes say.
    victim = province.find("matter:H10.15-260302-0001", 1)
    hour = (int(victim.recorded_at[11:13]) + 12) % 24
    other = f"{victim.recorded_at[:11]}{hour:02d}{victim.recorded_at[13:]}"
    assert other != victim.recorded_at
    tables.run("UPDATE {log} SET recorded_at = ? WHERE log_index = ?", other, victim.index)
    summary = failed(node, capsys)
    assert summary.startswith(f"FAILED: {where(victim)}: "), summary
    assert "recorded_at" in summary


def test_a_recorded_at_rewritten_in_the_bytes_with_the_leaf_hash_fixed_is_named_at_its_entry(
    node: Node, province: Province, tables: Tables, capsys: pytest.CaptureFixture[str]
) -> None:
    # recorded_at is outside the signed statement: only the hashes and the tree hold it.
    victim = province.find("matter:H10.15-260302-0003", 1)
    entry = tables.entry(victim.index)
    stamp = victim.recorded_at.encode()
    forged = entry.replace(stamp, stamp[:-4] + (b"9999" if stamp[-4:] != b"9999" else b"8888"))
    assert forged != entry
    tables.run(
        "UPDATE {log} SET leaf_hash = ? WHERE log_index = ?", leaf_hash(forged), victim.index
    )
    tables.set_entry(victim.index, forged)
    summary = failed(node, capsys)
    assert summary.startswith(f"FAILED: entry {victim.index}"), summary


# --- (b) a deleted entry ----------------------------------------------------------------


@pytest.mark.parametrize("row", ["events row", "log row"])
def test_a_deleted_entry_is_named_as_a_gap_in_the_index(
    node: Node, province: Province, tables: Tables, capsys: pytest.CaptureFixture[str], row: str
) -> None:
    gone = province.find("matter:H10.15-260302-0003", 0).index
    if row == "events row":
        tables.run("DELETE FROM {events} WHERE {id} = ?", tables.entry_id(gone))
    else:
        tables.run("DELETE FROM {log} WHERE log_index = ?", gone)
    summary = failed(node, capsys)
    assert summary.startswith(f"FAILED: {where(province.records[gone + 1])}: "), summary
    assert f"log index {gone + 1} follows {gone - 1}" in summary
    assert "not dense" in summary


def test_a_deleted_entry_with_the_later_indexes_closed_up_is_named_at_its_index(
    node: Node, province: Province, tables: Tables, capsys: pytest.CaptureFixture[str]
) -> None:
    # The last statement of a subject goes, and the log is renumbered to stay dense.
    gone = province.find("official:can.bo", 1)
    assert all(r.subject != gone.subject for r in province.records[gone.index + 1 :])
    tables.delete_entries(gone.index)
    for index in range(gone.index + 1, province.size):
        tables.run("UPDATE {log} SET log_index = ? WHERE log_index = ?", index - 1, index)
    summary = failed(node, capsys)
    assert summary.startswith(f"FAILED: entry {gone.index}"), summary


# --- (c) two entries swapped ------------------------------------------------------------


@pytest.mark.parametrize("how", ["bytes", "bytes and hashes"])
def test_two_entries_bytes_swapped_are_named_at_the_first(
    node: Node, province: Province, tables: Tables, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    first = province.find("official:truong.phong", 1)
    second = province.find("matter:H10.15-260302-0002", 2)
    a, b = tables.entry(first.index), tables.entry(second.index)
    tables.set_entry(first.index, b)
    tables.set_entry(second.index, a)
    if how == "bytes and hashes":  # the log rows' hashes follow the bytes (leaf_hash is unique)
        swap = "UPDATE {log} SET leaf_hash = ?, envelope_hash = ? WHERE log_index = ?"
        tables.run(swap, b"\0" * 32, b"\0" * 32, first.index)
        tables.run(swap, first.leaf_hash, first.envelope_hash, second.index)
        tables.run(swap, second.leaf_hash, second.envelope_hash, first.index)
    summary = failed(node, capsys)
    assert summary.startswith(f"FAILED: {where(first)}: "), summary
    assert f"{second.subject} seq {second.seq} ({second.event_id})" in summary


def test_two_adjacent_entries_reordered_with_their_log_rows_are_named_at_the_first(
    node: Node, province: Province, tables: Tables, capsys: pytest.CaptureFixture[str]
) -> None:
    # Two independent entries of two matters trade places, bytes, hashes and all: every
    # statement still chains, but recorded_at runs backwards and the tree's leaves differ.
    first = province.find("matter:H10.15-260302-0001", 2)
    second = province.records[first.index + 1]
    assert second.subject == "matter:H10.15-260302-0002"
    move = "UPDATE {log} SET log_index = ? WHERE log_index = ?"
    tables.run(move, -1, first.index)
    tables.run(move, first.index, second.index)
    tables.run(move, second.index, -1)
    summary = failed(node, capsys)
    assert summary.startswith(f"FAILED: {where(second, at=first.index)}: "), summary


# --- (d) the tail truncated -------------------------------------------------------------


def test_entries_removed_from_the_end_after_a_signed_checkpoint_are_named(
    node: Node, province: Province, tables: Tables, capsys: pytest.CaptureFixture[str]
) -> None:
    size = province.size
    tables.delete_entries(size - 1, size - 2, size - 3)
    summary = failed(node, capsys)
    assert f"checkpoint of size {size} was signed" in summary, summary
    assert f"holds only {size - 3} entries" in summary
    assert "removed from the end" in summary


# --- (e) a rewritten checkpoint ---------------------------------------------------------


@pytest.mark.parametrize(
    ("how", "kind"),
    [
        ("root edited in the note", "does not verify"),
        ("signed by another key", f"no signature by {ORIGIN}"),
        ("root column edited", "stored as root"),
        ("log key signs another root", "hash to"),
    ],
)
def test_a_rewritten_checkpoint_is_named_with_its_size(
    node: Node,
    province: Province,
    tables: Tables,
    capsys: pytest.CaptureFixture[str],
    how: str,
    kind: str,
) -> None:
    size = province.checkpoints[1]
    (row,) = tables.run("SELECT root, note FROM {checkpoints} WHERE tree_size = ?", size)
    root, note = bytes(row[0]), str(row[1])
    other = hashlib.sha256(b"another history").digest()
    if how == "root edited in the note":
        new_root, new_note = root, note.replace(b64encode(root), b64encode(other))
    elif how == "signed by another key":
        new_root, new_note = other, Checkpoint(ORIGIN, size, other).sign(SigningKey.generate())
    elif how == "root column edited":
        new_root, new_note = other, note
    else:
        log_key = SigningKey.load(node.settings.log_key_path)
        new_root, new_note = other, Checkpoint(ORIGIN, size, other).sign(log_key)
    assert new_note != note or new_root != root
    tables.run(
        "UPDATE {checkpoints} SET root = ?, note = ? WHERE tree_size = ?",
        new_root,
        new_note,
        size,
    )
    summary = failed(node, capsys)
    assert summary.startswith(f"FAILED: checkpoint of size {size}"), summary
    assert kind in summary


# --- (f) a stored tree node -------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "idx", "action"),
    [(0, 9, "different"), (1, 6, "different"), (3, 2, "different"), (2, 3, "missing")],
)
def test_a_changed_or_missing_stored_tree_node_is_named(
    node: Node,
    province: Province,
    tables: Tables,
    capsys: pytest.CaptureFixture[str],
    level: int,
    idx: int,
    action: str,
) -> None:
    assert (idx + 1) << level <= province.size  # a full subtree of the log
    if action == "different":
        tables.run(
            "UPDATE {tree} SET hash = ? WHERE level = ? AND idx = ?",
            hashlib.sha256(b"forged").digest(),
            level,
            idx,
        )
    else:
        tables.run("DELETE FROM {tree} WHERE level = ? AND idx = ?", level, idx)
    summary = failed(node, capsys)
    assert f"stored tree node (level {level}, index {idx}) is {action}" in summary, summary
    assert summary.startswith(f"FAILED: entry {idx << level}")
