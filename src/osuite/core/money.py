"""Money and quantities.

Money is an ``int`` of minor units (kopecks), never a float. Quantities are ``Decimal`` with at most
three places (a weight in kg). A line's amount is rounded half-up to the kopeck once, at the line;
totals are sums of lines; a discount is spread over lines so that they add up to the total exactly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

QUANTITY_PLACES = Decimal("0.001")
MAX_QUANTITY = Decimal("99999.999")
MAX_MONEY = 2**63 - 1  # kopecks; what a BIGINT column holds
_MAX_WHOLE_DIGITS = len(str(MAX_MONEY // 100))
_AMOUNT = re.compile(r"(?P<sign>[+-]?)(?=[0-9]|\.[0-9])(?P<whole>[0-9]*)(?:\.(?P<fraction>[0-9]*))?")


class MoneyError(ValueError):
    """A money amount or quantity that cannot be what the caller says it is."""


def parse_money(text: str) -> int:
    """Minor units from a decimal amount as people write it: ``"12.34"``, ``"12,5"``, ``"-3"``.

    Read digit by digit rather than through ``Decimal`` arithmetic, whose 28-digit context would
    silently round a long amount and would accept exponents (``"1e999999"``) that overflow it.
    """
    cleaned = text.strip().replace(" ", "").replace("\u00a0", "").replace(",", ".")
    match = _AMOUNT.fullmatch(cleaned)
    if match is None:
        raise MoneyError(f"{text!r} is not an amount of money")
    sign, whole, fraction = match.group("sign", "whole", "fraction")
    fraction = (fraction or "").rstrip("0")
    if len(fraction) > 2:
        raise MoneyError(f"{text!r} has more than two decimal places")
    whole = whole.lstrip("0")
    if len(whole) > _MAX_WHOLE_DIGITS:
        raise MoneyError(f"{text!r} is larger than any amount of money can be")
    minor = int(whole or "0") * 100 + int(fraction.ljust(2, "0"))
    if minor > MAX_MONEY:
        raise MoneyError(f"{text!r} is larger than any amount of money can be")
    return -minor if sign == "-" else minor


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
    if abs(q) > MAX_QUANTITY:  # first: quantizing a huge value would overflow the decimal context
        raise MoneyError(f"{value!r} is larger than {MAX_QUANTITY}")
    if q != q.quantize(QUANTITY_PLACES, rounding=ROUND_HALF_UP):
        raise MoneyError(f"{value!r} has more than three decimal places")
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
