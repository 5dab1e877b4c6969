"""The loyalty program: what a receipt earns, what points may pay, the discount level, gift cards and
what a return takes back and gives back."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from osuite.processing.domain.errors import InsufficientBalance, InvalidInput, OverCap, ReturnTooLarge
from osuite.processing.domain.journal import Kind, derive
from osuite.processing.domain.rules import (
    Accrual,
    GiftCardTerms,
    Level,
    LineAccrual,
    Payment,
    Program,
    ReceiptLine,
    ReturnedLine,
    SoldLine,
    accrual,
    gift_quote,
    points_by_line,
    points_cap,
    quote,
    return_effects,
    sold_lines,
)
from tests.processing.domain.support import at, credit, mv

D = Decimal
MILK = ReceiptLine(1, "milk", 10_000, ("dairy", "food"))
CHEESE = ReceiptLine(2, "cheese", 30_000, ("dairy", "food"))
BREAD = ReceiptLine(3, "bread", 5_000, ("bakery", "food"))
CIGARETTES = ReceiptLine(4, "cigarettes", 20_000, ("tobacco",))

PROGRAM = Program(
    accrual_percent=D(5),
    category_percents={"dairy": D(10), "food": D(2)},
    product_percents={"cheese": D("7.5")},
    excluded_categories=frozenset({"tobacco"}),
    activation_days=14,
    expiry_days=180,
    points_share=D(50),
    levels=(Level(0, D(0)), Level(1_000_000, D(3)), Level(5_000_000, D(5))),
)


# --- accrual ------------------------------------------------------------------------------------------


def test_a_line_earns_its_products_percent_else_its_nearest_categorys_else_the_programs() -> None:
    other = ReceiptLine(5, "soap", 1_000, ("household",))
    assert [PROGRAM.percent_for(line) for line in (MILK, CHEESE, BREAD, CIGARETTES, other)] == [
        D(10),
        D("7.5"),
        D(2),
        D(0),
        D(5),
    ]


def test_a_receipt_paid_by_card_earns_on_every_line_that_is_not_excluded() -> None:
    lines = [MILK, CHEESE, BREAD, CIGARETTES]
    earned = accrual(PROGRAM, lines, [Payment("card", 65_000)])
    assert earned == Accrual(
        lines=(
            LineAccrual(1, 10_000, D(10), 1_000),
            LineAccrual(2, 30_000, D("7.5"), 2_250),
            LineAccrual(3, 5_000, D(2), 100),
            LineAccrual(4, 20_000, D(0), 0),
        ),
        total=3_350,
    )


def test_points_paid_with_points_earn_nothing() -> None:
    # Points pay only for the milk and the bread, in proportion: 40.00 and 20.00; cash pays the rest.
    lines = [MILK, BREAD, CIGARETTES]
    earned = accrual(PROGRAM, lines, [Payment("bonus", 6_000), Payment("cash", 29_000)])
    assert [la.base for la in earned.lines] == [6_000, 3_000, 20_000]
    assert [la.points for la in earned.lines] == [600, 60, 0]
    assert earned.total == 660


def test_gift_cards_earn_only_when_the_program_says_so() -> None:
    lines = [MILK]
    paid = [Payment("gift", 4_000), Payment("card", 6_000)]
    assert accrual(PROGRAM, lines, paid).total == 600
    assert accrual(Program(accrual_percent=D(10), gift_card_earns=True), lines, paid).total == 1_000
    sbp_excluded = Program(accrual_percent=D(10), excluded_payment_methods=frozenset({"card"}))
    assert accrual(sbp_excluded, lines, paid).total == 0


def test_the_receipts_accrual_is_rounded_once_and_spread_over_the_lines() -> None:
    # Three lines of 0.33 at 5 %: 1.65 points each exactly, 4.95 in all → 5 points, not 3 × 2 = 6.
    lines = [ReceiptLine(n, f"p{n}", 33) for n in (1, 2, 3)]
    earned = accrual(Program(accrual_percent=D(5)), lines, [Payment("cash", 99)])
    assert earned.total == 5
    assert [la.points for la in earned.lines] == [2, 2, 1]


def test_payments_must_add_up_to_the_receipt() -> None:
    with pytest.raises(InvalidInput, match=r"payments of 50\.00 do not add up to the receipt's 100\.00"):
        accrual(PROGRAM, [MILK], [Payment("cash", 5_000)])


def test_lines_numbered_alike_are_refused() -> None:
    with pytest.raises(InvalidInput, match="two lines numbered alike"):
        accrual(PROGRAM, [MILK, MILK], [Payment("cash", 20_000)])


def test_points_earned_activate_after_the_delay_and_expire_after_the_period() -> None:
    activates, expires = PROGRAM.lot_times(at(0))
    assert (activates, expires) == (at(14), at(194))
    assert Program(accrual_percent=D(1)).lot_times(at(0)) == (at(0), None)


@pytest.mark.parametrize(
    ("settings_", "message"),
    [
        ({"accrual_percent": D(101)}, "is not from 0 to 100"),
        ({"accrual_percent": D("1.005")}, "more than two decimal places"),
        ({"product_percents": {"milk": D(-1)}}, "The accrual percent of milk"),
        ({"expiry_days": 0}, "cannot expire the day they activate"),
        ({"activation_days": -1}, "whole number of days"),
        ({"levels": (Level(0, D(1)), Level(0, D(2)))}, "same turnover"),
    ],
)
def test_impossible_programs_are_refused(settings_: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        Program(**settings_)  # type: ignore[arg-type]


# --- quote ----------------------------------------------------------------------------------------------


def test_the_discount_comes_from_the_highest_level_the_turnover_reaches() -> None:
    assert [PROGRAM.discount_percent(t) for t in (0, 999_999, 1_000_000, 4_999_999, 5_000_000, 10**9)] == [
        D(0),
        D(0),
        D(3),
        D(3),
        D(5),
        D(5),
    ]
    assert Program().discount_percent(10**9) == D(0)


def test_points_may_pay_at_most_the_share_of_what_they_may_pay_for() -> None:
    assert points_cap(PROGRAM, [MILK, BREAD, CIGARETTES]) == 7_500  # 50 % of 150.00; tobacco not at all
    assert points_cap(Program(points_share=D("33.33")), [ReceiptLine(1, "x", 100)]) == 33  # rounded down


def test_a_quote_offers_the_smaller_of_the_balance_and_the_cap() -> None:
    rich = derive([credit(100_000, at(0))], as_of=at(1))
    offer = quote(rich, PROGRAM, [MILK, BREAD], at(1), turnover=1_200_000)
    assert (offer.available, offer.cap, offer.spendable, offer.discount_percent) == (
        100_000,
        7_500,
        7_500,
        D(3),
    )
    poor = derive([credit(2_000, at(0))], as_of=at(1))
    assert quote(poor, PROGRAM, [MILK, BREAD], at(1)).spendable == 2_000
    assert quote(rich, PROGRAM, [MILK, BREAD], at(1), spendable=1_000).spendable == 1_000


def test_a_quote_counts_points_that_activate_or_expire_by_now() -> None:
    state = derive([credit(1_000, at(0), active_in=14), credit(500, at(0), expires_in=5)], as_of=at(0))
    assert quote(state, PROGRAM, [CHEESE], at(4)).available == 500
    assert quote(state, PROGRAM, [CHEESE], at(5)).available == 0
    assert quote(state, PROGRAM, [CHEESE], at(14)).available == 1_000


def test_a_quote_refuses_more_than_the_cap_or_the_balance() -> None:
    offer = quote(derive([credit(2_000, at(0))], as_of=at(1)), PROGRAM, [MILK], at(1))
    assert offer.check(2_000) == 2_000
    with pytest.raises(OverCap, match=r"Points can pay at most 50\.00 of this receipt, not 60\.00"):
        offer.check(6_000)
    with pytest.raises(InsufficientBalance, match=r"30\.00 points were asked for, but only 20\.00"):
        offer.check(3_000)


# --- gift cards -----------------------------------------------------------------------------------------


def test_a_gift_card_pays_any_part_of_a_receipt_until_it_is_empty() -> None:
    terms = GiftCardTerms(nominal=300_000, valid_days=365)
    assert terms.expires_at(at(0)) == at(365)
    load = mv(Kind.GIFT_LOAD, terms.nominal, at(0), expires_at=terms.expires_at(at(0)))
    card = derive([load], as_of=at(1))
    assert gift_quote(card, 120_000, at(1)).spendable == 120_000
    spent = derive([load, mv(Kind.REDEMPTION, -250_000, at(2))], as_of=at(3))
    assert gift_quote(spent, 120_000, at(3)).spendable == 50_000
    assert gift_quote(spent, 120_000, at(365)).spendable == 0


# --- returns ------------------------------------------------------------------------------------------


def test_a_partial_return_takes_back_and_gives_back_in_proportion() -> None:
    line = SoldLine(line_no=1, quantity=D(3), accrued=100, redeemed=1_000)
    effects = return_effects([line], [ReturnedLine(1, D(1))])
    assert (effects.reverse, effects.give_back) == (33, 333)
    second = SoldLine(1, D(3), 100, 1_000, returned_quantity=D(1), reversed=33, refunded=333)
    assert (return_effects([second], [ReturnedLine(1, D(1))]).reverse,) == (34,)  # 67 in all: 66.67 rounded
    third = SoldLine(1, D(3), 100, 1_000, returned_quantity=D(2), reversed=67, refunded=667)
    last = return_effects([third], [ReturnedLine(1, D(1))])
    assert (last.reverse, last.give_back) == (33, 333)  # exactly what remains


def test_a_return_of_more_than_is_left_is_refused() -> None:
    line = SoldLine(7, D(2), 10, 0, returned_quantity=D(1), reversed=5)
    with pytest.raises(ReturnTooLarge, match="Line 7: 2 sold, 1 already returned, 2 requested"):
        return_effects([line], [ReturnedLine(7, D(2))])
    with pytest.raises(InvalidInput, match="no line 8"):
        return_effects([line], [ReturnedLine(8, D(1))])


def test_the_sales_lines_carry_their_accrual_and_the_points_that_paid_for_them() -> None:
    lines = [MILK, BREAD, CIGARETTES]
    paid = [Payment("bonus", 6_000), Payment("cash", 29_000)]
    sold = sold_lines(PROGRAM, lines, accrual(PROGRAM, lines, paid), 6_000)
    assert [(s.accrued, s.redeemed) for s in sold] == [(600, 4_000), (60, 2_000), (0, 0)]


# --- properties ---------------------------------------------------------------------------------------

PERCENTS = st.decimals(min_value=0, max_value=100, places=2)
METHODS = st.sampled_from(["cash", "card", "bonus", "gift", "sbp"])


@st.composite
def receipts(draw: st.DrawFn) -> tuple[Program, list[ReceiptLine], list[Payment]]:
    program = Program(
        accrual_percent=draw(PERCENTS),
        category_percents=draw(st.dictionaries(st.sampled_from(["a", "b", "c"]), PERCENTS, max_size=3)),
        product_percents=draw(st.dictionaries(st.sampled_from(["p1", "p2", "p3"]), PERCENTS, max_size=3)),
        excluded_products=frozenset(draw(st.sets(st.sampled_from(["p1", "p4"])))),
        excluded_payment_methods=frozenset(draw(st.sets(st.sampled_from(["sbp", "card"])))),
        gift_card_earns=draw(st.booleans()),
        points_share=draw(PERCENTS),
    )
    lines = [
        ReceiptLine(
            n,
            draw(st.sampled_from(["p1", "p2", "p3", "p4", "p5"])),
            draw(st.integers(0, 10_000_000)),
            tuple(draw(st.lists(st.sampled_from(["a", "b", "c"]), max_size=2))),
        )
        for n in range(1, draw(st.integers(1, 8)) + 1)
    ]
    total = sum(line.amount for line in lines)
    points = draw(st.integers(0, points_cap(program, lines)))
    cuts = sorted(draw(st.lists(st.integers(0, total - points), max_size=3)))
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, total - points], strict=True)]
    payments = [Payment(draw(METHODS.filter(lambda m: m != "bonus")), part) for part in parts]
    if points:
        payments.append(Payment("bonus", points))
    return program, lines, payments


@settings(max_examples=200)
@given(receipts())
def test_the_lines_accruals_add_up_exactly_to_the_receipts(
    case: tuple[Program, list[ReceiptLine], list[Payment]],
) -> None:
    program, lines, payments = case
    earned = accrual(program, lines, payments)
    assert sum(la.points for la in earned.lines) == earned.total
    exact = sum((Decimal(la.base) * la.percent / 100 for la in earned.lines), Decimal(0))
    assert abs(earned.total - exact) <= Decimal("0.5")
    points = sum(p.amount for p in payments if p.method == "bonus")
    earning = sum(p.amount for p in payments if program.earns_with(p.method))
    assert sum(la.base for la in earned.lines) == earning
    for line, la in zip(lines, earned.lines, strict=True):
        assert 0 <= la.base <= line.amount
        assert 0 <= la.points <= la.base
        if program.excludes(line):
            assert la.points == 0
    assert sum(points_by_line(program, lines, points)) == points


@st.composite
def sales_and_returns(draw: st.DrawFn) -> tuple[SoldLine, list[Decimal]]:
    weighed = draw(st.booleans())
    places = 3 if weighed else 0
    least = D("0.001") if weighed else D(1)
    sold = draw(st.decimals(min_value=least, max_value=1000, places=places))
    line = SoldLine(1, sold, draw(st.integers(0, 1_000_000)), draw(st.integers(0, 1_000_000)))
    parts = draw(st.lists(st.decimals(min_value=least, max_value=sold, places=places), max_size=6))
    return line, parts


@settings(max_examples=200)
@given(sales_and_returns(), st.booleans())
def test_partial_returns_never_take_or_give_back_more_than_the_sale_and_a_full_return_is_exact(
    case: tuple[SoldLine, list[Decimal]], return_the_rest: bool
) -> None:
    line, parts = case
    for part in parts:
        if line.returned_quantity + part > line.quantity:
            with pytest.raises(ReturnTooLarge):
                return_effects([line], [ReturnedLine(1, part)])
            continue
        effects = return_effects([line], [ReturnedLine(1, part)])
        assert effects.reverse >= 0 and effects.give_back >= 0
        line = SoldLine(
            1,
            line.quantity,
            line.accrued,
            line.redeemed,
            line.returned_quantity + part,
            line.reversed + effects.reverse,
            line.refunded + effects.give_back,
        )  # the constructor refuses more than the sale had
    if return_the_rest and line.returned_quantity < line.quantity:
        effects = return_effects([line], [ReturnedLine(1, line.quantity - line.returned_quantity)])
        line = SoldLine(
            1,
            line.quantity,
            line.accrued,
            line.redeemed,
            line.quantity,
            line.reversed + effects.reverse,
            line.refunded + effects.give_back,
        )
    if line.returned_quantity == line.quantity:
        assert (line.reversed, line.refunded) == (line.accrued, line.redeemed)
    # However the returns were cut, what they took is what one return of the same quantity takes.
    fresh = SoldLine(1, line.quantity, line.accrued, line.redeemed)
    if line.returned_quantity:
        once = return_effects([fresh], [ReturnedLine(1, line.returned_quantity)])
        assert (once.reverse, once.give_back) == (line.reversed, line.refunded)
