"""Concurrent writers (DESIGN §4, §5, §10): one winner per subject head, a dense log index
across processes, and a safe start when several processes create the tables at once."""

from __future__ import annotations

import functools
import json
import multiprocessing
import threading
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError as StorageIntegrityError
from eventsourcing.persistence import StoredEvent

from ledger.application import AppendResult, Ledger
from ledger.canonical import jcs
from ledger.client import envelope, envelope_hash, make_statement
from ledger.crypto import SigningKey
from ledger.datadir import initialise
from ledger.entries import decode_entry, leaf_hash
from ledger.errors import DuplicateEvent, StaleHead
from ledger.settings import Settings
from ledger.storage import LogRecord
from ledger.times import parse_instant
from tests.world import ORIGIN, REGISTRY_EPOCH, ROOT_ID, Actor, World, problem_slug

ROUNDS = 6  # races per test: each round both writers sign on the same head
PROCESS_TIMEOUT = 90.0


# --- helpers ---------------------------------------------------------------------------------


def race(*calls: Callable[[], Any]) -> list[tuple[str, Any]]:
    """Run the calls in threads released together; ``("ok", value)`` or ``("error", exc)``."""
    barrier = threading.Barrier(len(calls))
    results: list[tuple[str, Any]] = [("missing", None)] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        barrier.wait(timeout=30)
        try:
            results[i] = ("ok", call())
        except Exception as e:  # the race's loser is reported, not raised
            results[i] = ("error", e)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a racing writer hung"
    return results


def all_records(ledger: Ledger) -> list[LogRecord]:
    return ledger.records(0, ledger.size())


def subject_chain(ledger: Ledger, subject: str) -> list[tuple[int, str | None, str]]:
    """``(seq, prev, envelope hash)`` of every stored statement of a subject, in seq order."""
    chain = []
    for record in ledger.subject_records(subject, after_seq=-1, limit=10_000):
        st = decode_entry(record).envelope.statement
        chain.append((st.seq, st.prev, record.envelope_hash.hex()))
    return chain


def assert_chain_intact(chain: list[tuple[int, str | None, str]]) -> None:
    assert [seq for seq, _, _ in chain] == list(range(len(chain))), "a seq is lost or doubled"
    previous: str | None = None
    for seq, prev, hash_ in chain:
        assert prev == previous, f"seq {seq} does not chain to seq {seq - 1}"
        previous = hash_


def assert_log_dense(ledger: Ledger) -> list[LogRecord]:
    """Indexes 0..n-1, leaf hashes over the stored bytes, recorded_at strictly increasing."""
    records = all_records(ledger)
    assert [r.index for r in records] == list(range(ledger.size()))
    for r in records:
        assert r.leaf_hash == leaf_hash(r.entry), f"index {r.index}: leaf hash mismatch"
    times = [parse_instant(r.recorded_at) for r in records]
    for i in range(1, len(times)):
        assert times[i] > times[i - 1], f"recorded_at does not increase at index {i}"
    return records


@pytest.fixture
def matter_world(world: World) -> tuple[World, str, Actor, Actor, Actor]:
    """A matter whose custodian and a support assignee may both consult the head of unit."""
    so = world.agency("H10")
    phong = world.unit(so, "phong-dat")
    truong = world.official("truong.phong", so, phong, head=True)
    cv = world.official("chuyen.vien", so, phong)
    cv2 = world.official("chuyen.vien.2", so, phong)
    matter = world.open_matter("H10.15-260302-0001", cv, so)
    world.ok(
        "task.assigned",
        matter,
        truong,
        {"assignee": cv2.id, "role": "support", "instructions": "Phối hợp thẩm định"},
    )
    return world, matter, truong, cv, cv2


