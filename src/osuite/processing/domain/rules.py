"""A loyalty program's rules: what a receipt earns, what of it points may pay, the customer's discount
level, and what a return takes back and gives back.

Points are minor units like money (100 points are worth 1.00). The rules:

- **What points may pay.** Goods the program excludes (``excluded_products``, or in an
  ``excluded_categories`` category — tobacco, say) earn nothing and cannot be paid with points. Points
  may pay at most ``points_share`` percent of the other lines, rounded down: the *cap*. What a card can
  spend on a receipt is the smaller of its available points and the cap (:func:`quote`).
- **Accrual.** A line earns its percent: the product's own (``product_percents``) if it has one, else
  that of its nearest category that has one (``category_percents``, looked up along the line's
  ``category_path`` from its own category up), else the program's ``accrual_percent``. It earns on the
  part of its amount that was paid by means that earn: points never earn (paying with points earns
  nothing), nor gift cards unless ``gift_card_earns``, nor any ``excluded_payment_methods``. The points
  payment is spread over the lines points may pay, in proportion to their amounts; the other payments
  that do not earn over every line, in proportion to what the points left of it (largest remainder,
  :func:`~osuite.core.money.spread`). The receipt's accrual is the exact sum of its lines' shares,
  rounded half-up once, and is spread back over the lines in proportion to those shares, so the lines
  add up to it exactly.
- **Lots.** Points earned activate ``activation_days`` after the sale and the rest of them expire
  ``expiry_days`` after activation (never, when ``None``).
- **Discount level.** ``levels`` map a turnover (the customer's purchases, in minor units) to a discount
  percent; the highest threshold the turnover reaches applies (0 % below the lowest).
- **Gift cards.** A gift card's account is loaded with its nominal, valid for ``valid_days`` (or for
  ever); it pays any part of a receipt (no cap, no discount) and any number of times until it is empty.
- **Returns.** A returned line takes back its share of the accrual and gives back the points that paid
  for it, both in proportion to the quantity returned: after returns of ``r`` of the ``q`` sold, the line
  has given back ``round_half_up(x × r / q)`` of each figure ``x`` in all, so partial returns never drift
  and the last one takes exactly what remains (:func:`return_effects`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType

from osuite.core.i18n import N_
from osuite.core.money import format_money, spread
from osuite.processing.domain.checks import (
    check_moment,
    check_percent,
    check_points,
    check_quantity,
    check_text,
    quantity_text,
)
from osuite.processing.domain.errors import (
    InsufficientBalance,
    InvalidInput,
    OverCap,
    Phrase,
    ReturnTooLarge,
)
from osuite.processing.domain.journal import AccountState

POINTS = "bonus"
"""The payment method of points (the POS's and the data server's name for it)."""
GIFT_CARD = "gift"
"""The payment method of gift cards."""

_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Level:
    """From ``turnover`` (minor units) on, a customer gets ``percent`` off."""

    turnover: int
    percent: Decimal

    def __post_init__(self) -> None:
        check_points(self.turnover, Phrase(N_("A level's turnover")))
        check_percent(self.percent, Phrase(N_("A level's discount")))


def _days(days: int | None, what: Phrase) -> None:
    if days is not None and (isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 36_500):
        raise InvalidInput(
            N_("{what} must be a whole number of days from 0 to 36500, not {days}"), what=what, days=days
        )


@dataclass(frozen=True)
class Program:
    """A loyalty program's settings; see the module's docstring for what each does."""

    accrual_percent: Decimal = Decimal(0)
    category_percents: Mapping[str, Decimal] = field(default_factory=dict)
    product_percents: Mapping[str, Decimal] = field(default_factory=dict)
    excluded_products: frozenset[str] = frozenset()
    excluded_categories: frozenset[str] = frozenset()
    excluded_payment_methods: frozenset[str] = frozenset()
    gift_card_earns: bool = False
    activation_days: int = 0
    expiry_days: int | None = None
    points_share: Decimal = _HUNDRED
    levels: tuple[Level, ...] = ()

    def __post_init__(self) -> None:
        check_percent(self.accrual_percent, Phrase(N_("The program's accrual percent")))
        for name, rates in (
            ("category_percents", self.category_percents),
            ("product_percents", self.product_percents),
        ):
            for key, percent in rates.items():
                check_percent(percent, Phrase(N_("The accrual percent of {key}"), key=key))
            object.__setattr__(self, name, MappingProxyType(dict(rates)))
        for name in ("excluded_products", "excluded_categories", "excluded_payment_methods"):
            object.__setattr__(self, name, frozenset(getattr(self, name)))
        _days(self.activation_days, Phrase(N_("The activation delay")))
        if self.activation_days is None:
            raise InvalidInput(N_("The activation delay must be given (0 for none)"))
        _days(self.expiry_days, Phrase(N_("The expiry period")))
        if self.expiry_days == 0:
            raise InvalidInput(N_("Points cannot expire the day they activate: give at least 1 day, or none"))
        check_percent(self.points_share, Phrase(N_("The share of a receipt points may pay")))
        levels = tuple(sorted(self.levels, key=lambda level: level.turnover))
        if len({level.turnover for level in levels}) != len(levels):
            raise InvalidInput(N_("Two discount levels start at the same turnover"))
        object.__setattr__(self, "levels", levels)

    def excludes(self, line: ReceiptLine) -> bool:
        return line.product_id in self.excluded_products or not self.excluded_categories.isdisjoint(
            line.category_path
        )

    def percent_for(self, line: ReceiptLine) -> Decimal:
        """The percent ``line`` earns on what was paid for it by means that earn."""
        if self.excludes(line):
            return Decimal(0)
        if line.product_id in self.product_percents:
            return self.product_percents[line.product_id]
        for category in line.category_path:
            if category in self.category_percents:
                return self.category_percents[category]
        return self.accrual_percent

    def earns_with(self, method: str) -> bool:
        if method == POINTS or method in self.excluded_payment_methods:
            return False
        return method != GIFT_CARD or self.gift_card_earns

    def lot_times(self, sold_at: datetime) -> tuple[datetime, datetime | None]:
        """When points earned at ``sold_at`` activate, and when what is left of them expires."""
        activates_at = sold_at + timedelta(days=self.activation_days)
        expires_at = None if self.expiry_days is None else activates_at + timedelta(days=self.expiry_days)
        return activates_at, expires_at

    def discount_percent(self, turnover: int) -> Decimal:
        check_points(turnover, Phrase(N_("The customer's turnover")))
        percent = Decimal(0)
        for level in self.levels:
            if turnover >= level.turnover:
                percent = level.percent
        return percent


@dataclass(frozen=True)
class ReceiptLine:
    """A line of a receipt as the loyalty rules see it: ``amount`` is what it costs after every discount
    (minor units); ``category_path`` the product's category, then its parent, … up to the top."""

    line_no: int
    product_id: str
    amount: int
    category_path: tuple[str, ...] = ()
    quantity: Decimal = Decimal(1)

    def __post_init__(self) -> None:
        check_text(self.product_id, Phrase(N_("Line {line_no}: the product"), line_no=self.line_no))
        check_points(self.amount, Phrase(N_("Line {line_no}: the amount"), line_no=self.line_no))
        check_quantity(self.quantity, Phrase(N_("Line {line_no}: the quantity"), line_no=self.line_no))
        object.__setattr__(self, "category_path", tuple(self.category_path))


