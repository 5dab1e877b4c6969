"""Hold + commit transactions per second at a processing center from 20 concurrent POS clients, with
the p99 latency, beside a bare baseline transaction writing the same rows, in the same run.

    python -m bench.processing [--db sqlite|pg|both] [--pg] [--clients 20] [--pairs 250] [--accounts 2000]
                               [--warmup 20] [--workers 1]

The center is ``osuite processing serve --role root`` in a process of its own (uvicorn), its database
holding ``--accounts`` bonus cards with points. Each client (a thread with its own keep-alive httpx
connection, as a till has) repeats: ``POST /api/v1/transactions/hold`` of a few points of a random
card for a new receipt, then ``POST /api/v1/transactions/commit`` of them. Each call is one
transaction with its own transaction id: idempotency check, the card and its account locked, the
journal (from memory), the rules, the movement stored and published in the change log, the answer
stored. ``--pairs`` pairs per client are timed after ``--warmup`` pairs.

The baseline is the least such a transaction needs: 20 threads, each with its own connection of the
driver (``sqlite3`` / ``psycopg``), each transaction inserting the same rows — the movement, the
account's new version, the change-log row and the stored answer — into a fresh database of the same
kind with the same schema, one transaction per call, with no HTTP, no JSON parsing and no rules.
PostgreSQL is used with ``--pg`` or ``--db pg|both`` (``OSUITE_BENCH_PG_URL``; ``OSUITE_TEST_PG_URL``
too when set).
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg

from bench.common import fresh_database, machine, pg_available, report, workdir
from bench.pos_till import Latency, free_port
from osuite.core.ids import new_id

GOAL_RATE = 2_000.0
GOAL_P99_MS = 20.0
GOAL_RATIO = 3.0
POINTS = 1_000_000


def prepare(database_url: str, folder: Path, accounts: int) -> tuple[str, list[str]]:
    """A root center's database with ``accounts`` cards holding points; (a POS key, card numbers)."""
    from sqlalchemy import insert

    from osuite.processing import access, ledger, tables
    from osuite.processing.accounts import card_payload, store_account
    from osuite.processing.context import Processing
    from osuite.processing.domain.cards import Card
    from osuite.processing.domain.journal import Kind, Movement
    from osuite.processing.programs import ensure_default
    from osuite.processing.publish import publish
    from osuite.processing.settings import ProcessingSettings

    p = Processing.open(ProcessingSettings(data_dir=folder, database_url=database_url, role="root"))
    ensure_default(p)
    numbers = [f"B{n:07d}" for n in range(accounts)]
    now = datetime.now(UTC) - timedelta(days=1)
    with p.db.write() as conn:
        token = access.create_key(conn, p, name="bench POS", scope="pos")["token"]
        for number in numbers:
            account = {
                "id": new_id(),
                "customer_id": None,
                "type": "bonus",
                "program_id": "default",
                "nominal": None,
                "created_at": now,
            }
            store_account(conn, account)
            card = Card(number=number, account_id=account["id"])
            conn.execute(
                insert(tables.cards).values(
                    number=number, account_id=card.account_id, status="active", created_at=now, updated_at=now
                )
            )
            publish(conn, p, "card", number, card_payload(card, created_at=now, updated_at=now))
            opening = Movement(
                id=new_id(),
                account_id=account["id"],
                kind=Kind.ADJUSTMENT,
                amount=POINTS,
                occurred_at=now,
                origin=p.center_id,
                reason="bench",
                actor="bench",
            )
            ledger.record(conn, p, ledger.account(conn, account["id"]), (), [opening])
    p.db.dispose()
    return token, numbers


