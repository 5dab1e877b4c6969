"""Pricing a receipt: each line's gross, the discounts on it and where they came from, and the totals.

The rules, in the order they apply:

1. A line's gross is ``line_amount(price, quantity)``, rounded half-up once.
2. Line promotions that run (see :mod:`osuite.pos.domain.promotions`) and cover the line:
   ``percent_off`` takes its percent of the line; ``amount_off`` its amount per unit, per kg for
   weighted goods (``line_amount(amount, quantity)``); ``n_for_m`` works only on whole units of goods
   that are not weighted: of every ``buy`` units ``buy − pay`` are free, so the discount is
   ``floor(floor(quantity) / buy) × (buy − pay) × price``. Of the promotions that are not stackable,
   the one giving the largest discount on the gross wins (on a tie the lower id, so the choice never
   flickers); then the stackable ones apply on top in order of id, each on what remains.
3. The cashier's manual line discount applies on what remains: a percent of it, or an amount capped
   at it.
4. ``receipt_threshold`` promotions that run are checked against the sum of the lines after every line
   discount (promotions and manual): those whose ``threshold`` it reaches apply. The largest of the
   non-stackable ones wins (tie: lower id), then the stackable ones on top by id, each on what
   remains. Each discount (a percent of the remaining total, or an amount capped at it) is spread over
   the lines in proportion to their amounts at that point with :func:`~osuite.core.money.spread`.
5. The cashier's manual receipt discount likewise, last.

Every percent is rounded half-up to the kopeck once; every cap keeps a line at zero or more; a
discount of zero is not listed. The lines' amounts add up to the total exactly, and each line's
discounts to its discount.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Literal

from osuite.core.i18n import N_
from osuite.core.money import line_amount, percent_of, spread
from osuite.pos.domain.checks import check_money, check_quantity
from osuite.pos.domain.errors import InvalidInput, Phrase
from osuite.pos.domain.promotions import (
    AMOUNT_OFF,
    LINE_KINDS,
    N_FOR_M,
    PERCENT_OFF,
    RECEIPT_THRESHOLD,
    Promotion,
)


@dataclass(frozen=True)
class ManualDiscount:
    """A discount the cashier gives by hand: ``percent`` of what remains, or an ``amount`` in kopecks."""

    percent: Decimal | None = None
    amount: int | None = None

    def __post_init__(self) -> None:
        if (self.percent is None) == (self.amount is None):
            raise InvalidInput(N_("A manual discount is either a percent or an amount, not both or neither"))
        percent = self.percent
        if percent is not None and not (
            isinstance(percent, Decimal) and percent.is_finite() and 0 < percent <= 100
        ):
            raise InvalidInput(
                N_("A discount of {percent} is not possible: give more than 0 and at most 100"),
                percent=f"{percent}%",
            )
        if self.amount is not None:
            check_money(self.amount, Phrase(N_("A discount amount")))

    @classmethod
    def of_percent(cls, percent: Decimal | str | int) -> ManualDiscount:
        try:
            return cls(percent=Decimal(percent))
        except InvalidOperation:
            raise InvalidInput(N_("{percent} is not a percent"), percent=repr(percent)) from None

    @classmethod
    def of_amount(cls, amount: int) -> ManualDiscount:
        return cls(amount=amount)

    def on(self, remaining: int) -> int:
        if self.percent is not None:
            return percent_of(remaining, self.percent)
        return min(self.amount or 0, remaining)


@dataclass(frozen=True)
class SaleLine:
    """A line to price: ``price`` in kopecks per unit (per kg when ``weighted``), ``category_ids`` with
    every ancestor of the product's category."""

    line_no: int
    product_id: str
    quantity: Decimal
    price: int
    category_ids: frozenset[str] = frozenset()
    weighted: bool = False
    manual_discount: ManualDiscount | None = None

    def __post_init__(self) -> None:
        check_quantity(self.quantity, Phrase(N_("Line {line_no}: the quantity"), line_no=self.line_no))
        check_money(self.price, Phrase(N_("Line {line_no}: the price"), line_no=self.line_no))
        if not isinstance(self.category_ids, frozenset):
            object.__setattr__(self, "category_ids", frozenset(self.category_ids))

    @property
    def gross(self) -> int:
        return line_amount(self.price, self.quantity)


@dataclass(frozen=True)
class Discount:
    """One discount on one line: from a promotion (its id and name) or given by hand (``manual``).
    ``whole_receipt`` marks a share of a discount on the whole receipt."""

    source: Literal["promotion", "manual"]
    amount: int
    promotion_id: str | None = None
    name: str | None = None
    whole_receipt: bool = False


@dataclass(frozen=True)
class PricedLine:
    line_no: int
    gross: int
    discounts: tuple[Discount, ...] = ()

    @property
    def discount(self) -> int:
        return sum(d.amount for d in self.discounts)

    @property
    def amount(self) -> int:
        return self.gross - self.discount