@dataclass(frozen=True)
class Payment:
    """A payment of a receipt by ``method`` (``cash``, ``card``, ``bonus``, ``gift`` …), net of change."""

    method: str
    amount: int

    def __post_init__(self) -> None:
        check_text(self.method, Phrase(N_("A payment's method")))
        check_points(self.amount, Phrase(N_("The {method} payment"), method=self.method))


def _check_lines(lines: Sequence[ReceiptLine]) -> None:
    numbers = [line.line_no for line in lines]
    if len(set(numbers)) != len(numbers):
        raise InvalidInput(N_("A receipt cannot have two lines numbered alike"))


def points_payable(program: Program, lines: Sequence[ReceiptLine]) -> int:
    """What of the receipt points may pay for at all: the lines the program does not exclude."""
    return sum(line.amount for line in lines if not program.excludes(line))


def points_cap(program: Program, lines: Sequence[ReceiptLine]) -> int:
    """The most points may pay of this receipt: ``points_share`` % of what they may pay for, rounded down."""
    payable = points_payable(program, lines)
    return int(Decimal(payable) * program.points_share / _HUNDRED)


def points_by_line(program: Program, lines: Sequence[ReceiptLine], points: int) -> tuple[int, ...]:
    """``points`` paid for the receipt, spread over the lines they may pay for in proportion to their
    amounts (over every line for what is beyond those, should a till have taken more)."""
    _check_lines(lines)
    check_points(points, Phrase(N_("The points paid")))
    total = sum(line.amount for line in lines)
    if points > total:
        raise InvalidInput(
            N_("Points of {points} cannot pay for a receipt of {total}"),
            points=format_money(points),
            total=format_money(total),
        )
    payable = [0 if program.excludes(line) else line.amount for line in lines]
    on_payable = spread(min(points, sum(payable)), payable)
    rest = [line.amount - part for line, part in zip(lines, on_payable, strict=True)]
    beyond = spread(points - sum(on_payable), rest)
    return tuple(a + b for a, b in zip(on_payable, beyond, strict=True))


