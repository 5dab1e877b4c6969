"""Promotions published by the data server price the receipt by themselves: the lines, their discounts
and the total agree, and the fiscal registrar registers exactly what the screen shows."""

from __future__ import annotations

from typing import Any

import pytest

from tests.pos.conftest import MILK, SIXPACK, WATER, WINE, Devices, Till, lines_add_up, promotion

DAIRY_10 = promotion("p-dairy", "percent_off", "Молочная неделя −10%", category_ids=["dairy"], percent="10")
WATER_3_FOR_2 = promotion("p-water", "n_for_m", "Вода 3 по цене 2", product_ids=["water"], buy=3, pay=2)
OVER_1000 = promotion("p-1000", "receipt_threshold", "От 1000 ₽ −5%", threshold=100000, percent="5")
LONG_GONE = promotion("p-old", "percent_off", "Прошлогодняя", percent="50", ends_on="2020-01-01")


def _by_promotion(line: dict[str, Any]) -> dict[str | None, int]:
    return {d["promotion_id"]: d["amount"] for d in line["discounts"]}


@pytest.fixture
def promoted(open_till: Till) -> Till:
    open_till.add_promotions(DAIRY_10, WATER_3_FOR_2, OVER_1000, LONG_GONE)
    return open_till


def test_percent_off_a_category_covers_its_subcategories_only(promoted: Till) -> None:
    receipt = promoted.scan(MILK, quantity="2")  # dairy, under food
    (milk,) = receipt["lines"]
    assert _by_promotion(milk) == {"p-dairy": 1798}
    assert milk["discounts"][0]["name"] == "Молочная неделя −10%"
    assert (milk["discount"], milk["amount"]) == (1798, 16182)
    water = promoted.scan(WATER)["lines"][1]
    assert (water["discount"], water["discounts"]) == (0, [])


def test_n_for_m_gives_every_third_free(promoted: Till) -> None:
    five = promoted.scan(WATER, quantity="5")
    assert (five["lines"][0]["discount"], five["total"]) == (4500, 4 * 4500)
    six = promoted.scan(SIXPACK)
    assert _by_promotion(six["lines"][1]) == {"p-water": 9000}
    assert six["total"] == 4 * 4500 + 4 * 4500


def test_a_receipt_threshold_applies_once_reached_spread_over_the_lines(
    promoted: Till, devices: Devices
) -> None:
    till = promoted
    till.scan(MILK, quantity="2")  # 179.80 − 17.98
    till.scan(SIXPACK)  # 270.00 − 90.00
    below = till.scan(WINE, age_confirmed=True)  # 599.00
    assert below["total"] == 16182 + 18000 + 59900 == 94082
    assert all("p-1000" not in _by_promotion(line) for line in below["lines"])

    receipt = till.scan(MILK)  # 89.90 − 8.99: 1021.73 before the threshold's 5 %
    subtotal = 94082 + 8091
    assert receipt["total"] == subtotal - 5109  # 5 % of 1021.73 is 51.0865
    assert receipt["gross"] == 2 * 8990 + 27000 + 59900 + 8990
    assert receipt["discount"] == receipt["gross"] - receipt["total"]
    shares = [_by_promotion(line).get("p-1000", 0) for line in receipt["lines"]]
    assert sum(shares) == 5109
    assert all(share > 0 for share in shares)
    assert shares[2] == max(shares)  # the wine, the largest line, takes the largest share
    assert all("p-old" not in _by_promotion(line) for line in receipt["lines"])
    lines_add_up(receipt)

    closed = till.pay("CASH", 100000)
    assert (closed["status"], closed["change"]) == ("closed", 100000 - receipt["total"])
    (sold,) = devices.sells()
    assert sold["total"] == receipt["total"] == closed["total"]
    assert [item["amount"] for item in sold["items"] if item["type"] == "position"] == [
        line["amount"] for line in closed["lines"]
    ]
    document = till.document(closed["id"])
    assert document["total"] == receipt["total"]
    assert document["discount_total"] == receipt["discount"]
    assert [
        sum(d["amount"] for d in line.get("discounts", [])) == line["discount"] for line in document["lines"]
    ] == [True] * 4


def test_voiding_a_line_can_drop_the_receipt_below_the_threshold(promoted: Till) -> None:
    from tests.pos.conftest import SUPERVISOR_PIN

    promoted.scan(WINE, age_confirmed=True)
    reached = promoted.scan(WINE)
    assert reached["total"] == 2 * 59900 - 5990
    dropped = promoted.post("/receipt/lines/2/void", supervisor_pin=SUPERVISOR_PIN)
    assert dropped["total"] == 59900
    assert dropped["lines"][0]["discounts"] == []
    lines_add_up(dropped)


def test_promotions_and_a_manual_discount_together(promoted: Till, devices: Devices) -> None:
    from tests.pos.conftest import SUPERVISOR_PIN

    till = promoted.login(SUPERVISOR_PIN)
    till.scan(MILK, quantity="3")  # 269.70 − 26.97 = 242.73
    till.scan(WATER, quantity="3")  # 135.00 − 45.00 = 90.00
    receipt = till.post("/receipt/discount", percent="3")
    assert receipt["total"] == 24273 + 9000 - 998  # 3 % of 332.73 is 9.9819
    lines_add_up(receipt)
    closed = till.pay("CASH")
    assert devices.sells()[0]["total"] == closed["total"] == receipt["total"]