@dataclass(frozen=True)
class PricedReceipt:
    lines: tuple[PricedLine, ...]

    @property
    def gross(self) -> int:
        return sum(line.gross for line in self.lines)

    @property
    def discount(self) -> int:
        return sum(line.discount for line in self.lines)

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)


def price_receipt(
    *,
    lines: Sequence[SaleLine],
    promotions: Iterable[Promotion],
    store_id: str,
    moment: datetime,
    manual_discount: ManualDiscount | None = None,
) -> PricedReceipt:
    """The receipt priced by the rules in this module's docstring; ``moment`` is the store's local time."""
    seen: set[int] = set()
    for line in lines:
        if line.line_no in seen:
            raise InvalidInput(N_("Line number {line_no} appears twice on the receipt"), line_no=line.line_no)
        seen.add(line.line_no)
    running = [p for p in promotions if p.runs_at(store_id, moment)]
    line_rules = sorted((p for p in running if p.kind in LINE_KINDS), key=_by_id)
    receipt_rules = sorted((p for p in running if p.kind == RECEIPT_THRESHOLD), key=_by_id)
    drafts = [_price_line(line, line_rules) for line in lines]
    _discount_receipt(drafts, receipt_rules, manual_discount)
    return PricedReceipt(tuple(PricedLine(d.line_no, d.gross, tuple(d.discounts)) for d in drafts))


@dataclass
class _Draft:
    line_no: int
    gross: int
    discounts: list[Discount] = field(default_factory=list)

    @property
    def remaining(self) -> int:
        return self.gross - sum(d.amount for d in self.discounts)

    def add(self, discount: Discount) -> None:
        if discount.amount:
            self.discounts.append(discount)


def _by_id(promotion: Promotion) -> str:
    return promotion.id


def _price_line(line: SaleLine, rules: Sequence[Promotion]) -> _Draft:
    draft = _Draft(line.line_no, line.gross)
    covering = [p for p in rules if p.covers(line.product_id, line.category_ids)]
    best: tuple[int, Promotion] | None = None
    for promotion in covering:  # sorted by id: a tie keeps the lower id
        if not promotion.stackable:
            amount = _line_discount(promotion, line, draft.gross)
            if best is None or amount > best[0]:
                best = (amount, promotion)
    if best is not None:
        draft.add(_from(best[1], best[0]))
    for promotion in covering:
        if promotion.stackable:
            draft.add(_from(promotion, _line_discount(promotion, line, draft.remaining)))
    if line.manual_discount is not None:
        draft.add(Discount("manual", line.manual_discount.on(draft.remaining)))
    return draft


def _line_discount(promotion: Promotion, line: SaleLine, base: int) -> int:
    """What ``promotion`` takes off ``base`` (what remains of the line), never more than ``base``."""
    if promotion.kind == PERCENT_OFF and promotion.percent is not None:
        return percent_of(base, promotion.percent)
    if promotion.kind == AMOUNT_OFF and promotion.amount is not None:
        return min(line_amount(promotion.amount, line.quantity), base)
    if promotion.kind == N_FOR_M and promotion.buy and promotion.pay and not line.weighted:
        sets = int(line.quantity) // promotion.buy
        return min(sets * (promotion.buy - promotion.pay) * line.price, base)
    return 0


def _discount_receipt(
    drafts: list[_Draft], rules: Sequence[Promotion], manual: ManualDiscount | None
) -> None:
    subtotal = sum(d.remaining for d in drafts)
    reached = [p for p in rules if subtotal >= (p.threshold or 0)]
    best: tuple[int, Promotion] | None = None
    for promotion in reached:
        if not promotion.stackable:
            amount = _receipt_discount(promotion, subtotal)
            if best is None or amount > best[0]:
                best = (amount, promotion)
    if best is not None:
        _spread(drafts, _from(best[1], best[0], whole_receipt=True))
    for promotion in reached:
        if promotion.stackable:
            remaining = sum(d.remaining for d in drafts)
            _spread(drafts, _from(promotion, _receipt_discount(promotion, remaining), whole_receipt=True))
    if manual is not None:
        remaining = sum(d.remaining for d in drafts)
        _spread(drafts, Discount("manual", manual.on(remaining), whole_receipt=True))


def _receipt_discount(promotion: Promotion, base: int) -> int:
    if promotion.percent is not None:
        return percent_of(base, promotion.percent)
    return min(promotion.amount or 0, base)


def _spread(drafts: list[_Draft], discount: Discount) -> None:
    """Share ``discount`` over the lines in proportion to what remains of each; never below zero."""
    if not discount.amount:
        return
    parts = spread(discount.amount, [d.remaining for d in drafts])
    for draft, part in zip(drafts, parts, strict=True):
        draft.add(Discount(discount.source, part, discount.promotion_id, discount.name, whole_receipt=True))


def _from(promotion: Promotion, amount: int, *, whole_receipt: bool = False) -> Discount:
    return Discount("promotion", amount, promotion.id, promotion.name, whole_receipt)