@contextmanager
def center(folder: Path, database_url: str, workers: int) -> Iterator[str]:
    """`osuite processing serve --role root` as a child process, the way a chain runs it."""
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "bench.toml"
    config.write_text('log_level = "warning"\n')
    log = (folder / f"processing-{port}.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "osuite",
            "processing",
            "serve",
            "--role",
            "root",
            "--port",
            str(port),
            "--data-dir",
            str(folder),
            "--database-url",
            database_url,
            "--config",
            str(config),
            "--workers",
            str(workers),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError("the processing center did not start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def run_clients(url: str, token: str, cards: list[str], args: argparse.Namespace) -> tuple[float, Latency]:
    """Every client holds and commits ``warmup + pairs`` times; the calls per second of the timed part,
    and their latencies."""
    timings: list[list[float]] = [[] for _ in range(args.clients)]
    errors: list[str] = []
    ready = threading.Barrier(args.clients + 1)
    warmed = threading.Barrier(args.clients + 1)
    done = threading.Barrier(args.clients + 1)

    def client(n: int) -> None:
        rnd = random.Random(n)
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
            ready.wait()
            for pair in range(args.warmup + args.pairs):
                if pair == args.warmup:
                    warmed.wait()
                card = rnd.choice(cards)
                amount = rnd.randint(100, 1_000)
                hold = {"transaction_id": new_id(), "card": card, "receipt_id": new_id(), "amount": amount}
                began = time.perf_counter()
                answer = http.post("/api/v1/transactions/hold", json=hold)
                middle = time.perf_counter()
                if answer.status_code != 200:
                    errors.append(answer.text)
                    break
                commit = {
                    "transaction_id": new_id(),
                    "card": card,
                    "hold_id": answer.json()["hold_id"],
                    "amount": amount,
                }
                answer = http.post("/api/v1/transactions/commit", json=commit)
                ended = time.perf_counter()
                if answer.status_code != 200:
                    errors.append(answer.text)
                    break
                if pair >= args.warmup:
                    timings[n] += [middle - began, ended - middle]
        done.wait()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(args.clients)]
    for thread in threads:
        thread.start()
    ready.wait()
    warmed.wait()
    started = time.perf_counter()
    done.wait()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} calls failed, e.g. {errors[0]}")
    calls = [t for each in timings for t in each]
    return len(calls) / elapsed, Latency.of(calls)


def run_in_process(database_url: str, folder: Path, cards: list[str], args: argparse.Namespace) -> float:
    """The same hold + commit pairs from 20 threads calling the service directly (no HTTP): what the
    transactions themselves cost, for comparison. Calls per second."""
    from osuite.processing import service
    from osuite.processing.context import Processing
    from osuite.processing.settings import ProcessingSettings
    from osuite.processing.wire import CommitRequest, HoldRequest

    p = Processing.open(ProcessingSettings(data_dir=folder, database_url=database_url), migrate=False)
    ready = threading.Barrier(args.clients + 1)
    done = threading.Barrier(args.clients + 1)

    def client(n: int) -> None:
        rnd = random.Random(1_000 + n)
        ready.wait()
        for _ in range(args.pairs):
            card = rnd.choice(cards)
            amount = rnd.randint(100, 1_000)
            hold = HoldRequest(transaction_id=new_id(), card=card, receipt_id=new_id(), amount=amount)
            held, _ = service.hold(p, hold)
            commit = CommitRequest(transaction_id=new_id(), card=card, hold_id=held["hold_id"], amount=amount)
            service.commit(p, commit)
        done.wait()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(args.clients)]
    for thread in threads:
        thread.start()
    ready.wait()
    started = time.perf_counter()
    done.wait()
    elapsed = time.perf_counter() - started
    p.publisher.drain(p)
    p.db.dispose()
    return 2 * args.pairs * args.clients / elapsed


# --- the baseline -------------------------------------------------------------------------------------


def baseline(database_url: str, args: argparse.Namespace, cards: int) -> tuple[float, Latency]:
    """20 threads, each transaction writing what a hold or a commit writes, with the bare driver."""
    sqlite = database_url.startswith("sqlite")
    accounts = [new_id() for _ in range(cards)]
    if sqlite:
        path = database_url.removeprefix("sqlite:///")

        def connect() -> Any:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=30000")
            return conn

        mark = "?"
    else:
        pg = database_url.replace("postgresql+psycopg://", "postgresql://")

        def connect() -> Any:
            return psycopg.connect(pg, autocommit=True)

        mark = "%s"
    setup = connect()
    now = datetime.now(UTC)
    for account in accounts:
        setup.execute(
            f"INSERT INTO accounts (id, type, program_id, created_at, version, turnover) "
            f"VALUES ({mark}, 'bonus', 'default', {mark}, 1, 0)",
            (account, _stamp(now, sqlite)),
        )
    setup.close()
    timings: list[list[float]] = [[] for _ in range(args.clients)]
    ready = threading.Barrier(args.clients + 1)
    done = threading.Barrier(args.clients + 1)
    per_client = 2 * args.pairs

    def writer(n: int) -> None:
        rnd = random.Random(n)
        conn = connect()
        ready.wait()
        for _ in range(per_client):
            account = rnd.choice(accounts)
            movement_id, transaction_id = new_id(), new_id()
            stamp = _stamp(datetime.now(UTC), sqlite)
            body = orjson.dumps(
                {"id": movement_id, "account_id": account, "kind": "hold", "amount": 500, "origin": "bench"}
            ).decode()
            began = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE" if sqlite else "BEGIN")
            conn.execute(
                f"SELECT version FROM accounts WHERE id = {mark}" + ("" if sqlite else " FOR UPDATE"),
                (account,),
            ).fetchone()
            conn.execute(
                "INSERT INTO movements "
                "(id, account_id, kind, amount, occurred_at, origin, body, recorded_at) "
                f"VALUES ({mark}, {mark}, 'hold', 500, {mark}, 'bench', {mark}, {mark})",
                (movement_id, account, stamp, body, stamp),
            )
            conn.execute(f"UPDATE accounts SET version = version + 1 WHERE id = {mark}", (account,))
            conn.execute(
                "INSERT INTO sync_changes (entity, key, audience, op, payload, changed_at) "
                f"VALUES ('movement', {mark}, '*', 'upsert', {mark}, {mark})",
                (movement_id, body, stamp),
            )
            conn.execute(
                "INSERT INTO transactions (id, operation, fingerprint, answer, account_id, created_at) "
                f"VALUES ({mark}, 'hold', 'x', {mark}, {mark}, {mark})",
                (transaction_id, body, account, stamp),
            )
            conn.execute("COMMIT")
            timings[n].append(time.perf_counter() - began)
        conn.close()
        done.wait()

    threads = [threading.Thread(target=writer, args=(n,), daemon=True) for n in range(args.clients)]
    for thread in threads:
        thread.start()
    ready.wait()
    started = time.perf_counter()
    done.wait()
    elapsed = time.perf_counter() - started
    calls = [t for each in timings for t in each]
    return len(calls) / elapsed, Latency.of(calls)


