"""Believable shifts and receipts as a terminal would hand them in: for the demo, benchmarks and tests.

Every amount is computed with the same money rules the intake checks, so whatever this makes is accepted.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from osuite.core.ids import new_id
from osuite.core.money import line_amount
from osuite.core.sync.wire import DocumentIn


@dataclass(frozen=True)
class Item:
    product_id: str
    article: str
    name: str
    price: int
    vat_rate: str = "20"
    weighted: bool = False


SAMPLE_ITEMS = (
    Item(new_id(), "1001", "Молоко 3,2% 1 л", 8990, "10"),
    Item(new_id(), "1002", "Хлеб Бородинский", 5490, "10"),
    Item(new_id(), "1003", "Сыр Российский", 79900, "10", weighted=True),
    Item(new_id(), "1004", "Кофе молотый 250 г", 45900),
    Item(new_id(), "1005", "Яблоки Гренни", 18900, "10", weighted=True),
    Item(new_id(), "1006", "Вода минеральная 0,5 л", 4990),
)


@dataclass
class Till:
    """One terminal's run of documents: a shift, receipts numbered in order, a Z report."""

    store_id: str
    terminal_id: str
    items: tuple[Item, ...] = SAMPLE_ITEMS
    rnd: random.Random = field(default_factory=lambda: random.Random(7))
    shift_id: str = field(default_factory=new_id)
    shift_number: int = 1
    receipt_number: int = 0
    clock: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))

    def open_shift(self) -> DocumentIn:
        return DocumentIn(
            id=self.shift_id,
            kind="shift",
            payload={
                "store_id": self.store_id,
                "terminal_id": self.terminal_id,
                "number": self.shift_number,
                "opened_at": self.clock.isoformat(),
            },
        )

    def receipt(self, *, lines: int = 5, payments: int = 2) -> DocumentIn:
        """A sale of ``lines`` lines paid in ``payments`` parts (cash, then card)."""
        self.receipt_number += 1
        opened = self.clock
        self.clock += timedelta(seconds=self.rnd.randint(20, 90))
        body_lines: list[dict[str, Any]] = []
        for n in range(1, lines + 1):
            item = self.items[self.rnd.randrange(len(self.items))]
            qty = (
                Decimal(self.rnd.randint(150, 2500)) / 1000
                if item.weighted
                else Decimal(self.rnd.randint(1, 3))
            )
            amount = line_amount(item.price, qty)
            body_lines.append(
                {
                    "line_no": n,
                    "product_id": item.product_id,
                    "article": item.article,
                    "name": item.name,
                    "quantity": f"{qty:.3f}",
                    "price": item.price,
                    "discount": 0,
                    "amount": amount,
                    "vat_rate": item.vat_rate,
                }
            )
        total = sum(line["amount"] for line in body_lines)
        parts = _split(total, payments)
        kinds = ["cash", "card"]
        return DocumentIn(
            id=new_id(),
            kind="receipt",
            payload={
                "store_id": self.store_id,
                "terminal_id": self.terminal_id,
                "shift_id": self.shift_id,
                "number": self.receipt_number,
                "kind": "sale",
                "opened_at": opened.isoformat(),
                "closed_at": self.clock.isoformat(),
                "lines": body_lines,
                "payments": [
                    {"payment_type": kinds[i % 2], "amount": amount}
                    for i, amount in enumerate(parts)
                    if amount
                ],
                "discount_total": 0,
                "total": total,
            },
        )


def _split(total: int, parts: int) -> list[int]:
    if parts <= 1 or total < parts:
        return [total]
    first = total // 2
    return [first, total - first]
