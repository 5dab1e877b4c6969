"""Checks of the numbers handed to the money rules, refusing what no till could have produced.

Kept apart so that every rule states its inputs' limits the same way, in the same words.
"""

from __future__ import annotations

from decimal import Decimal

from osuite.core.i18n import N_
from osuite.core.money import MAX_MONEY, MAX_QUANTITY, format_money
from osuite.pos.domain.errors import InvalidInput, Phrase


def quantity_text(qty: Decimal) -> str:
    """``Decimal("1.500")`` → ``"1.5"``, ``Decimal("3.000")`` → ``"3"``: as a cashier would say it."""
    text = f"{qty:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def check_quantity(qty: Decimal, what: Phrase, *, allow_zero: bool = False) -> Decimal:
    """``qty`` itself when it is a finite ``Decimal`` of at most 3 places within the till's limits."""
    if not isinstance(qty, Decimal) or not qty.is_finite():
        raise InvalidInput(N_("{what} {qty} is not a quantity"), what=what, qty=repr(qty))
    if qty < 0 or (qty == 0 and not allow_zero):
        raise InvalidInput(N_("{what} must be more than zero, not {qty}"), what=what, qty=quantity_text(qty))
    if qty > MAX_QUANTITY:
        raise InvalidInput(
            N_("{what} {qty} is more than {limit}"),
            what=what,
            qty=quantity_text(qty),
            limit=quantity_text(MAX_QUANTITY),
        )
    if (qty * 1000) % 1:
        raise InvalidInput(
            N_("{what} {qty} has more than 3 decimal places"), what=what, qty=quantity_text(qty)
        )
    return qty


def check_money(amount: int, what: Phrase) -> int:
    """``amount`` itself when it is a whole, non-negative number of kopecks."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidInput(
            N_("{what} {amount} is not an amount of money in kopecks"), what=what, amount=repr(amount)
        )
    if amount < 0:
        raise InvalidInput(
            N_("{what} must not be negative, not {amount}"), what=what, amount=format_money(amount)
        )
    if amount > MAX_MONEY:
        raise InvalidInput(
            N_("{what} {amount} is more than any amount of money can be"), what=what, amount=str(amount)
        )
    return amount