@dataclass(frozen=True)
class LineAccrual:
    line_no: int
    base: int
    percent: Decimal
    points: int


@dataclass(frozen=True)
class Accrual:
    lines: tuple[LineAccrual, ...]
    total: int


def accrual(program: Program, lines: Sequence[ReceiptLine], payments: Sequence[Payment]) -> Accrual:
    """The points a paid receipt earns, by line; the lines add up to ``total`` exactly. ``payments``
    must add up to the receipt (net of change)."""
    _check_lines(lines)
    total = sum(line.amount for line in lines)
    paid = sum(p.amount for p in payments)
    if paid != total:
        raise InvalidInput(
            N_("The payments of {paid} do not add up to the receipt's {total}"),
            paid=format_money(paid),
            total=format_money(total),
        )
    with_points = points_by_line(program, lines, sum(p.amount for p in payments if p.method == POINTS))
    left = [line.amount - part for line, part in zip(lines, with_points, strict=True)]
    not_earning = sum(p.amount for p in payments if p.method != POINTS and not program.earns_with(p.method))
    bases = [a - b for a, b in zip(left, spread(not_earning, left), strict=True)]
    percents = [program.percent_for(line) for line in lines]
    weights = [base * int(percent * 100) for base, percent in zip(bases, percents, strict=True)]
    earned = (sum(weights) + 5_000) // 10_000  # Σ base × percent / 100, rounded half-up once
    shares = spread(earned, weights) if earned else [0] * len(lines)
    return Accrual(
        lines=tuple(
            LineAccrual(line_no=line.line_no, base=base, percent=percent, points=points)
            for line, base, percent, points in zip(lines, bases, percents, shares, strict=True)
        ),
        total=earned,
    )


@dataclass(frozen=True)
class Quote:
    """What a card can do for a receipt: ``spendable`` points (the smaller of ``available`` and ``cap``)
    and the ``discount_percent`` of the customer's level."""

    available: int
    cap: int
    discount_percent: Decimal

    @property
    def spendable(self) -> int:
        return min(self.available, self.cap)

    def check(self, points: int) -> int:
        """``points`` itself when this receipt may be paid with that many; else the refusal that says why."""
        check_points(points, Phrase(N_("The points to pay with")), positive=True)
        if points > self.cap:
            raise OverCap(requested=points, cap=self.cap)
        if points > self.available:
            raise InsufficientBalance(requested=points, available=self.available)
        return points


def quote(
    account_state: AccountState,
    program: Program,
    receipt_lines: Sequence[ReceiptLine],
    now: datetime,
    *,
    turnover: int = 0,
    spendable: int | None = None,
) -> Quote:
    """What the account can spend on this receipt at ``now`` and the discount that applies.

    ``spendable`` is what this center may spend of the account (the root's or a subordinate's bound,
    :mod:`~osuite.processing.domain.allowance`); the account's available points when ``None``.
    ``turnover`` is the customer's purchases so far, which choose the discount level.
    """
    check_moment(now, Phrase(N_("The time of the quote")))
    _check_lines(receipt_lines)
    available = account_state.available_at(now)
    if spendable is not None:
        available = min(available, check_points(spendable, Phrase(N_("What this center may spend"))))
    return Quote(
        available=available,
        cap=points_cap(program, receipt_lines),
        discount_percent=program.discount_percent(turnover),
    )


@dataclass(frozen=True)
class GiftCardTerms:
    """A kind of gift card: its ``nominal`` (minor units) and for how many days it is valid (for ever
    when ``None``)."""

    nominal: int
    valid_days: int | None = None

    def __post_init__(self) -> None:
        check_points(self.nominal, Phrase(N_("A gift card's nominal")), positive=True)
        _days(self.valid_days, Phrase(N_("A gift card's validity")))
        if self.valid_days == 0:
            raise InvalidInput(N_("A gift card must be valid for at least 1 day, or for ever"))

    def expires_at(self, loaded_at: datetime) -> datetime | None:
        return None if self.valid_days is None else loaded_at + timedelta(days=self.valid_days)


def gift_quote(
    account_state: AccountState, receipt_total: int, now: datetime, *, spendable: int | None = None
) -> Quote:
    """What a gift card can pay of a receipt of ``receipt_total``: any part, up to its balance."""
    check_moment(now, Phrase(N_("The time of the quote")))
    available = account_state.available_at(now)
    if spendable is not None:
        available = min(available, check_points(spendable, Phrase(N_("What this center may spend"))))
    cap = check_points(receipt_total, Phrase(N_("The receipt total")))
    return Quote(available=available, cap=cap, discount_percent=Decimal(0))


