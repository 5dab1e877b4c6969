"""Pricing a receipt: the best promotion wins, stackable ones add on top, manual discounts, receipt
thresholds spread over lines, and — for any input — lines that add up to the total to the kopeck."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from osuite.core.money import line_amount
from osuite.pos.domain.errors import InvalidInput
from osuite.pos.domain.pricing import (
    Discount,
    ManualDiscount,
    PricedReceipt,
    SaleLine,
    price_receipt,
)
from osuite.pos.domain.promotions import Promotion, PromotionKind

NOW = datetime(2025, 3, 7, 12, 0)  # a Friday noon


def promo(id: str, kind: str = "percent_off", **fields: Any) -> Promotion:
    return Promotion(id=id, name=f"promo {id}", kind=kind, **fields)  # type: ignore[arg-type]


def line(
    line_no: int = 1,
    product_id: str = "milk",
    quantity: str = "1",
    price: int = 10_000,
    **fields: Any,
) -> SaleLine:
    return SaleLine(line_no=line_no, product_id=product_id, quantity=Decimal(quantity), price=price, **fields)


def price(lines: list[SaleLine], promotions: list[Promotion] = [], **kw: Any) -> PricedReceipt:  # noqa: B006
    return price_receipt(
        lines=lines, promotions=promotions, store_id="s1", moment=kw.pop("moment", NOW), **kw
    )


def off(promotion_id: str, amount: int, *, whole_receipt: bool = False) -> Discount:
    return Discount("promotion", amount, promotion_id, f"promo {promotion_id}", whole_receipt)


# --- lines without promotions ---------------------------------------------------------------------------


def test_a_line_without_discounts_is_its_gross() -> None:
    receipt = price([line(quantity="3", price=4_999)])
    assert (receipt.gross, receipt.discount, receipt.total) == (14_997, 0, 14_997)
    assert receipt.lines[0].discounts == ()


def test_weighted_gross_is_rounded_half_up_once() -> None:
    receipt = price([line(quantity="0.333", price=15_050, weighted=True)])  # 5011.65 → 5012
    assert receipt.lines[0].gross == 5_012


# --- line promotions ------------------------------------------------------------------------------------


def test_the_best_promotion_wins() -> None:
    promotions = [
        promo("a", percent=Decimal(10)),  # 1000 off 10000
        promo("b", "amount_off", amount=1_500),  # 1500 off
        promo("c", percent=Decimal(5)),
    ]
    receipt = price([line()], promotions)
    assert receipt.lines[0].discounts == (off("b", 1_500),)
    assert receipt.total == 8_500


def test_a_tie_goes_to_the_lower_id() -> None:
    promotions = [promo("z", percent=Decimal(10)), promo("m", "amount_off", amount=1_000)]
    assert price([line()], promotions).lines[0].discounts == (off("m", 1_000),)
    assert price([line()], list(reversed(promotions))).lines[0].discounts == (off("m", 1_000),)


def test_stackable_promotions_apply_on_top_each_on_what_remains() -> None:
    promotions = [
        promo("best", percent=Decimal(20)),
        promo("s2", percent=Decimal(10), stackable=True),
        promo("s1", "amount_off", amount=1_000, stackable=True),
        promo("weak", percent=Decimal(5)),
    ]
    priced = price([line()], promotions).lines[0]
    # 10000 − 20% = 8000; then by id: s1 −1000 = 7000; s2 −10% of 7000 = 700.
    assert priced.discounts == (off("best", 2_000), off("s1", 1_000), off("s2", 700))
    assert priced.amount == 6_300


def test_stackable_alone_applies() -> None:
    priced = price([line()], [promo("s", percent=Decimal(10), stackable=True)]).lines[0]
    assert priced.discounts == (off("s", 1_000),)


def test_a_line_never_goes_below_zero() -> None:
    promotions = [
        promo("a", "amount_off", amount=9_000),
        promo("b", "amount_off", amount=5_000, stackable=True),
        promo("c", percent=Decimal(100), stackable=True),
    ]
    priced = price([line()], promotions, manual_discount=ManualDiscount.of_amount(500)).lines[0]
    assert priced.discounts == (off("a", 9_000), off("b", 1_000))
    assert priced.amount == 0


def test_promotions_only_on_the_goods_they_cover() -> None:
    promotions = [
        promo("cheese", category_ids=frozenset({"cheese"}), percent=Decimal(10)),
        promo("bread", product_ids=frozenset({"bread"}), percent=Decimal(50)),
    ]
    receipt = price(
        [
            line(1, "brie", category_ids=frozenset({"soft-cheese", "cheese", "dairy"})),
            line(2, "bread", price=5_000),
            line(3, "milk", category_ids=frozenset({"dairy"})),
        ],
        promotions,
    )
    assert [li.discount for li in receipt.lines] == [1_000, 2_500, 0]


def test_amount_off_is_per_unit_and_per_kg_for_weighted_goods() -> None:
    amount_off = [promo("a", "amount_off", amount=1_000)]
    assert price([line(quantity="3")], amount_off).lines[0].discount == 3_000
    weighed = price([line(quantity="0.755", price=50_000, weighted=True)], amount_off).lines[0]
    assert weighed.discount == 755  # 10.00 per kg × 0.755 kg
    assert weighed.amount == 37_750 - 755


def test_n_for_m_seven_units_of_three_for_two() -> None:
    priced = price([line(quantity="7", price=3_000)], [promo("3f2", "n_for_m", buy=3, pay=2)]).lines[0]
    # 7 units: two sets of 3 → 2 free units.
    assert (priced.gross, priced.discount, priced.amount) == (21_000, 6_000, 15_000)


def test_n_for_m_needs_whole_units_of_goods_not_weighed() -> None:
    three_for_two = [promo("3f2", "n_for_m", buy=3, pay=2)]
    assert price([line(quantity="2", price=3_000)], three_for_two).lines[0].discounts == ()
    weighed = price([line(quantity="6.000", price=3_000, weighted=True)], three_for_two)
    assert weighed.lines[0].discounts == ()
    assert price([line(quantity="4", price=100)], [promo("5f3", "n_for_m", buy=5, pay=3)]).total == 400
    assert price([line(quantity="10", price=100)], [promo("5f3", "n_for_m", buy=5, pay=3)]).total == 600


def test_n_for_m_competes_with_other_promotions_for_the_line() -> None:
    promotions = [promo("3f2", "n_for_m", buy=3, pay=2), promo("pct", percent=Decimal(40))]
    assert price([line(quantity="3", price=1_000)], promotions).lines[0].discounts == (off("pct", 1_200),)
    assert price([line(quantity="6", price=1_000)], promotions).lines[0].discounts == (off("pct", 2_400),)
    promotions = [promo("3f2", "n_for_m", buy=3, pay=2), promo("pct", percent=Decimal(30))]
    assert price([line(quantity="3", price=1_000)], promotions).lines[0].discounts == (off("3f2", 1_000),)


def test_promotions_that_do_not_run_now_do_not_apply() -> None:
    promotions = [
        promo("other-store", percent=Decimal(50), store_ids=frozenset({"s2"})),
        promo("weekend", percent=Decimal(40), weekdays=frozenset({6, 7})),
        promo("off", percent=Decimal(30), active=False),
        promo("here", percent=Decimal(10), store_ids=frozenset({"s1"})),
    ]
    assert price([line()], promotions).lines[0].discounts == (off("here", 1_000),)


def test_a_promotion_giving_nothing_is_not_listed() -> None:
    promotions = [promo("tiny", percent=Decimal("0.01"))]
    assert price([line(price=10)], promotions).lines[0].discounts == ()


# --- manual discounts -----------------------------------------------------------------------------------


def test_manual_line_discount_applies_on_what_promotions_left() -> None:
    promotions = [promo("p", percent=Decimal(10))]
    by_percent = price([line(manual_discount=ManualDiscount.of_percent("5"))], promotions).lines[0]
    assert by_percent.discounts == (off("p", 1_000), Discount("manual", 450))
    by_amount = price([line(manual_discount=ManualDiscount.of_amount(99_999))], promotions).lines[0]
    assert by_amount.discounts == (off("p", 1_000), Discount("manual", 9_000))
    assert by_amount.amount == 0


def test_manual_percent_is_rounded_half_up() -> None:
    priced = price([line(price=1_250, manual_discount=ManualDiscount.of_percent("10"))]).lines[0]
    assert priced.discount == 125
    priced = price([line(price=1_245, manual_discount=ManualDiscount.of_percent("10"))]).lines[0]
    assert priced.discount == 125  # 124.5 → 125


def test_manual_receipt_discount_is_spread_over_the_lines() -> None:
    receipt = price(
        [line(1, price=3_000), line(2, price=1_000), line(3, price=0)],
        manual_discount=ManualDiscount.of_amount(1_001),
    )
    assert [li.discount for li in receipt.lines] == [751, 250, 0]
    assert receipt.total == 4_000 - 1_001
    assert receipt.lines[0].discounts == (Discount("manual", 751, whole_receipt=True),)


def test_manual_receipt_discount_is_capped_at_the_total() -> None:
    receipt = price([line(price=1_000)], manual_discount=ManualDiscount.of_amount(5_000))
    assert (receipt.discount, receipt.total) == (1_000, 0)


@pytest.mark.parametrize(
    "make",
    [
        ManualDiscount,
        lambda: ManualDiscount(percent=Decimal(5), amount=5),
        lambda: ManualDiscount.of_percent("0"),
        lambda: ManualDiscount.of_percent("101"),
        lambda: ManualDiscount.of_percent("abc"),
        lambda: ManualDiscount.of_percent("NaN"),
        lambda: ManualDiscount.of_amount(-1),
    ],
)
def test_an_impossible_manual_discount_is_refused(make: Any) -> None:
    with pytest.raises(InvalidInput):
        make()


# --- receipt thresholds ---------------------------------------------------------------------------------


def test_threshold_reached_only_before_line_discounts_does_not_apply() -> None:
    threshold = promo("t", "receipt_threshold", threshold=10_000, percent=Decimal(5))
    lines = [line(1, price=6_000), line(2, product_id="bread", price=5_000)]
    assert price(lines, [threshold]).discount == 550  # 11000 reaches it
    with_line_promo = [threshold, promo("bread", product_ids=frozenset({"bread"}), percent=Decimal(30))]
    receipt = price(lines, with_line_promo)  # 6000 + 3500 = 9500 does not
    assert receipt.discount == 1_500
    assert all(not d.whole_receipt for li in receipt.lines for d in li.discounts)


def test_threshold_reached_only_with_more_goods() -> None:
    threshold = promo("t", "receipt_threshold", threshold=10_000, amount=1_000)
    assert price([line(price=9_999)], [threshold]).discount == 0
    assert price([line(price=10_000)], [threshold]).discount == 1_000


def test_threshold_discount_is_spread_in_proportion_and_adds_up() -> None:
    thresholds = [promo("t", "receipt_threshold", threshold=1_000, percent=Decimal(10))]
    receipt = price([line(1, price=3_333), line(2, price=3_333), line(3, price=3_334)], thresholds)
    assert receipt.discount == 1_000
    assert [li.discount for li in receipt.lines] == [333, 333, 334]
    assert receipt.lines[0].discounts == (off("t", 333, whole_receipt=True),)


def test_the_best_threshold_wins_and_stackable_ones_add_on_top() -> None:
    thresholds = [
        promo("small", "receipt_threshold", threshold=1_000, amount=500),
        promo("big", "receipt_threshold", threshold=5_000, percent=Decimal(10)),
        promo("far", "receipt_threshold", threshold=50_000, percent=Decimal(50)),
        promo("extra", "receipt_threshold", threshold=1_000, percent=Decimal(5), stackable=True),
    ]
    receipt = price([line(price=10_000)], thresholds)
    assert receipt.lines[0].discounts == (
        off("big", 1_000, whole_receipt=True),
        off("extra", 450, whole_receipt=True),
    )


def test_order_line_promotions_manual_line_threshold_manual_receipt() -> None:
    receipt = price(
        [line(manual_discount=ManualDiscount.of_amount(1_000))],
        [
            promo("p", percent=Decimal(10)),
            promo("t", "receipt_threshold", threshold=8_000, percent=Decimal(10)),
        ],
        manual_discount=ManualDiscount.of_percent(50),
    )
    # 10000 − 1000 (10%) − 1000 (manual) = 8000 ≥ threshold → −800 = 7200 → −50% = 3600.
    assert receipt.lines[0].discounts == (
        off("p", 1_000),
        Discount("manual", 1_000),
        off("t", 800, whole_receipt=True),
        Discount("manual", 3_600, whole_receipt=True),
    )
    assert receipt.total == 3_600


def test_repeated_line_numbers_are_refused() -> None:
    with pytest.raises(InvalidInput, match="Line number 1 appears twice"):
        price([line(1), line(1)])


@pytest.mark.parametrize(
    ("quantity", "price_", "message"),
    [("0", 100, "more than zero"), ("1.0001", 100, "3 decimal places"), ("1", -1, "negative")],
)
def test_impossible_lines_are_refused(quantity: str, price_: int, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        line(quantity=quantity, price=price_)


# --- properties -----------------------------------------------------------------------------------------

PRODUCTS = ("milk", "bread", "brie", "kefir")
CATEGORIES = ("dairy", "cheese", "bakery")

manual_discounts = (
    st.none()
    | st.builds(
        ManualDiscount,
        percent=st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100), places=2),
    )
    | st.builds(ManualDiscount, amount=st.integers(0, 2_000_000))
)


@st.composite
def sale_lines(draw: st.DrawFn) -> list[SaleLine]:
    count = draw(st.integers(0, 6))
    lines = []
    for n in range(1, count + 1):
        weighted = draw(st.booleans())
        places = 3 if weighted else 0
        qty = draw(st.decimals(min_value=Decimal("0.001") if weighted else 1, max_value=100, places=places))
        lines.append(
            SaleLine(
                line_no=n,
                product_id=draw(st.sampled_from(PRODUCTS)),
                quantity=qty,
                price=draw(st.integers(0, 1_000_000)),
                category_ids=frozenset(draw(st.sets(st.sampled_from(CATEGORIES)))),
                weighted=weighted,
                manual_discount=draw(manual_discounts),
            )
        )
    return lines


KINDS: tuple[PromotionKind, ...] = ("percent_off", "amount_off", "n_for_m", "receipt_threshold")
percents = st.decimals(min_value=Decimal("0.01"), max_value=100, places=2)


@st.composite
def promotions(draw: st.DrawFn) -> list[Promotion]:
    found = []
    for n in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(KINDS))
        buy = draw(st.integers(2, 6))
        percent = {
            "percent_off": percents,
            "amount_off": st.none(),
            "n_for_m": st.none(),
            "receipt_threshold": st.none() | percents,
        }[kind]
        found.append(
            Promotion(
                id=f"p{n}",
                name=f"P{n}",
                kind=kind,
                product_ids=frozenset(draw(st.sets(st.sampled_from(PRODUCTS), max_size=2))),
                category_ids=frozenset(draw(st.sets(st.sampled_from(CATEGORIES), max_size=2))),
                percent=draw(percent),
                amount=draw(st.integers(0, 500_000)),
                buy=buy,
                pay=draw(st.integers(1, buy - 1)),
                threshold=draw(st.integers(0, 5_000_000)),
                stackable=draw(st.booleans()),
            )
        )
    return found


@given(sale_lines(), promotions(), manual_discounts)
def test_any_receipt_adds_up_to_the_kopeck(
    lines: list[SaleLine], promos: list[Promotion], manual: ManualDiscount | None
) -> None:
    receipt = price(lines, promos, manual_discount=manual)
    assert [li.line_no for li in receipt.lines] == [li.line_no for li in lines]
    for sale, priced in zip(lines, receipt.lines, strict=True):
        assert priced.gross == line_amount(sale.price, sale.quantity)
        assert all(d.amount > 0 for d in priced.discounts)
        assert 0 <= priced.discount <= priced.gross
        assert priced.amount == priced.gross - priced.discount >= 0
    assert receipt.total == sum(li.amount for li in receipt.lines)
    assert receipt.discount == sum(li.discount for li in receipt.lines)
    assert receipt.total == receipt.gross - receipt.discount
    assert receipt.gross == sum(line_amount(s.price, s.quantity) for s in lines)


@given(sale_lines(), promotions())
def test_the_order_promotions_arrive_in_does_not_matter(
    lines: list[SaleLine], promos: list[Promotion]
) -> None:
    assert price(lines, promos) == price(lines, list(reversed(promos)))
