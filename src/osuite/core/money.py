"""Money and quantities.

Money is an ``int`` of minor units (kopecks), never a float. Quantities are ``Decimal`` with at most
three places (a weight in kg). A line's amount is rounded half-up to the kopeck once, at the line;
totals are sums of lines; a discount is spread over lines so that they add up to the total exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

QUANTITY_PLACES = Decimal("0.001")
MAX_QUANTITY = Decimal("99999.999")


class MoneyError(ValueError):
    """A money amount or quantity that cannot be what the caller says it is."""


def parse_money(text: str) -> int:
    """Minor units from a decimal amount as people write it: ``"12.34"``, ``"12,5"``, ``"-3"``."""
    cleaned = text.strip().replace(" ", "").replace("\u00a0", "").replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise MoneyError(f"{text!r} is not an amount of money") from None
    if not value.is_finite():
        raise MoneyError(f"{text!r} is not an amount of money")
    minor = value * 100
    if minor != minor.to_integral_value():
        raise MoneyError(f"{text!r} has more than two decimal places")
    return int(minor)


def format_money(minor: int) -> str:
    """``1234`` → ``"12.34"``; the inverse of :func:`parse_money`."""
    sign = "-" if minor < 0 else ""
    whole, cents = divmod(abs(minor), 100)
    return f"{sign}{whole}.{cents:02d}"


def quantity(value: str | int | Decimal) -> Decimal:
    """A quantity with exactly three places, refusing more precision than a scale can weigh."""
    try:
        q = Decimal(value.replace(",", ".").strip()) if isinstance(value, str) else Decimal(value)
    except InvalidOperation:
        raise MoneyError(f"{value!r} is not a quantity") from None
    if not q.is_finite():
        raise MoneyError(f"{value!r} is not a quantity")
    if q != q.quantize(QUANTITY_PLACES, rounding=ROUND_HALF_UP):
        raise MoneyError(f"{value!r} has more than three decimal places")
    if abs(q) > MAX_QUANTITY:
        raise MoneyError(f"{value!r} is larger than {MAX_QUANTITY}")
    return q.quantize(QUANTITY_PLACES)


def line_amount(price: int, qty: Decimal) -> int:
    """Price (minor units per unit) × quantity, rounded half-up to the kopeck, once."""
    return int((Decimal(price) * qty).to_integral_value(rounding=ROUND_HALF_UP))


def percent_of(amount: int, percent: Decimal) -> int:
    """``percent`` % of ``amount``, rounded half-up to the kopeck."""
    return int((Decimal(amount) * percent / 100).to_integral_value(rounding=ROUND_HALF_UP))


def spread(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` over lines in proportion to ``weights`` so the parts add up to ``total`` exactly.

    Largest-remainder method: each part is the floor of its exact share, and the kopecks left over go
    to the lines with the largest remainders (earlier lines first on ties), so the result is stable.
    No part exceeds its weight when ``0 <= total <= sum(weights)``, so a discount never makes a line
    negative.
    """
    if any(w < 0 for w in weights):
        raise MoneyError("weights must not be negative")
    whole = sum(weights)
    if not weights:
        if total:
            raise MoneyError("cannot spread a non-zero amount over no lines")
        return []
    if whole == 0:
        if total:
            raise MoneyError("cannot spread a non-zero amount over lines worth nothing")
        return [0] * len(weights)
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    parts = [magnitude * w // whole for w in weights]
    remainders = [magnitude * w % whole for w in weights]
    left = magnitude - sum(parts)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        parts[i] += 1
    return [sign * p for p in parts]
