"""Paying a receipt: what is still due, whether it is paid, and the change.

Payments are taken in the order tendered. Only cash may be more than what is still due: the excess is
change, handed back in cash, so the change never exceeds the cash tendered. A card (or any payment that
is not cash) above what is still due is refused: charging a card to hand out cash is not a sale. The
receipt is paid when nothing is due; a receipt of zero is paid with no payment at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from osuite.core.i18n import N_
from osuite.core.money import format_money
from osuite.pos.domain.checks import check_money
from osuite.pos.domain.errors import InvalidInput, Overpayment, Phrase

CASH = "cash"


@dataclass(frozen=True)
class Tender:
    """A payment offered: its method (cash, card, bonus …), its amount in kopecks, and optionally the
    payment type's code, kept for the caller."""

    method: str
    amount: int
    payment_type: str | None = None

    def __post_init__(self) -> None:
        check_money(self.amount, Phrase(N_("The {method} payment"), method=self.method))
        if self.amount == 0:
            raise InvalidInput(N_("A {method} payment must be more than zero"), method=self.method)


@dataclass(frozen=True)
class PaymentStatus:
    total: int
    tendered: int
    due: int
    change: int

    @property
    def fully_paid(self) -> bool:
        return self.due == 0


def payment_status(total: int, tenders: Sequence[Tender]) -> PaymentStatus:
    """Where paying ``total`` stands after ``tenders``; refuses a non-cash payment above what is due."""
    check_money(total, Phrase(N_("The receipt total")))
    tendered = 0
    for tender in tenders:
        due = max(total - tendered, 0)
        if tender.method != CASH and tender.amount > due:
            if due == 0:
                raise Overpayment(
                    N_("Nothing is due any more: the {method} payment of {amount} cannot be taken"),
                    method=tender.method,
                    amount=format_money(tender.amount),
                )
            raise Overpayment(
                N_(
                    "A {method} payment of {amount} is more than the {due} still due; only cash can be"
                    " more (the rest is given back as change)"
                ),
                method=tender.method,
                amount=format_money(tender.amount),
                due=format_money(due),
            )
        tendered += tender.amount
    return PaymentStatus(
        total=total,
        tendered=tendered,
        due=max(total - tendered, 0),
        change=max(tendered - total, 0),
    )
