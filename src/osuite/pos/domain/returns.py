"""Returns: how much of a sold line can still be returned and for how much, and which of the original
payments give the money back.

A line's refund is proportional to the quantity returned: ``amount × returned / sold``, rounded half-up
once, and never more than what earlier returns left of the amount. Returning everything that remains
refunds exactly what remains, so however a line is returned, in one go or in parts, its refunds add up
to exactly what the customer paid for it, never a kopeck more.

A refund goes back the way the customer paid (what a store's bank and accountant expect, and what stops
paying by card and returning for cash). The payments that are not cash (card, bonus points, gift card,
anything but ``cash``) are refunded first, in proportion to what each can still give back; cash takes
the rest. No payment type gives back more than was paid with it less what earlier returns of the same
receipt already gave back through it; cash counts net of the change handed back. The parts add up to
the refund exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from osuite.core.i18n import N_
from osuite.core.money import format_money, spread
from osuite.pos.domain.checks import check_money, check_quantity, quantity_text
from osuite.pos.domain.errors import InvalidInput, Phrase, RefundTooLarge, ReturnTooLarge

CASH = "cash"


@dataclass(frozen=True)
class SoldLine:
    """A line of the original sale, and what earlier returns of it already took back."""

    line_no: int
    quantity: Decimal
    amount: int
    returned_quantity: Decimal = Decimal(0)
    returned_amount: int = 0

    def __post_init__(self) -> None:
        line_no = self.line_no
        check_quantity(self.quantity, Phrase(N_("Line {line_no}: the quantity sold"), line_no=line_no))
        check_money(self.amount, Phrase(N_("Line {line_no}: the amount paid"), line_no=line_no))
        check_quantity(
            self.returned_quantity,
            Phrase(N_("Line {line_no}: the quantity returned"), line_no=line_no),
            allow_zero=True,
        )
        check_money(self.returned_amount, Phrase(N_("Line {line_no}: the amount refunded"), line_no=line_no))
        if self.returned_quantity > self.quantity or self.returned_amount > self.amount:
            raise InvalidInput(
                N_(
                    "Line {line_no}: earlier returns took back {returned} for {refunded}, more than the"
                    " {sold} sold for {paid}"
                ),
                line_no=line_no,
                returned=quantity_text(self.returned_quantity),
                refunded=format_money(self.returned_amount),
                sold=quantity_text(self.quantity),
                paid=format_money(self.amount),
            )

    @property
    def remaining_quantity(self) -> Decimal:
        return self.quantity - self.returned_quantity

    @property
    def remaining_amount(self) -> int:
        return self.amount - self.returned_amount


def line_refund(line: SoldLine, quantity: Decimal) -> int:
    """What returning ``quantity`` of ``line`` refunds, in kopecks; refuses more than remains."""
    check_quantity(quantity, Phrase(N_("Line {line_no}: the quantity to return"), line_no=line.line_no))
    if quantity > line.remaining_quantity:
        raise ReturnTooLarge(
            line_no=line.line_no,
            sold=quantity_text(line.quantity),
            already_returned=quantity_text(line.returned_quantity),
            requested=quantity_text(quantity),
            remaining=quantity_text(line.remaining_quantity),
        )
    if quantity == line.remaining_quantity:
        return line.remaining_amount
    share = (Decimal(line.amount) * quantity / line.quantity).to_integral_value(rounding=ROUND_HALF_UP)
    return min(int(share), line.remaining_amount)


@dataclass(frozen=True)
class OriginalPayment:
    """A payment of the original receipt: its payment type's code and method (cash, card, bonus …), the
    amount tendered, and for cash the change handed back."""

    payment_type: str
    method: str
    amount: int
    change: int = 0

    def __post_init__(self) -> None:
        check_money(self.amount, Phrase(N_("The {payment_type} payment"), payment_type=self.payment_type))
        check_money(
            self.change,
            Phrase(N_("The change on the {payment_type} payment"), payment_type=self.payment_type),
        )
        if self.change > self.amount:
            raise InvalidInput(
                N_("The change {change} on the {payment_type} payment is more than the {tendered} tendered"),
                change=format_money(self.change),
                payment_type=self.payment_type,
                tendered=format_money(self.amount),
            )

    @property
    def net(self) -> int:
        return self.amount - self.change


@dataclass(frozen=True)
class RefundPart:
    payment_type: str
    method: str
    amount: int


def refund_payments(
    *,
    payments: Sequence[OriginalPayment],
    refund: int,
    already_refunded: Mapping[str, int] | None = None,
) -> list[RefundPart]:
    """``refund`` split over the original payment types by the rule in this module's docstring.

    ``already_refunded`` maps a payment type's code to what earlier returns of this receipt gave back
    through it. The parts come in the order the payment types first appear; types giving nothing back
    are left out.
    """
    check_money(refund, Phrase(N_("The refund")))
    earlier = already_refunded or {}
    methods: dict[str, str] = {}
    paid: dict[str, int] = {}
    for payment in payments:
        methods.setdefault(payment.payment_type, payment.method)
        paid[payment.payment_type] = paid.get(payment.payment_type, 0) + payment.net
    left = {code: max(0, paid[code] - earlier.get(code, 0)) for code in paid}
    can_give = sum(left.values())
    if refund > can_give:
        given = sum(min(earlier.get(code, 0), paid[code]) for code in paid)
        raise RefundTooLarge(
            N_(
                "A refund of {refund} is more than the {can_give} the receipt's payments can still give"
                " back (paid {paid}, already refunded {refunded})"
            ),
            refund=format_money(refund),
            can_give=format_money(can_give),
            paid=format_money(sum(paid.values())),
            refunded=format_money(given),
        )
    non_cash = [code for code in paid if methods[code] != CASH]
    cash = [code for code in paid if methods[code] == CASH]
    to_non_cash = min(refund, sum(left[code] for code in non_cash))
    shares = dict(zip(non_cash, spread(to_non_cash, [left[c] for c in non_cash]), strict=True))
    shares.update(zip(cash, spread(refund - to_non_cash, [left[c] for c in cash]), strict=True))
    return [RefundPart(code, methods[code], shares[code]) for code in paid if shares[code]]