def rival_envelopes(
    world: World, matter: str, truong: Actor, cv: Actor, cv2: Actor, round_: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two statements, each valid alone, signed on the same seq and prev by two officials."""
    a = world.envelope(
        "consultation.requested", matter, cv, {"to": truong.id, "question": f"Vòng {round_}: A"}
    )
    b = world.envelope(
        "consultation.requested", matter, cv2, {"to": truong.id, "question": f"Vòng {round_}: B"}
    )
    sa, sb = a["statement"], b["statement"]
    assert (sa["seq"], sa["prev"]) == (sb["seq"], sb["prev"])
    return a, b


# --- (a) two writers on one matter head ------------------------------------------------------


def test_two_officials_racing_on_one_matter_head_over_http_get_one_201_and_one_stale_head(
    matter_world: tuple[World, str, Actor, Actor, Actor],
) -> None:
    world, matter, truong, cv, cv2 = matter_world
    size_before = world.ledger.size()
    seq_before = world.ledger.head(matter).seq  # type: ignore[union-attr]
    winners: list[str] = []
    for round_ in range(ROUNDS):
        a, b = rival_envelopes(world, matter, truong, cv, cv2, round_)
        results = race(functools.partial(world.post, a), functools.partial(world.post, b))
        responses = [value for _, value in results]
        assert all(kind == "ok" for kind, _ in results), results
        assert sorted(r.status_code for r in responses) == [201, 409], [r.text for r in responses]
        won = next(r for r in responses if r.status_code == 201)
        lost = next(r for r in responses if r.status_code == 409)
        assert problem_slug(lost) == "stale-head"
        assert won.json()["seq"] == seq_before + 1 + round_
        winners.append(won.json()["event_id"])
        loser_id = (b if won.json()["event_id"] == a["statement"]["event_id"] else a)["statement"][
            "event_id"
        ]
        assert world.http.get(f"/v1/events/{loser_id}").status_code == 404
    chain = subject_chain(world.ledger, matter)
    assert_chain_intact(chain)
    assert len(chain) == seq_before + 1 + ROUNDS
    stored = world.ledger.subject_records(matter, after_seq=seq_before, limit=100)
    assert [r.event_id for r in stored] == winners
    assert world.ledger.size() == size_before + ROUNDS
    assert_log_dense(world.ledger)


@pytest.mark.parametrize("writers", ["one ledger, two threads", "two ledgers on one database"])
def test_two_writers_racing_on_one_matter_head_store_exactly_one_statement_per_seq(
    matter_world: tuple[World, str, Actor, Actor, Actor], writers: str
) -> None:
    world, matter, truong, cv, cv2 = matter_world
    first = world.ledger
    # A second Ledger on the same database stands in for a second API process.
    second = first if writers.startswith("one") else Ledger(first.database_url)
    try:
        seq_before = first.head(matter).seq  # type: ignore[union-attr]
        winners: list[str] = []
        for round_ in range(ROUNDS):
            a, b = rival_envelopes(world, matter, truong, cv, cv2, round_)
            results = race(
                functools.partial(first.append, jcs(a)), functools.partial(second.append, jcs(b))
            )
            ok = [v for kind, v in results if kind == "ok"]
            errors = [v for kind, v in results if kind == "error"]
            assert len(ok) == 1, results
            assert len(errors) == 1, results
            assert isinstance(errors[0], StaleHead), repr(errors[0])
            result: AppendResult = ok[0]
            assert not result.replayed
            assert result.receipt.seq == seq_before + 1 + round_
            winners.append(result.receipt.event_id)
            # Both writers now see the winner as the head (the loser caught up).
            for ledger in (first, second):
                head = ledger.head(matter)
                assert head is not None
                assert head.event_id == result.receipt.event_id
        chain = subject_chain(first, matter)
        assert_chain_intact(chain)
        assert len(chain) == seq_before + 1 + ROUNDS
        stored = first.subject_records(matter, after_seq=seq_before, limit=100)
        assert [r.event_id for r in stored] == winners
        # The losing instance is not stuck: it appends on the new head.
        retry = world.envelope(
            "consultation.requested", matter, cv2, {"to": truong.id, "question": "Sau cuộc đua"}
        )
        assert second.append(jcs(retry)).receipt.seq == seq_before + 1 + ROUNDS
        assert_log_dense(first)
    finally:
        if second is not first:
            second.close()


# --- (b) dense indexes under appends from several OS processes (PostgreSQL) ------------------

APPENDING_PROCESSES = 2
AGENCIES_PER_PROCESS = 24
CALENDAR_DAYS_PER_PROCESS = 8


def _report(out: str, result: dict[str, Any]) -> None:
    Path(out).write_text(json.dumps(result), "utf-8")


def _appending_process(
    barrier: Any, url: str, root_pem: bytes, worker: int, out: str
) -> None:  # pragma: no cover - runs in a spawned process
    """Append registry statements for this process's own agencies, plus failing appends."""
    try:
        root = SigningKey.from_pem(root_pem)
        ledger = Ledger(url)
        receipts: list[dict[str, Any]] = []
        failures = {"stale-head": 0, "duplicate-event": 0, "storage-integrity": 0}
        retries = 0  # stale heads on the shared subject, retried on the new head

        def statement(type_: str, subject: str, seq: int, prev: str | None, body: Any) -> Any:
            return make_statement(
                type_, subject, seq=seq, prev=prev, actor=ROOT_ID, key_id=root.key_id, body=body
            )

        def append(st: dict[str, Any]) -> dict[str, Any]:
            receipt = ledger.append(jcs(envelope(st, root))).receipt.to_json()
            receipts.append(receipt)
            return receipt

        barrier.wait(timeout=PROCESS_TIMEOUT)
        for i in range(AGENCIES_PER_PROCESS):
            subject = f"agency:w{worker}-{i}"
            body = {"name": f"Ủy ban xã {worker}-{i}", "level": "commune"}
            first = statement("agency.registered", subject, 0, None, body)
            receipt = append(first)
            if i % 3 == 0:  # a chain: the agency's registrar, on seq 1
                append(
                    statement(
                        "registrar.appointed",
                        subject,
                        1,
                        receipt["envelope_hash"],
                        {
                            "official_id": f"reg.w{worker}-{i}",
                            "full_name": "Trần Thị Tổ Chức",
                            "public_key": SigningKey.generate().public_b64,
                            "valid_from": REGISTRY_EPOCH,
                        },
                    )
                )
            if i % 4 == 1:  # rejected before storing: a stale head, a reused event id
                try:
                    append(statement("agency.registered", subject, 0, None, body))
                except StaleHead:
                    failures["stale-head"] += 1
                other = dict(first, body={**body, "name": "Tên khác"})
                try:
                    append(other)
                except DuplicateEvent:
                    failures["duplicate-event"] += 1
                # Fails inside the INSERT: PostgreSQL has consumed a notification id.
                try:
                    ledger.recorder.insert_events(
                        [StoredEvent(subject, 0, "agency.registered", b"{}")]
                    )
                except StorageIntegrityError:
                    failures["storage-integrity"] += 1
            if i < CALENDAR_DAYS_PER_PROCESS:  # one subject shared by every process
                day = f"2027-{worker + 1:02d}-{i + 1:02d}"
                adjust = {"date": day, "kind": "day_off", "source_document": "Quyết định 1/QĐ"}
                while True:
                    head = ledger.head("calendar:VN")
                    seq, prev = (
                        (0, None) if head is None else (head.seq + 1, head.envelope_hash.hex())
                    )
                    try:
                        append(statement("calendar.adjusted", "calendar:VN", seq, prev, adjust))
                        break
                    except StaleHead:
                        retries += 1
        ledger.close()
        _report(out, {"receipts": receipts, "failures": failures, "retries": retries})
    except BaseException:
        barrier.abort()  # release the others at once rather than at the barrier's timeout
        _report(out, {"error": traceback.format_exc()})
        raise


def _creating_process(barrier: Any, urls: list[str], out: str) -> None:  # pragma: no cover
    """For each fresh database in turn, construct a Ledger (creating the tables) at the same
    moment as the other processes; one race per database."""
    sizes = []
    try:
        for url in urls:
            barrier.wait(timeout=PROCESS_TIMEOUT)
            ledger = Ledger(url)
            sizes.append(ledger.size())
            ledger.close()
        _report(out, {"sizes": sizes})
    except BaseException:
        barrier.abort()  # release the others at once rather than at the barrier's timeout
        _report(
            out,
            {"error": f"on database {len(sizes)} ({urls[len(sizes)]}):\n" + traceback.format_exc()},
        )
        raise


def run_processes(
    target: Callable[..., None], args: list[tuple[Any, ...]], tmp_path: Path
) -> list[dict[str, Any]]:
    """Start one spawned process per args tuple, released together by a barrier."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(len(args))
    outs = [str(tmp_path / f"process-{i}.json") for i in range(len(args))]
    processes = [
        ctx.Process(target=target, args=(barrier, *a, out), daemon=True)
        for a, out in zip(args, outs, strict=True)
    ]
    for p in processes:
        p.start()
    try:
        for p in processes:
            p.join(PROCESS_TIMEOUT)
    finally:
        for p in processes:
            if p.is_alive():
                p.kill()
                p.join(5)
    results, failures = [], []
    for p, out in zip(processes, outs, strict=True):
        path = Path(out)
        result = json.loads(path.read_text("utf-8")) if path.exists() else {}
        if "error" in result or p.exitcode != 0:
            failures.append(f"process {p.pid} (exit {p.exitcode}): {result.get('error')}")
        results.append(result)
    # Every process's report: the first failure may have broken the others' barrier.
    assert not failures, "\n".join(failures)
    return results


@pytest.fixture
def initialised_pg(pg_url: str, tmp_path: Path) -> tuple[str, bytes]:
    """A fresh PostgreSQL schema with a genesis; the root key's PEM."""
    settings = Settings.load(tmp_path / "data", database_url=pg_url)
    initialise(
        settings,
        origin=ORIGIN,
        root_id=ROOT_ID,
        root_name="Sở Nội vụ",
        root_valid_from=REGISTRY_EPOCH,
    )
    return pg_url, SigningKey.load(settings.root_key_path).to_pem()


def events_table_ids(pg_url: str) -> tuple[list[int], list[tuple[int, int]]]:
    """The library's notification ids, and the log's ``(index, notification_id)`` rows."""
    base, _, query = pg_url.partition("?")
    schema = query.removeprefix("schema=")
    with psycopg.connect(base) as conn:
        nids = [r[0] for r in conn.execute(f'SELECT notification_id FROM "{schema}".ledger_events')]
        log = conn.execute(
            f'SELECT log_index, notification_id FROM "{schema}".ledger_events_log '
            "ORDER BY log_index"
        ).fetchall()
    return nids, [(int(i), int(n)) for i, n in log]


@pytest.mark.slow
@pytest.mark.postgres
def test_log_indexes_stay_dense_while_two_processes_append_and_some_appends_fail(
    initialised_pg: tuple[str, bytes], tmp_path: Path
) -> None:
    pg_url, root_pem = initialised_pg
    results = run_processes(
        _appending_process,
        [(pg_url, root_pem, w) for w in range(APPENDING_PROCESSES)],
        tmp_path,
    )
    for r in results:  # the failing appends did fail, each the way intended
        failures = r["failures"]
        assert failures["stale-head"] == failures["duplicate-event"] > 0, failures
        assert failures["storage-integrity"] == failures["stale-head"], failures

    ledger = Ledger(pg_url)
    try:
        records = assert_log_dense(ledger)
        # Every receipt is in the log at its index, with its leaf hash; nothing else is.
        indexes: set[int] = set()
        for r in results:
            for receipt in r["receipts"]:
                record = records[receipt["index"]]
                assert record.event_id == receipt["event_id"]
                assert record.leaf_hash.hex() == receipt["leaf_hash"]
                assert record.recorded_at == receipt["recorded_at"]
                indexes.add(receipt["index"])
        assert indexes | {0} == set(range(len(records))), "an entry is lost or extra"
        assert sum(len(r["receipts"]) for r in results) == len(records) - 1
        # The processes really interleaved (else this test proves little).
        spans = [
            (min(x["index"] for x in r["receipts"]), max(x["index"] for x in r["receipts"]))
            for r in results
        ]
        assert max(lo for lo, _ in spans) < min(hi for _, hi in spans), spans
        # The shared subject: every process's days, each once, one chain.
        chain = subject_chain(ledger, "calendar:VN")
        assert_chain_intact(chain)
        assert len(chain) == APPENDING_PROCESSES * CALENDAR_DAYS_PER_PROCESS
        # The library's notification ids have gaps; every event has one log row all the same.
        nids, log = events_table_ids(pg_url)
        assert max(nids) > len(nids), "no notification-id gap: the failing inserts did not run"
        assert [i for i, _ in log] == list(range(len(nids)))
        assert sorted(n for _, n in log) == sorted(nids)
        assert [n for _, n in log] == sorted(n for _, n in log), "index order ≠ commit order"
    finally:
        ledger.close()


# --- (c) several processes creating the tables at once ---------------------------------------

CREATING_PROCESSES = 4
CREATION_RACES = 8  # fresh databases per test: one start-up race on each


def fresh_databases(database_url: str, tmp_path: Path) -> list[str]:
    """``CREATION_RACES`` fresh databases of ``database_url``'s kind (files or schemas)."""
    if database_url.startswith("sqlite"):
        return [f"sqlite:///{tmp_path / f'race-{k}.db'}" for k in range(CREATION_RACES)]
    return [f"{database_url}_{k}" for k in range(CREATION_RACES)]  # …?schema=t_xxx_k


@pytest.fixture
def race_databases(database_url: str, tmp_path: Path) -> Iterator[list[str]]:
    urls = fresh_databases(database_url, tmp_path)
    yield urls
    if not database_url.startswith("sqlite"):
        base, _, query = database_url.partition("?")
        with psycopg.connect(base, autocommit=True) as conn:
            for k in range(CREATION_RACES):
                conn.execute(f'DROP SCHEMA IF EXISTS "{query.removeprefix("schema=")}_{k}" CASCADE')


@pytest.mark.slow
def test_several_processes_starting_at_once_on_a_fresh_database_all_succeed(
    race_databases: list[str], tmp_path: Path
) -> None:
    results = run_processes(_creating_process, [(race_databases,)] * CREATING_PROCESSES, tmp_path)
    assert [r["sizes"] for r in results] == [[0] * CREATION_RACES] * CREATING_PROCESSES
    # The tables they made are usable: a genesis and a statement store at 0 and 1.
    url = race_databases[-1]
    settings = Settings.load(tmp_path / "data", database_url=url)
    receipt = initialise(
        settings,
        origin=ORIGIN,
        root_id=ROOT_ID,
        root_name="Sở Nội vụ",
        root_valid_from=REGISTRY_EPOCH,
    )
    assert receipt.index == 0
    root = SigningKey.load(settings.root_key_path)
    st = make_statement(
        "agency.registered",
        "agency:H10",
        seq=0,
        prev=None,
        actor=ROOT_ID,
        key_id=root.key_id,
        body={"name": "Sở Tài nguyên và Môi trường", "level": "province"},
    )
    ledger = Ledger(url)
    try:
        assert ledger.append(jcs(envelope(st, root))).receipt.index == 1
        head = ledger.head("agency:H10")
        assert head is not None
        assert head.envelope_hash.hex() == envelope_hash(envelope(st, root))
    finally:
        ledger.close()
