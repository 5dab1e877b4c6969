"""Promotions read from the data server's payload, and when they run: store, dates, weekdays, hours."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from osuite.pos.domain.promotions import Promotion, promotions_from_payloads

# 2025-03-07 is a Friday.
FRIDAY = datetime(2025, 3, 7, 12, 0)


def payload(**fields: Any) -> dict[str, Any]:
    """A PromotionRead as JSON: Decimal as a string, dates and times in ISO."""
    base: dict[str, Any] = {
        "id": "p1",
        "name": "Cheese −10%",
        "kind": "percent_off",
        "product_ids": [],
        "category_ids": [],
        "store_ids": [],
        "percent": "10.00",
        "amount": None,
        "buy": None,
        "pay": None,
        "threshold": None,
        "starts_on": None,
        "ends_on": None,
        "time_from": None,
        "time_to": None,
        "weekdays": [],
        "stackable": False,
        "active": True,
        "updated_at": "2025-03-01T10:00:00Z",
    }
    return base | fields


def promo(**fields: Any) -> Promotion:
    found = Promotion.from_payload(payload(**fields))
    assert found is not None
    return found


# --- reading the payload ------------------------------------------------------------------------------


def test_reads_every_field_of_a_promotion_read() -> None:
    found = promo(
        kind="n_for_m",
        percent=None,
        buy=3,
        pay=2,
        product_ids=["milk"],
        category_ids=["dairy"],
        store_ids=["s1"],
        starts_on="2025-03-01",
        ends_on="2025-03-31",
        time_from="22:00:00",
        time_to="02:00:00",
        weekdays=[5, 6],
        stackable=True,
    )
    assert found == Promotion(
        id="p1",
        name="Cheese −10%",
        kind="n_for_m",
        product_ids=frozenset({"milk"}),
        category_ids=frozenset({"dairy"}),
        store_ids=frozenset({"s1"}),
        buy=3,
        pay=2,
        starts_on=date(2025, 3, 1),
        ends_on=date(2025, 3, 31),
        time_from=time(22),
        time_to=time(2),
        weekdays=frozenset({5, 6}),
        stackable=True,
    )


def test_reads_a_python_model_dump_too() -> None:
    found = promo(percent=Decimal("12.5"), starts_on=date(2025, 3, 1), time_from=time(9), time_to=time(18))
    assert (found.percent, found.starts_on, found.time_from) == (Decimal("12.5"), date(2025, 3, 1), time(9))


def test_a_json_number_percent_is_read_as_its_decimal_text() -> None:
    assert promo(percent=12.3).percent == Decimal("12.3")


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "bundle_price"},  # a kind from a newer server
        {"kind": None},
        {"id": None},
        {"kind": "percent_off", "percent": None},
        {"kind": "percent_off", "percent": "0"},
        {"kind": "percent_off", "percent": "100.01"},
        {"kind": "percent_off", "percent": "ten"},
        {"kind": "percent_off", "percent": "NaN"},
        {"kind": "amount_off", "percent": None, "amount": None},
        {"kind": "amount_off", "percent": None, "amount": -5},
        {"kind": "amount_off", "percent": None, "amount": "5"},
        {"kind": "n_for_m", "percent": None, "buy": 3, "pay": 3},
        {"kind": "n_for_m", "percent": None, "buy": 1, "pay": 0},
        {"kind": "n_for_m", "percent": None, "buy": 3},
        {"kind": "receipt_threshold", "percent": None, "threshold": 100},
        {"weekdays": [0]},
        {"weekdays": [True]},
        {"weekdays": "1"},
        {"product_ids": "milk"},
        {"product_ids": [1]},
        {"starts_on": "1 March"},
        {"starts_on": "2025-03-01T00:00:00"},
        {"time_from": "noon"},
        {"time_from": 12},
        {"active": "yes"},
    ],
)
def test_a_promotion_the_till_cannot_use_is_skipped(fields: dict[str, Any]) -> None:
    assert Promotion.from_payload(payload(**fields)) is None


def test_missing_optional_fields_take_their_defaults() -> None:
    found = Promotion.from_payload({"id": "p", "name": "P", "kind": "amount_off", "amount": 100})
    assert found == Promotion(id="p", name="P", kind="amount_off", amount=100)


def test_a_threshold_promotion_with_both_percent_and_amount_keeps_both() -> None:
    found = promo(kind="receipt_threshold", percent="5", amount=100, threshold=1000)
    assert (found.percent, found.amount, found.threshold) == (Decimal(5), 100, 1000)


def test_a_list_of_payloads_keeps_only_what_the_till_can_use() -> None:
    found = promotions_from_payloads(
        [
            payload(id="a"),
            payload(id="b", kind="mystery"),
            "junk",
            payload(id="c", kind="amount_off", amount=5),
        ]
    )
    assert [p.id for p in found] == ["a", "c"]
    assert promotions_from_payloads(None) == []


@given(
    st.dictionaries(st.sampled_from(sorted(payload())), st.none() | st.integers() | st.text() | st.booleans())
)
def test_any_payload_is_read_or_skipped_never_a_crash(changes: dict[str, Any]) -> None:
    found = Promotion.from_payload(payload(**changes))
    assert found is None or isinstance(found, Promotion)


# --- coverage -----------------------------------------------------------------------------------------


def test_coverage_by_product_by_category_or_everything() -> None:
    assert promo().covers("anything", frozenset())
    by_product = promo(product_ids=["milk"])
    assert by_product.covers("milk", frozenset())
    assert not by_product.covers("bread", frozenset({"dairy"}))
    by_category = promo(category_ids=["dairy"])
    assert by_category.covers("kefir", frozenset({"dairy-drinks", "dairy", "food"}))  # a subcategory
    assert not by_category.covers("bread", frozenset({"bakery", "food"}))
    both = promo(product_ids=["bread"], category_ids=["dairy"])
    assert both.covers("bread", frozenset()) and both.covers("kefir", frozenset({"dairy"}))


# --- when it runs -------------------------------------------------------------------------------------


def test_an_inactive_promotion_never_runs() -> None:
    assert promo().runs_at("s1", FRIDAY)
    assert not promo(active=False).runs_at("s1", FRIDAY)


def test_store_filter() -> None:
    assert promo(store_ids=[]).runs_at("any", FRIDAY)
    assert promo(store_ids=["s1", "s2"]).runs_at("s2", FRIDAY)
    assert not promo(store_ids=["s1", "s2"]).runs_at("s3", FRIDAY)


def test_date_window_is_inclusive_at_both_ends() -> None:
    march = promo(starts_on="2025-03-01", ends_on="2025-03-07")
    assert march.runs_at("s", datetime(2025, 3, 1, 0, 0))
    assert march.runs_at("s", datetime(2025, 3, 7, 23, 59, 59))
    assert not march.runs_at("s", datetime(2025, 2, 28, 23, 59, 59))
    assert not march.runs_at("s", datetime(2025, 3, 8, 0, 0))
    assert promo(starts_on="2025-03-01").runs_at("s", datetime(2030, 1, 1))
    assert promo(ends_on="2025-03-01").runs_at("s", datetime(2000, 1, 1))


def test_weekdays_monday_is_one_sunday_seven() -> None:
    weekend = promo(weekdays=[6, 7])
    assert not weekend.runs_at("s", FRIDAY)
    assert weekend.runs_at("s", datetime(2025, 3, 8, 12))  # Saturday
    assert weekend.runs_at("s", datetime(2025, 3, 9, 12))  # Sunday
    assert not weekend.runs_at("s", datetime(2025, 3, 10, 12))  # Monday
    assert promo(weekdays=[1]).runs_at("s", datetime(2025, 3, 10, 12))


def test_time_window_from_inclusive_to_exclusive() -> None:
    lunch = promo(time_from="12:00:00", time_to="14:00:00")
    assert lunch.runs_at("s", datetime(2025, 3, 7, 12, 0))
    assert lunch.runs_at("s", datetime(2025, 3, 7, 13, 59, 59))
    assert not lunch.runs_at("s", datetime(2025, 3, 7, 14, 0))
    assert not lunch.runs_at("s", datetime(2025, 3, 7, 11, 59, 59))


def test_a_time_window_spanning_midnight() -> None:
    night = promo(time_from="22:00:00", time_to="02:00:00")
    assert night.runs_at("s", datetime(2025, 3, 7, 22, 0))
    assert night.runs_at("s", datetime(2025, 3, 7, 23, 59))
    assert night.runs_at("s", datetime(2025, 3, 8, 0, 0))
    assert night.runs_at("s", datetime(2025, 3, 8, 1, 59, 59))
    assert not night.runs_at("s", datetime(2025, 3, 8, 2, 0))
    assert not night.runs_at("s", datetime(2025, 3, 7, 21, 59, 59))
    assert not night.runs_at("s", datetime(2025, 3, 7, 12, 0))


def test_after_midnight_belongs_to_the_night_that_began_the_day_before() -> None:
    friday_night = promo(time_from="22:00:00", time_to="02:00:00", weekdays=[5])
    assert friday_night.runs_at("s", datetime(2025, 3, 7, 23, 0))  # Friday
    assert friday_night.runs_at("s", datetime(2025, 3, 8, 1, 0))  # Saturday, still Friday's night
    assert not friday_night.runs_at("s", datetime(2025, 3, 8, 23, 0))  # Saturday's night
    assert not friday_night.runs_at("s", datetime(2025, 3, 7, 1, 0))  # Thursday's night
    last_night = promo(time_from="22:00:00", time_to="02:00:00", ends_on="2025-03-07")
    assert last_night.runs_at("s", datetime(2025, 3, 8, 1, 0))
    assert not last_night.runs_at("s", datetime(2025, 3, 8, 23, 0))
    first_night = promo(time_from="22:00:00", time_to="02:00:00", starts_on="2025-03-08")
    assert not first_night.runs_at("s", datetime(2025, 3, 8, 1, 0))
    assert first_night.runs_at("s", datetime(2025, 3, 8, 22, 0))


def test_one_sided_and_equal_time_bounds() -> None:
    assert promo(time_from="18:00:00").runs_at("s", datetime(2025, 3, 7, 23, 59))
    assert not promo(time_from="18:00:00").runs_at("s", datetime(2025, 3, 7, 17, 59))
    assert promo(time_to="10:00:00").runs_at("s", datetime(2025, 3, 7, 0, 0))
    assert not promo(time_to="10:00:00").runs_at("s", datetime(2025, 3, 7, 10, 0))
    whole_day = promo(time_from="09:00:00", time_to="09:00:00")
    assert whole_day.runs_at("s", datetime(2025, 3, 7, 3, 0))
    assert whole_day.runs_at("s", datetime(2025, 3, 7, 9, 0))
