from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from osuite.core.money import (
    MAX_MONEY,
    MAX_QUANTITY,
    MoneyError,
    format_money,
    line_amount,
    parse_money,
    percent_of,
    quantity,
    spread,
)

# --- parse_money / format_money ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "minor"),
    [
        ("12.34", 1234),
        ("12,5", 1250),
        ("-3", -300),
        ("+3", 300),
        ("0", 0),
        ("-0.00", 0),
        ("0.01", 1),
        ("-0.01", -1),
        (".5", 50),
        ("5.", 500),
        ("12.340", 1234),
        (" 1 234,56 ", 123456),
        ("\u00a012\u00a0", 1200),
        ("0012.30", 1230),
        ("92233720368547758.07", MAX_MONEY),
    ],
)
def test_parse_money(text: str, minor: int) -> None:
    assert parse_money(text) == minor


@pytest.mark.parametrize(
    "text",
    [
        "1.234",
        "0.001",
        "abc",
        "",
        " ",
        "-",
        ".",
        "nan",
        "NaN",
        "inf",
        "-Infinity",
        "1e2",
        "1E-2",
        "1e999999",
        "12.3.4",
        "1_000",
        "--3",
        "3-",
        "0x10",
        "١٢",  # Arabic-Indic digits
        "12 руб",
        "92233720368547758.08",  # one kopeck more than a BIGINT holds
        "1" * 29,  # beyond Decimal's 28 digits: once silently rounded
        "9" * 5000,
    ],
)
def test_parse_money_refuses(text: str) -> None:
    with pytest.raises(MoneyError):
        parse_money(text)


def test_parse_money_says_why() -> None:
    with pytest.raises(MoneyError, match="more than two decimal places"):
        parse_money("1.234")
    with pytest.raises(MoneyError, match="not an amount"):
        parse_money("abc")


@pytest.mark.parametrize(
    ("minor", "text"),
    [(0, "0.00"), (1, "0.01"), (-5, "-0.05"), (100, "1.00"), (1234, "12.34"), (-123456, "-1234.56")],
)
def test_format_money(minor: int, text: str) -> None:
    assert format_money(minor) == text


@given(st.integers(-MAX_MONEY, MAX_MONEY))
def test_format_then_parse_gives_back_the_amount(minor: int) -> None:
    text = format_money(minor)
    assert parse_money(text) == minor
    assert parse_money(text.replace(".", ",")) == minor


@given(st.integers(-(10**12), 10**12))
def test_parse_agrees_with_exact_arithmetic(minor: int) -> None:
    text = str(Decimal(minor).scaleb(-2))
    assert parse_money(text) == minor


# --- quantity ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", "1.000"),
        ("1,5", "1.500"),
        (" 0.125 ", "0.125"),
        ("2.1000", "2.100"),
        (3, "3.000"),
        (Decimal("0.001"), "0.001"),
        ("-1.5", "-1.500"),
        ("99999.999", "99999.999"),
    ],
)
def test_quantity_has_exactly_three_places(value: str | int | Decimal, expected: str) -> None:
    q = quantity(value)
    assert str(q) == expected
    assert q.as_tuple().exponent == -3


@pytest.mark.parametrize("value", ["0.0005", "1.2345", Decimal("0.0001"), "1e-4"])
def test_quantity_refuses_more_than_three_places(value: str | Decimal) -> None:
    with pytest.raises(MoneyError, match="more than three decimal places"):
        quantity(value)


@pytest.mark.parametrize("value", ["100000", "-100000", MAX_QUANTITY + Decimal("0.001"), "1e30", "1e999999"])
def test_quantity_refuses_too_large(value: str | Decimal) -> None:
    with pytest.raises(MoneyError, match="larger than"):
        quantity(value)


@pytest.mark.parametrize("value", ["abc", "", "nan", "inf", "-Infinity", Decimal("NaN")])
def test_quantity_refuses_non_numbers(value: str | Decimal) -> None:
    with pytest.raises(MoneyError):
        quantity(value)


