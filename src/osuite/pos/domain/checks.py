"""Checks of the numbers handed to the money rules, refusing what no till could have produced.

Kept apart so that every rule states its inputs' limits the same way, in the same words.
"""

from __future__ import annotations

from decimal import Decimal

from osuite.core.money import MAX_MONEY, MAX_QUANTITY, format_money
from osuite.pos.domain.errors import InvalidInput


def quantity_text(qty: Decimal) -> str:
    """``Decimal("1.500")`` → ``"1.5"``, ``Decimal("3.000")`` → ``"3"``: as a cashier would say it."""
    text = f"{qty:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def check_quantity(qty: Decimal, what: str, *, allow_zero: bool = False) -> Decimal:
    """``qty`` itself when it is a finite ``Decimal`` of at most 3 places within the till's limits."""
    if not isinstance(qty, Decimal) or not qty.is_finite():
        raise InvalidInput(f"{what} {qty!r} is not a quantity")
    if qty < 0 or (qty == 0 and not allow_zero):
        raise InvalidInput(f"{what} must be more than zero, not {quantity_text(qty)}")
    if qty > MAX_QUANTITY:
        raise InvalidInput(f"{what} {quantity_text(qty)} is more than {quantity_text(MAX_QUANTITY)}")
    if (qty * 1000) % 1:
        raise InvalidInput(f"{what} {quantity_text(qty)} has more than 3 decimal places")
    return qty


def check_money(amount: int, what: str) -> int:
    """``amount`` itself when it is a whole, non-negative number of kopecks."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidInput(f"{what} {amount!r} is not an amount of money in kopecks")
    if amount < 0:
        raise InvalidInput(f"{what} must not be negative, not {format_money(amount)}")
    if amount > MAX_MONEY:
        raise InvalidInput(f"{what} {amount} is more than any amount of money can be")
    return amount