# --- returns ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SoldLine:
    """A line of the original sale: what it ``accrued``, the points that paid for it (``redeemed``), and
    what earlier returns of it took: ``returned_quantity``, ``reversed`` (accrual taken back) and
    ``refunded`` (points given back)."""

    line_no: int
    quantity: Decimal
    accrued: int
    redeemed: int
    returned_quantity: Decimal = Decimal(0)
    reversed: int = 0
    refunded: int = 0

    def __post_init__(self) -> None:
        n = self.line_no
        check_quantity(self.quantity, Phrase(N_("Line {line_no}: the quantity sold"), line_no=n))
        check_quantity(
            self.returned_quantity,
            Phrase(N_("Line {line_no}: the quantity returned"), line_no=n),
            allow_zero=True,
        )
        check_points(self.accrued, Phrase(N_("Line {line_no}: the points earned"), line_no=n))
        check_points(self.redeemed, Phrase(N_("Line {line_no}: the points paid"), line_no=n))
        check_points(self.reversed, Phrase(N_("Line {line_no}: the points taken back"), line_no=n))
        check_points(self.refunded, Phrase(N_("Line {line_no}: the points given back"), line_no=n))
        if (
            self.returned_quantity > self.quantity
            or self.reversed > self.accrued
            or self.refunded > self.redeemed
        ):
            raise InvalidInput(
                N_("Line {line_no}: earlier returns took back more than the sale had"), line_no=self.line_no
            )


@dataclass(frozen=True)
class ReturnedLine:
    line_no: int
    quantity: Decimal


@dataclass(frozen=True)
class LineReturn:
    line_no: int
    reverse: int
    give_back: int


@dataclass(frozen=True)
class ReturnEffects:
    """What a return does to the account: ``reverse`` points of the accrual are taken back and
    ``give_back`` points that paid for the goods are given back; by line in ``lines``."""

    lines: tuple[LineReturn, ...]

    @property
    def reverse(self) -> int:
        return sum(line.reverse for line in self.lines)

    @property
    def give_back(self) -> int:
        return sum(line.give_back for line in self.lines)


def sold_lines(
    program: Program, lines: Sequence[ReceiptLine], sale_accrual: Accrual, points_paid: int
) -> tuple[SoldLine, ...]:
    """The sale's lines as :func:`return_effects` needs them (nothing returned yet)."""
    by_line = {la.line_no: la.points for la in sale_accrual.lines}
    paid = points_by_line(program, lines, points_paid)
    return tuple(
        SoldLine(
            line_no=line.line_no, quantity=line.quantity, accrued=by_line.get(line.line_no, 0), redeemed=part
        )
        for line, part in zip(lines, paid, strict=True)
    )


def _share(whole: int, part: Decimal, of: Decimal) -> int:
    if part == of:
        return whole
    return int((Decimal(whole) * part / of).to_integral_value(rounding=ROUND_HALF_UP))


def return_effects(sold: Sequence[SoldLine], returned: Sequence[ReturnedLine]) -> ReturnEffects:
    """The accrual to take back and the points to give back for ``returned`` lines of a sale; see the
    module's docstring. Refuses more than a line has left to return."""
    lines = {line.line_no: line for line in sold}
    if len(lines) != len(sold):
        raise InvalidInput(N_("A receipt cannot have two lines numbered alike"))
    seen: set[int] = set()
    out: list[LineReturn] = []
    for item in returned:
        line = lines.get(item.line_no)
        if line is None:
            raise InvalidInput(N_("The sale has no line {line_no}"), line_no=item.line_no)
        if item.line_no in seen:
            raise InvalidInput(N_("Line {line_no} is returned twice in one return"), line_no=item.line_no)
        seen.add(item.line_no)
        check_quantity(
            item.quantity, Phrase(N_("Line {line_no}: the quantity to return"), line_no=item.line_no)
        )
        after = line.returned_quantity + item.quantity
        if after > line.quantity:
            raise ReturnTooLarge(
                line_no=line.line_no,
                sold=quantity_text(line.quantity),
                already_returned=quantity_text(line.returned_quantity),
                requested=quantity_text(item.quantity),
            )
        reverse = _share(line.accrued, after, line.quantity) - line.reversed
        give_back = _share(line.redeemed, after, line.quantity) - line.refunded
        out.append(
            LineReturn(
                line_no=line.line_no,
                reverse=min(max(reverse, 0), line.accrued - line.reversed),
                give_back=min(max(give_back, 0), line.redeemed - line.refunded),
            )
        )
    return ReturnEffects(lines=tuple(out))