# --- line_amount / percent_of -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "qty", "amount"),
    [
        (9999, "0.333", 3330),  # 3329.667
        (1, "0.5", 1),  # half goes up, not to even
        (3, "0.5", 2),
        (5, "0.5", 3),  # banker's rounding would give 2
        (1, "0.499", 0),
        (12990, "1.000", 12990),
        (12990, "2", 25980),
        (8990, "1.234", 11094),  # 11093.66
        (0, "5", 0),
        (-1, "0.5", -1),  # a return mirrors the sale
        (1, "-0.5", -1),
    ],
)
def test_line_amount(price: int, qty: str, amount: int) -> None:
    assert line_amount(price, Decimal(qty)) == amount


@given(
    price=st.integers(0, 10**9),
    thousandths=st.integers(0, 99_999_999),
)
def test_line_amount_is_the_exact_product_rounded_half_up(price: int, thousandths: int) -> None:
    qty = Decimal(thousandths).scaleb(-3)
    exact = Fraction(price) * Fraction(thousandths, 1000)
    assert line_amount(price, qty) == math.floor(exact + Fraction(1, 2))


@pytest.mark.parametrize(
    ("amount", "percent", "expected"),
    [
        (1005, "10", 101),
        (1000, "12.5", 125),
        (999, "50", 500),
        (1000, "0", 0),
        (1000, "100", 1000),
        (-1005, "10", -101),
    ],
)
def test_percent_of(amount: int, percent: str, expected: int) -> None:
    assert percent_of(amount, Decimal(percent)) == expected


# --- spread -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "weights", "parts"),
    [
        (100, [1, 1, 1], [34, 33, 33]),  # the leftover kopeck goes to the earliest line on a tie
        (2, [1, 1, 1], [1, 1, 0]),
        (10, [100, 300], [3, 7]),  # 2.5 and 7.5: a tie again
        (11, [100, 300], [3, 8]),  # 2.75 and 8.25
        (50, [1000, 0, 1000], [25, 0, 25]),
        (1, [1, 2], [0, 1]),
        (0, [5, 7], [0, 0]),
        (12, [12], [12]),
        (-100, [1, 1, 1], [-34, -33, -33]),
        (0, [0, 0], [0, 0]),
        (0, [], []),
    ],
)
def test_spread_examples(total: int, weights: list[int], parts: list[int]) -> None:
    assert spread(total, weights) == parts


def test_spread_refuses_what_cannot_be_spread() -> None:
    with pytest.raises(MoneyError, match="no lines"):
        spread(1, [])
    with pytest.raises(MoneyError, match="worth nothing"):
        spread(1, [0, 0])
    with pytest.raises(MoneyError, match="negative"):
        spread(1, [5, -1])


weights_st = st.lists(st.integers(0, 10**7), min_size=1, max_size=30).filter(lambda ws: sum(ws) > 0)


@given(data=st.data(), weights=weights_st)
def test_spread_within_the_weights(data: st.DataObject, weights: list[int]) -> None:
    total = data.draw(st.integers(0, sum(weights)))
    parts = spread(total, weights)

    assert len(parts) == len(weights)
    assert sum(parts) == total
    for part, weight in zip(parts, weights, strict=True):
        assert 0 <= part <= weight
        assert abs(part - Fraction(total * weight, sum(weights))) < 1
    assert spread(total, weights) == parts
    assert spread(total, list(weights)) == parts


@given(data=st.data(), weights=weights_st)
def test_spread_of_any_total_adds_up_and_is_proportional(data: st.DataObject, weights: list[int]) -> None:
    total = data.draw(st.integers(-(10**12), 10**12))
    parts = spread(total, weights)

    assert sum(parts) == total
    for part, weight in zip(parts, weights, strict=True):
        assert abs(part - Fraction(total * weight, sum(weights))) < 1
        if weight == 0:
            assert part == 0


@given(data=st.data(), weights=weights_st)
def test_spread_of_a_negative_total_mirrors_the_positive(data: st.DataObject, weights: list[int]) -> None:
    total = data.draw(st.integers(0, 10**12))
    assert spread(-total, weights) == [-p for p in spread(total, weights)]
