"""A bench for registrar tests: a printer emulator, a registrar emulator printing on it (both on real
loopback sockets, in this process), a driver pointed at the registrar, a clock the test moves, and
helpers to build receipts and to prove that nothing was registered."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from osuite.devices.atol import AtolRegistrar
from osuite.devices.escpos_emulator import PrinterEmulator, start_printer_emulator
from osuite.devices.fiscal import FiscalItem, FiscalPayment, FiscalReceipt, PaymentMethod
from osuite.devices.registrar_emulator import RunningRegistrar, start_registrar_emulator

MSK = timezone(timedelta(hours=3))
CASHIER = "Иванова И.И."


@dataclass
class Clock:
    """The registrar's clock, moved by the test."""

    at: datetime = field(default_factory=lambda: datetime(2026, 11, 24, 9, 0, tzinfo=MSK))

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


class Bench:
    def __init__(self, root: Path, *, printer: bool = True) -> None:
        self.root = root
        self.clock = Clock()
        self.printer: PrinterEmulator | None = start_printer_emulator(root / "printer") if printer else None
        self.registrar = self._start_registrar()
        self.driver = AtolRegistrar(self.registrar.url, timeout=5.0)

    def _start_registrar(self) -> RunningRegistrar:
        address = self.printer.address if self.printer else None
        return start_registrar_emulator(self.root / "registrar", printer=address, now=self.clock)

    def restart(self) -> None:
        """Stop the registrar and start a new one on the same data directory (a reboot)."""
        self.driver.close()
        self.registrar.stop()
        self.registrar = self._start_registrar()
        self.driver = AtolRegistrar(self.registrar.url, timeout=5.0)

    def close(self) -> None:
        self.driver.close()
        self.registrar.stop()
        if self.printer is not None:
            self.printer.stop()

    @property
    def journal(self) -> Path:
        return self.root / "registrar" / "fiscal-journal.jsonl"

    def counters(self) -> dict[str, Any]:
        """What must not move when a document is refused."""
        state = self.registrar.emulator.snapshot()
        journal = self.journal.read_bytes() if self.journal.exists() else b""
        return {
            "documents": state["documents"],
            "last_document_number": state["last_document_number"],
            "receipts_in_shift": state["receipts_in_shift"],
            "cash_in_drawer": state["cash_in_drawer"],
            "counters": state["counters"],
            "journal": journal,
        }

    def printed(self, jobs: int) -> str:
        """The text of the first ``jobs`` print jobs, once they have all arrived."""
        assert self.printer is not None
        return "".join(job.text for job in self.printer.wait_for_jobs(jobs)[:jobs])

    @contextmanager
    def nothing_registered(self) -> Iterator[None]:
        before = self.counters()
        jobs = len(self.printer.jobs) if self.printer else 0
        yield
        assert self.counters() == before
        if self.printer is not None:
            assert len(self.printer.jobs) == jobs, "a refused document must not print"


def item(
    name: str = "Хлеб пшеничный",
    price: int = 4500,
    quantity: str = "1",
    amount: int | None = None,
    vat: str = "20",
    unit: str = "pcs",
) -> FiscalItem:
    q = Decimal(quantity)
    full = int((Decimal(price) * q).to_integral_value())
    return FiscalItem(name, price, q, full if amount is None else amount, vat, unit)


def receipt(
    key: str,
    items: list[FiscalItem] | None = None,
    payments: list[tuple[PaymentMethod, int]] | None = None,
    *,
    kind: str = "sale",
    total: int | None = None,
    footer: tuple[str, ...] = (),
) -> FiscalReceipt:
    lines = items if items is not None else [item()]
    due = sum(line.amount for line in lines) if total is None else total
    paid = payments if payments is not None else [("cash", due)]
    return FiscalReceipt(
        key=key,
        kind="return" if kind == "return" else "sale",
        cashier=CASHIER,
        items=tuple(lines),
        payments=tuple(FiscalPayment(method, amount) for method, amount in paid),
        total=due,
        footer=footer,
    )
