"""The shift's small rules: how long it may stay open, and how much cash the drawer holds.

A fiscal registrar refuses to sell in a shift open for more than 24 hours, so the till asks for the shift
to be closed once it has been open 24 hours: a sale started then would end past the limit.

The drawer holds the opening float + cash tendered on sales − change handed back − cash refunded on
returns + cash put in − cash taken out. Taking out (or refunding in cash) more than it holds is refused:
the till must not claim cash that is not there.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal, get_args

from osuite.core.i18n import N_
from osuite.core.money import format_money
from osuite.pos.domain.checks import check_money
from osuite.pos.domain.errors import InvalidInput, NotEnoughCash, Phrase

SHIFT_LIMIT: Final = timedelta(hours=24)

DrawerKind = Literal["float", "sale", "change", "refund", "cash_in", "cash_out"]
"""``float`` the cash the shift opened with; ``sale`` cash tendered on a sale (before change);
``change`` change handed back; ``refund`` cash paid back on a return; ``cash_in`` / ``cash_out``
cash put in or taken out between sales."""

_SIGN: Final[dict[str, int]] = {
    "float": 1,
    "sale": 1,
    "change": -1,
    "refund": -1,
    "cash_in": 1,
    "cash_out": -1,
}


def must_close(opened_at: datetime, now: datetime) -> bool:
    """Whether the shift must be closed before the next sale; both moments aware (or both naive)."""
    return now - opened_at >= SHIFT_LIMIT


@dataclass(frozen=True)
class DrawerMovement:
    kind: DrawerKind
    amount: int

    def __post_init__(self) -> None:
        if self.kind not in get_args(DrawerKind):
            raise InvalidInput(N_("{kind} is not a kind of cash movement"), kind=repr(self.kind))
        check_money(self.amount, Phrase(N_("The {kind} amount"), kind=self.kind))


def cash_in_drawer(movements: Iterable[DrawerMovement]) -> int:
    """The cash the drawer should hold after these movements of the shift, in kopecks."""
    return sum(_SIGN[m.kind] * m.amount for m in movements)


def check_cash_out(*, in_drawer: int, amount: int) -> None:
    """Refuse taking ``amount`` out of a drawer holding ``in_drawer``."""
    check_money(amount, Phrase(N_("The amount to take out")))
    if amount > in_drawer:
        raise NotEnoughCash(
            N_("Cannot take out {amount}: the drawer holds only {in_drawer}"),
            amount=format_money(amount),
            in_drawer=format_money(max(in_drawer, 0)),
        )


def check_cash_refund(*, in_drawer: int, amount: int) -> None:
    """Refuse paying ``amount`` back in cash from a drawer holding ``in_drawer``."""
    check_money(amount, Phrase(N_("The cash refund")))
    if amount > in_drawer:
        raise NotEnoughCash(
            N_("Cannot refund {amount} in cash: the drawer holds only {in_drawer}; put cash in first"),
            amount=format_money(amount),
            in_drawer=format_money(max(in_drawer, 0)),
        )
