"""Closing a receipt at the till: milliseconds from the paying request to its answer, for a 10-line
receipt paid in cash, beside the registrar emulator registering the same receipt through the driver
alone, in the same run.

    python -m bench.pos_close [--products 1000000] [--receipts 300] [--lines 10] [--warmup 20]

The till is ``osuite pos serve`` in a process of its own with the sample catalog in its replica (the
same cached file as ``bench.pos_scan``), the registrar emulator (ATOL's JSON task protocol over HTTP,
its journal fsync'ed before it answers) in another. For each receipt a logged-in cashier scans
``--lines`` random items (not timed) and then pays what is due in cash: that one
``POST /api/v1/receipt/payments`` is timed. Its answer comes once the till has saved the payment,
marked the receipt ``fiscalizing`` (durably), had the registrar register it, and saved it closed with
its document in the outbox (durably): three SQLite commits with ``synchronous=FULL`` and a registrar
round trip.

The baseline registers the same receipt (the items, amounts and payment the till sent, under a new
key) on the same emulator with :class:`osuite.devices.atol.AtolRegistrar` from this process, right
after each till receipt, so both see the same machine at the same moment: the ratio is what the till
adds to the registrar's own work.
"""

from __future__ import annotations

import argparse
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bench.common import machine, report, workdir
from bench.pos_till import (
    Latency,
    Screen,
    catalog_db,
    pos_server,
    registrar,
    sellable_codes,
    working_copy,
)
from osuite.core.ids import new_id
from osuite.devices.atol import AtolRegistrar
from osuite.devices.fiscal import FiscalItem, FiscalPayment, FiscalReceipt

GOAL_P99_MS = 30.0
ROUTE = "/api/v1/receipt/payments"


def same_receipt(closed: dict[str, Any], cashier: str) -> FiscalReceipt:
    """What the till registered for ``closed`` (its answer), under a key of its own."""
    lines = [line for line in closed["lines"] if not line["voided"]]
    return FiscalReceipt(
        key=new_id(),
        kind="sale",
        cashier=cashier,
        items=tuple(
            FiscalItem(
                name=line["name"],
                price=line["price"],
                quantity=Decimal(line["quantity"]),
                amount=line["amount"],
                vat_rate=line["vat_rate"],
                unit=line["unit"],
            )
            for line in lines
        ),
        payments=tuple(FiscalPayment(method=p["method"], amount=p["tendered"]) for p in closed["payments"]),
        total=closed["total"],
    )


@dataclass(frozen=True)
class Result:
    till: Latency
    bare: Latency
    served_ms: float  # the till's own mean time per payment (its /metrics), without socket and uvicorn


def run(pos_url: str, registrar_url: str, codes: list[str], args: argparse.Namespace) -> Result:
    screen = Screen(pos_url).login()
    screen.open_shift()
    driver = AtolRegistrar(registrar_url, timeout=10)
    cashier = screen.http.get("/session").json()["name"]
    rnd = random.Random(args.seed)
    till: list[float] = []
    bare: list[float] = []
    try:
        for n in range(args.warmup + args.receipts):
            if n == args.warmup:
                served_before = screen.served(ROUTE)
            for _ in range(args.lines):
                screen.scan(rnd.choice(codes))
            elapsed, closed = screen.pay_cash()
            if len(closed["lines"]) != args.lines or closed["fiscal"] is None:
                raise RuntimeError(f"the till closed an unexpected receipt: {closed}")
            receipt = same_receipt(closed, cashier)
            began = time.perf_counter()
            mark = driver.register(receipt)
            bare_elapsed = time.perf_counter() - began
            if mark.total != receipt.total:
                raise RuntimeError(f"the registrar registered {mark.total}, not {receipt.total}")
            if n >= args.warmup:
                till.append(elapsed)
                bare.append(bare_elapsed)
        served_after = screen.served(ROUTE)
    finally:
        screen.close()
        driver.close()
    served = (served_after[0] - served_before[0]) / (served_after[1] - served_before[1]) * 1000
    return Result(Latency.of(till), Latency.of(bare), served)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--products", type=int, default=1_000_000)
    parser.add_argument("--receipts", type=int, default=300, help="timed receipts (after the warm-up)")
    parser.add_argument("--lines", type=int, default=10, help="lines per receipt")
    parser.add_argument("--warmup", type=int, default=20, help="receipts first, not timed")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    print(f"POS close benchmark · {datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {machine()}")
    cached = catalog_db(args.products)
    with workdir() as folder:
        db_file = working_copy(cached, folder / "pos")
        codes = sellable_codes(db_file)
        print(f"till catalog: {args.products:,} products; receipts of {args.lines} random items")
        with registrar(folder) as registrar_url, pos_server(folder / "pos", registrar_url) as pos_url:
            result = run(pos_url, registrar_url, codes, args)
    till, bare = result.till, result.bare
    print(f"till   POST /receipt/payments (closes it): {till}")
    print(f"       of which in the till's app (its /metrics): mean {result.served_ms:.2f} ms")
    print(f"bare   AtolRegistrar.register:             {bare}")
    report("close p50", till.p50, bare.p50, "ms", lower_is_better=True)
    p99 = report("close p99", till.p99, bare.p99, "ms", lower_is_better=True)
    met = till.p99 <= GOAL_P99_MS
    print(
        f"goal p99 ≤ {GOAL_P99_MS:g} ms: {'met' if met else 'NOT met'} "
        f"(p99 {till.p99:.2f} ms; ratio {p99:.2f})"
    )


if __name__ == "__main__":
    main()
