"""The Sales section's pure parts: the daily chart's geometry (bars inside the picture, heights in
proportion to the totals, a day without sales shown, a day of more returns than sales below the zero
line), the toolbar's filters and the export's file name."""

from __future__ import annotations

import math
from datetime import date, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from osuite.dataserver.wire.documents import MAX_MONEY
from osuite.manager.charts import LABEL_ROOM, MIN_LABEL_GAP, bar_chart, every_day
from osuite.manager.sections.sales import Filters, export_name, parse_day

DAY = date(2025, 3, 1)
totals = st.integers(min_value=-MAX_MONEY, max_value=MAX_MONEY)
series = st.lists(totals, min_size=1, max_size=400).map(
    lambda values: [(DAY + timedelta(days=n), v) for n, v in enumerate(values)]
)
widths = st.integers(min_value=1, max_value=4000)
heights = st.integers(min_value=int(LABEL_ROOM) + 30, max_value=2000)
EPSILON = 1e-6


@given(series, widths, heights)
def test_every_bar_stays_inside_the_picture_above_the_days_labels(
    days: list[tuple[date, int]], width: int, height: int
) -> None:
    chart = bar_chart(days, width=width, height=height)
    assert [b.day for b in chart.bars] == [d for d, _ in days]
    for bar in chart.bars:
        assert bar.height >= 0 and bar.width > 0
        assert bar.x >= 0 and bar.x + bar.width <= width + EPSILON
        assert 0 <= chart.top <= bar.y and bar.y + bar.height <= chart.bottom + EPSILON
        assert chart.bottom <= height - LABEL_ROOM
    lefts = [b.x for b in chart.bars]
    assert lefts == sorted(lefts)
    assert all(a.x + a.width < b.x for a, b in pairwise(chart.bars))


@given(series, widths, heights)
def test_heights_are_in_proportion_to_the_totals_and_the_largest_fills_the_plot(
    days: list[tuple[date, int]], width: int, height: int
) -> None:
    chart = bar_chart(days, width=width, height=height)
    biggest = max(abs(b.value) for b in chart.bars)
    if biggest == 0:
        assert all(b.height == 0 for b in chart.bars)
        return
    per_kopeck = (chart.bottom - chart.top) / (chart.highest - chart.lowest)
    for bar in chart.bars:
        assert math.isclose(bar.height, abs(bar.value) * per_kopeck, rel_tol=1e-9, abs_tol=1e-6)
    tallest = max(chart.bars, key=lambda b: abs(b.value))
    reach = chart.zero - chart.top if tallest.value > 0 else chart.bottom - chart.zero
    assert math.isclose(tallest.height, reach, rel_tol=1e-9, abs_tol=1e-6)


@given(series, widths, heights)
def test_sales_rise_from_the_zero_line_and_more_returns_than_sales_hang_below_it(
    days: list[tuple[date, int]], width: int, height: int
) -> None:
    chart = bar_chart(days, width=width, height=height)
    assert chart.top <= chart.zero <= chart.bottom
    assert chart.highest >= 0 >= chart.lowest
    for bar in chart.bars:
        if bar.value > 0:
            assert math.isclose(bar.y + bar.height, chart.zero, abs_tol=1e-6)
        else:
            assert bar.y == chart.zero
    if all(v >= 0 for _, v in days):
        assert chart.zero == chart.bottom
    elif all(v <= 0 for _, v in days):
        assert math.isclose(chart.zero, chart.top, abs_tol=1e-6)


@given(series, widths)
def test_the_days_written_under_the_bars_never_crowd_each_other(
    days: list[tuple[date, int]], width: int
) -> None:
    chart = bar_chart(days, width=width, height=200)
    labelled = [b.x for b in chart.bars if b.label]
    assert chart.bars[0].label
    assert all(b - a >= MIN_LABEL_GAP - EPSILON for a, b in pairwise(labelled))


def test_one_day_of_more_returns_than_sales_among_sales_is_drawn_below_them() -> None:
    chart = bar_chart(
        [(DAY, 300_00), (DAY + timedelta(days=1), 0), (DAY + timedelta(days=2), -100_00)],
        width=300,
        height=124,
    )
    sold, nothing, returned = chart.bars
    assert nothing.height == 0 and nothing.label
    assert math.isclose(sold.height, 3 * returned.height)
    assert math.isclose(sold.height + returned.height, chart.bottom - chart.top)
    assert returned.y == chart.zero == sold.y + sold.height


def test_a_chart_without_room_is_refused() -> None:
    with pytest.raises(ValueError):
        bar_chart([(DAY, 1)], width=100, height=10)


@given(
    st.lists(st.tuples(st.integers(min_value=-5, max_value=40), totals), max_size=60),
    st.integers(min_value=0, max_value=30),
)
def test_every_day_of_the_period_is_there_once_with_the_sum_of_its_stores(
    rows: list[tuple[int, int]], length: int
) -> None:
    first, last = DAY, DAY + timedelta(days=length)
    found = every_day(((DAY + timedelta(days=n), v) for n, v in rows), first, last)
    assert [d for d, _ in found] == [first + timedelta(days=n) for n in range(length + 1)]
    for day, value in found:
        assert value == sum(v for n, v in rows if DAY + timedelta(days=n) == day)


def test_a_first_visit_shows_today_and_an_emptied_period_is_not_bounded() -> None:
    today = date(2025, 3, 14)
    assert Filters.of({}, today=today) == Filters(first=today, last=today)
    assert Filters.of({}, today=today, default_days=14).first == date(2025, 3, 1)
    emptied = Filters.of({"from": "", "to": "", "store_id": "s1"}, today=today)
    assert (emptied.first, emptied.last, emptied.store_id) == (None, None, "s1")
    assert emptied.link("/sales", after="c1") == "/sales?from=&to=&store_id=s1&after=c1"
    # A shift is shown whole, whichever days it spans.
    assert Filters.of({"shift_id": "sh"}, today=today).first is None


def test_the_toolbar_keeps_only_what_it_understands() -> None:
    query = {"kind": "refund", "closed": "maybe", "from": "2025-02-30", "to": " 2025-03-02 "}
    found = Filters.of(query, today=DAY)
    assert (found.kind, found.closed, found.first, found.last) == ("", "", None, date(2025, 3, 2))
    full = Filters.of(
        {"terminal_id": "t", "kind": "return", "from": "2025-03-01", "closed": "true"}, today=DAY
    )
    assert full.params("terminal_id", "kind", "from") == {
        "terminal_id": "t",
        "kind": "return",
        "from": "2025-03-01",
    }
    assert parse_day("") is None and parse_day("yesterday") is None


def test_the_export_is_named_after_its_store_and_period() -> None:
    assert export_name("S001", DAY, date(2025, 3, 31), "csv") == "receipts-S001-2025-03-01-2025-03-31.csv"
    assert export_name("", None, None, "json") == "receipts-all-stores-all.json"
    assert export_name("S002", DAY, None, "csv") == "receipts-S002-2025-03-01.csv"
