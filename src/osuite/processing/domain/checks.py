"""Checks of the values handed to the loyalty rules, refusing what no till or operator could mean.

Kept apart so that every rule states its inputs' limits the same way, in the same words.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from osuite.core.i18n import N_
from osuite.core.money import MAX_MONEY, MAX_QUANTITY, format_money
from osuite.processing.domain.errors import InvalidInput, Phrase


def quantity_text(qty: Decimal) -> str:
    """``Decimal("1.500")`` → ``"1.5"``: as a cashier would say it."""
    text = f"{qty:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def check_points(amount: int, what: Phrase, *, positive: bool = False) -> int:
    """``amount`` itself when it is a whole number of minor units, not negative (more than zero when
    ``positive``), within what a BIGINT holds."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidInput(
            N_("{what} {amount} is not a whole number of points"), what=what, amount=repr(amount)
        )
    if amount < 0 or (positive and amount == 0):
        raise InvalidInput(
            N_("{what} must be more than zero, not {amount}")
            if positive
            else N_("{what} must not be negative, not {amount}"),
            what=what,
            amount=format_money(amount),
        )
    if amount > MAX_MONEY:
        raise InvalidInput(
            N_("{what} {amount} is more than any balance can be"), what=what, amount=str(amount)
        )
    return amount


def check_moment(moment: datetime, what: Phrase) -> datetime:
    """``moment`` itself when it is a ``datetime`` that knows its time zone (centers sit in different
    zones; a naive time would mean different instants to each)."""
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise InvalidInput(
            N_("{what} {moment} is not a time with its time zone"), what=what, moment=repr(moment)
        )
    return moment


def check_percent(percent: Decimal, what: Phrase) -> Decimal:
    """``percent`` itself when it is a ``Decimal`` from 0 to 100 with at most two places."""
    if not isinstance(percent, Decimal) or not percent.is_finite():
        raise InvalidInput(N_("{what} {percent} is not a percent"), what=what, percent=repr(percent))
    if not 0 <= percent <= 100:
        raise InvalidInput(N_("{what} {percent}% is not from 0 to 100"), what=what, percent=percent)
    if (percent * 100) % 1:
        raise InvalidInput(
            N_("{what} {percent}% has more than two decimal places"), what=what, percent=percent
        )
    return percent


def check_quantity(qty: Decimal, what: Phrase, *, allow_zero: bool = False) -> Decimal:
    """``qty`` itself when it is a finite ``Decimal`` of at most 3 places within a till's limits."""
    if not isinstance(qty, Decimal) or not qty.is_finite():
        raise InvalidInput(N_("{what} {qty} is not a quantity"), what=what, qty=repr(qty))
    if qty < 0 or (qty == 0 and not allow_zero):
        raise InvalidInput(N_("{what} must be more than zero, not {qty}"), what=what, qty=quantity_text(qty))
    if qty > MAX_QUANTITY or (qty * 1000) % 1:
        raise InvalidInput(
            N_("{what} {qty} is not a quantity a till can sell"), what=what, qty=quantity_text(qty)
        )
    return qty


def check_text(text: str | None, what: Phrase) -> str:
    """``text`` itself when it says something (not missing, not blank)."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(N_("{what} must be given"), what=what)
    return text