def _stamp(moment: datetime, sqlite: bool) -> Any:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else moment


def one_database(kind: str, args: argparse.Namespace) -> None:
    from osuite.core.db import Database
    from osuite.core.migrations import upgrade

    with workdir() as folder:
        with fresh_database(kind, folder, "processing") as url:
            started = time.perf_counter()
            token, cards = prepare(url, folder / "center", args.accounts)
            print(f"{kind}: {len(cards):,} cards with points ready in {time.perf_counter() - started:.1f} s")
            with center(folder / "center", url, args.workers) as center_url:
                rate, latency = run_clients(center_url, token, cards, args)
            in_process = run_in_process(url, folder / "center", cards, args)
        with fresh_database(kind, folder, "bare") as url:
            db = Database(url)
            upgrade(db, "osuite.processing")
            db.dispose()
            bare_rate, bare_latency = baseline(url, args, len(cards))
    print(
        f"{kind} center   {args.clients} clients, hold + commit over HTTP: {rate:,.0f} calls/s "
        f"({rate / 2:,.0f} receipts/s); {latency}"
    )
    print(
        f"{kind} center   {args.clients} threads calling the service in-process (no HTTP): "
        f"{in_process:,.0f} calls/s"
    )
    print(
        f"{kind} baseline {args.clients} threads, the same rows per transaction: {bare_rate:,.0f} tx/s; "
        f"{bare_latency}"
    )
    ratio = report(f"{kind} hold/commit transactions", rate, bare_rate, "tx/s")
    met = rate >= GOAL_RATE and latency.p99 <= GOAL_P99_MS and ratio <= GOAL_RATIO
    print(
        f"{kind} goal ≥ {GOAL_RATE:,.0f} tx/s, p99 ≤ {GOAL_P99_MS:g} ms, ratio ≤ {GOAL_RATIO:g}: "
        f"{'met' if met else 'NOT met'} ({rate:,.0f} tx/s, p99 {latency.p99:.1f} ms, ratio {ratio:.2f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "pg", "both"], default=None)
    parser.add_argument("--pg", action="store_true", help="also PostgreSQL (as --db both)")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--pairs", type=int, default=250, help="timed hold + commit pairs per client")
    parser.add_argument("--warmup", type=int, default=20, help="pairs per client first, not timed")
    parser.add_argument("--accounts", type=int, default=2_000)
    parser.add_argument("--workers", type=int, default=1, help="serve --workers")
    args = parser.parse_args()
    if os.environ.get("OSUITE_TEST_PG_URL") and "OSUITE_BENCH_PG_URL" not in os.environ:
        import bench.common

        bench.common.PG_URL = os.environ["OSUITE_TEST_PG_URL"]
    kinds = {"sqlite": ["sqlite"], "pg": ["pg"], "both": ["sqlite", "pg"]}[
        args.db or ("both" if args.pg or os.environ.get("OSUITE_TEST_PG_URL") else "sqlite")
    ]
    print(f"processing center benchmark · {datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {machine()}")
    for kind in kinds:
        if kind == "pg" and not pg_available():
            print("pg: PostgreSQL does not answer; skipped")
            continue
        one_database(kind, args)


if __name__ == "__main__":
    main()
