"""Building a receipt through the API: scans, packs, articles, ids, in-store labels, weights typed or read
from the scale, quantities, voids, manual discounts, age checks, and what is refused."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from osuite.core.barcodes import DEFAULT_TEMPLATES
from osuite.devices.massak_emulator import RunningScale, start_scale_emulator
from osuite.pos.settings import PosSettings
from tests.pos.conftest import (
    APPLES,
    APPLES_ARTICLE,
    BUN_ARTICLE,
    MILK,
    SIXPACK,
    SUPERVISOR_PIN,
    UNKNOWN,
    WATER,
    WINE,
    Devices,
    Till,
    lines_add_up,
)

WEIGHT, PRICE, COUNT = DEFAULT_TEMPLATES


def _line(receipt: dict[str, Any], line_no: int | None = None) -> dict[str, Any]:
    line: dict[str, Any] = receipt["lines"][(line_no or receipt["added_line_no"]) - 1]
    return line


def _refused_unchanged(till: Till, status: int, kind: str, **item: Any) -> dict[str, Any]:
    before = till.receipt()
    problem = till.refused("POST", "/receipt/items", status, kind, **item)
    assert till.receipt() == before
    return problem


# --- finding what to sell ----------------------------------------------------------------------------


def test_a_scan_of_an_ean13_adds_one_piece_at_the_store_price(open_till: Till) -> None:
    receipt = open_till.scan(MILK)
    line = _line(receipt)
    assert (line["product_id"], line["name"], line["barcode"]) == ("milk", "Молоко 3,2% 1 л", MILK)
    assert (line["quantity"], line["price"], line["amount"], line["vat_rate"]) == ("1.000", 8990, 8990, "20")
    assert receipt["total"] == receipt["due"] == 8990
    assert receipt["status"] == "open" and receipt["kind"] == "sale"


def test_a_pack_barcode_sells_its_multiplier_of_pieces(open_till: Till) -> None:
    line = _line(open_till.scan(SIXPACK))
    assert (line["product_id"], line["quantity"], line["amount"]) == ("water", "6.000", 27000)
    two_packs = open_till.scan(SIXPACK, quantity="2")
    assert _line(two_packs)["quantity"] == "12.000"
    assert two_packs["total"] == 27000 + 12 * 4500


def test_by_article_and_by_product_id(open_till: Till) -> None:
    by_article = open_till.post("/receipt/items", article="1001")
    assert _line(by_article)["product_id"] == "milk"
    assert _line(by_article)["barcode"] is None
    by_id = open_till.post("/receipt/items", product_id="water", quantity="3")
    assert (_line(by_id)["name"], _line(by_id)["quantity"]) == ("Вода 0,5 л", "3.000")
    assert by_id["total"] == 8990 + 3 * 4500


def test_one_way_of_naming_the_product_at_a_time(open_till: Till) -> None:
    problem = _refused_unchanged(open_till, 422, "invalid", code=MILK, article="1001")
    assert "exactly one" in problem["detail"]
    _refused_unchanged(open_till, 422, "invalid")


def test_an_in_store_weight_label_sells_the_weight_on_it(open_till: Till) -> None:
    label = WEIGHT.build(APPLES_ARTICLE, Decimal("1.234"))
    line = _line(open_till.scan(label))
    assert (line["product_id"], line["barcode"], line["unit"]) == ("apples", label, "kg")
    assert (line["quantity"], line["price"], line["amount"]) == ("1.234", 12900, 15919)


def test_an_in_store_price_label_charges_the_price_on_it(open_till: Till) -> None:
    label = PRICE.build(APPLES_ARTICLE, 15037)
    receipt = open_till.scan(label)
    line = _line(receipt)
    assert (line["product_id"], line["barcode"], line["amount"]) == ("apples", label, 15037)
    assert receipt["total"] == 15037


def test_an_in_store_count_label_sells_the_pieces_on_it(open_till: Till) -> None:
    label = COUNT.build(BUN_ARTICLE, 3)
    line = _line(open_till.scan(label))
    assert (line["product_id"], line["quantity"], line["amount"]) == ("bun", "3.000", 7500)


def test_a_label_that_does_not_fit_the_product_is_refused(open_till: Till) -> None:
    open_till.scan(MILK)
    # pieces of apples sold by the kilogram, a bun weighed: the label was printed for another product
    problem = _refused_unchanged(open_till, 422, "invalid", code=COUNT.build(APPLES_ARTICLE, 3))
    assert "Яблоки Гала" in problem["detail"] and "weight" in problem["detail"]
    problem = _refused_unchanged(open_till, 422, "invalid", code=WEIGHT.build(BUN_ARTICLE, Decimal(2)))
    assert "Булочка" in problem["detail"] and "piece" in problem["detail"]
    problem = _refused_unchanged(open_till, 404, "not_found", code=WEIGHT.build("00099", Decimal(1)))
    assert "00099" in problem["detail"]


def test_an_unknown_barcode_is_not_found_and_named(open_till: Till) -> None:
    problem = _refused_unchanged(open_till, 404, "not_found", code=UNKNOWN)
    assert UNKNOWN in problem["detail"]
    assert open_till.receipt() is None
    problem = _refused_unchanged(open_till, 404, "not_found", article="no-such")
    assert "no-such" in problem["detail"]


def test_name_search(till: Till) -> None:
    def names(q: str) -> list[str]:
        return [p["name"] for p in till.get("/products", q=q)]

    assert names("молоко") == ["Молоко 3,2% 1 л"]
    assert names("МОЛОКО 3,2") == ["Молоко 3,2% 1 л"]
    assert names("1002") == ["Вода 0,5 л"]
    assert names("гала яблоки") == ["Яблоки Гала"]
    assert names("нет такого") == []
    (milk,) = till.get("/products", q="молоко")
    assert (milk["id"], milk["price"], milk["weighted"]) == ("milk", 8990, False)
    till.get("/products", 422, q="")


# --- weights ------------------------------------------------------------------------------------------


def test_weighted_goods_without_a_weight_need_one(open_till: Till) -> None:
    problem = _refused_unchanged(open_till, 422, "needs_weight", code=APPLES)
    assert "Яблоки Гала" in problem["detail"]
    _refused_unchanged(open_till, 422, "needs_weight", article=APPLES_ARTICLE)
    assert open_till.receipt() is None

    typed = open_till.scan(APPLES, quantity="0.750")
    assert (_line(typed)["quantity"], _line(typed)["amount"]) == ("0.750", 9675)
    problem = _refused_unchanged(open_till, 422, "invalid", article=APPLES_ARTICLE, quantity="0.0005")
    assert "3 decimal places" in problem["detail"]


@pytest.fixture
def scale() -> Iterator[RunningScale]:
    with start_scale_emulator(kg="1.500") as running:
        yield running


@pytest.fixture
def scale_till(pos_settings: PosSettings, devices: Devices, scale: RunningScale) -> Iterator[Till]:
    from osuite.pos.app import build_app

    settings = pos_settings.model_copy(update={"scale_address": f"127.0.0.1:{scale.port}"})
    with TestClient(build_app(settings)) as client:
        till = Till(client).login()
        till.post("/shift/open")
        yield till


def test_weights_read_from_the_scale(scale_till: Till, scale: RunningScale) -> None:
    till = scale_till
    assert till.get("/scale/weight") == {"weight": "1.500"}
    line = _line(till.post("/receipt/items", article=APPLES_ARTICLE))
    assert (line["quantity"], line["amount"]) == ("1.500", 19350)

    scale.emulator.set_weight("0.456")
    line = _line(till.scan(APPLES, weigh=True))
    assert (line["quantity"], line["amount"]) == ("0.456", 5882)

    typed = _line(till.scan(APPLES, quantity="2"))  # a typed weight wins over the scale
    assert typed["quantity"] == "2.000"

    scale.emulator.set_weight("0.300", stable=False)
    problem = _refused_unchanged(till, 422, "needs_weight", code=APPLES)
    assert "Яблоки Гала" in problem["detail"]
    scale.emulator.set_weight("0")
    _refused_unchanged(till, 422, "needs_weight", code=APPLES)
    assert len(till.receipt()["lines"]) == 3
    # piece goods are never weighed
    assert _line(till.scan(MILK))["quantity"] == "1.000"


def test_no_scale_connected(open_till: Till) -> None:
    problem = open_till.refused("GET", "/scale/weight", 404, "not_found")
    assert "No scale is connected" in problem["detail"]
    _refused_unchanged(open_till, 422, "needs_weight", article=APPLES_ARTICLE, weigh=True)


# --- changing lines -----------------------------------------------------------------------------------


def test_changing_a_quantity(open_till: Till) -> None:
    open_till.scan(MILK)
    open_till.scan(APPLES, quantity="1")
    changed = open_till.call("PUT", "/receipt/lines/1/quantity", quantity="4")
    assert (_line(changed, 1)["quantity"], changed["total"]) == ("4.000", 4 * 8990 + 12900)
    weighed = open_till.call("PUT", "/receipt/lines/2/quantity", quantity="1.25")
    assert (_line(weighed, 2)["amount"], weighed["total"]) == (16125, 4 * 8990 + 16125)

    before = open_till.receipt()
    problem = open_till.refused("PUT", "/receipt/lines/1/quantity", 422, "invalid", quantity="4.5")
    assert "whole number of pieces" in problem["detail"]
    open_till.refused("PUT", "/receipt/lines/9/quantity", 404, "not_found", quantity="1")
    open_till.call("PUT", "/receipt/lines/1/quantity", 422, quantity="0")
    open_till.call("PUT", "/receipt/lines/1/quantity", 422, quantity="-1")
    assert open_till.receipt() == before


def test_a_piece_good_with_a_fractional_quantity_is_refused(open_till: Till) -> None:
    open_till.scan(WATER)
    problem = _refused_unchanged(open_till, 422, "invalid", code=MILK, quantity="1.5")
    assert "whole number of pieces" in problem["detail"]
    _refused_unchanged(open_till, 422, "invalid", code=SIXPACK, quantity="0.5")


def test_voiding_a_line(open_till: Till) -> None:
    open_till.scan(MILK)
    open_till.scan(WATER)
    receipt = open_till.post("/receipt/lines/1/void", supervisor_pin=SUPERVISOR_PIN)
    assert [(line["voided"], line["amount"]) for line in receipt["lines"]] == [(True, 0), (False, 4500)]
    assert receipt["total"] == 4500
    before = open_till.receipt()
    open_till.refused("POST", "/receipt/lines/1/void", 404, "not_found", supervisor_pin=SUPERVISOR_PIN)
    open_till.refused("PUT", "/receipt/lines/1/quantity", 404, "not_found", quantity="2")
    assert open_till.receipt() == before
    closed = open_till.pay("CASH")
    assert open_till.document(closed["id"])["total"] == 4500


def test_manual_discounts_on_a_line_and_on_the_receipt(open_till: Till, devices: Devices) -> None:
    till = open_till.login(SUPERVISOR_PIN)
    till.scan(MILK, quantity="2")  # 179.80
    till.scan(WATER)  # 45.00
    till.scan(APPLES, quantity="0.333")  # 42.96 (42.957)
    line = till.post("/receipt/discount", line_no=2, amount=1000)
    assert (_line(line, 2)["discount"], _line(line, 2)["amount"]) == (1000, 3500)
    receipt = till.post("/receipt/discount", percent="7.5")
    assert receipt["manual_discount"] == {"percent": "7.5"}
    base = 17980 + 3500 + 4296
    assert receipt["discount"] == 1000 + round(base * Decimal("0.075"))
    assert receipt["total"] == base - round(base * Decimal("0.075"))
    lines_add_up(receipt)
    assert all(line["discount"] > 0 for line in receipt["lines"])

    # bad discounts change nothing
    before = till.receipt()
    till.call("POST", "/receipt/discount", 422, percent="101")
    till.call("POST", "/receipt/discount", 422, percent="5", amount=100)
    till.call("POST", "/receipt/discount", 422, amount=12.5)
    till.refused("POST", "/receipt/discount", 404, "not_found", line_no=7, percent="5")
    problem = till.refused("POST", "/receipt/discount", 422, "invalid", line_no=1, amount=20000)
    assert "179.80" in problem["detail"]
    assert till.receipt() == before

    closed = till.pay("CASH", 30000)
    assert closed["status"] == "closed"
    (sold,) = devices.sells()
    assert sold["total"] == closed["total"]
    assert [item["amount"] for item in sold["items"]] == [line["amount"] for line in closed["lines"]]

    # taking a discount away
    till.scan(MILK)
    till.post("/receipt/discount", line_no=1, percent="50")
    assert till.post("/receipt/discount", line_no=1)["total"] == 8990


# --- age ----------------------------------------------------------------------------------------------


def test_age_restricted_goods_need_the_age_checked(open_till: Till) -> None:
    problem = _refused_unchanged(open_till, 409, "needs_age_check", code=WINE)
    assert problem["age"] == 18
    assert "Вино красное" in problem["detail"] and "18" in problem["detail"]
    assert open_till.receipt() is None  # no receipt was opened for the refusal

    open_till.scan(MILK)
    _refused_unchanged(open_till, 409, "needs_age_check", code=WINE)
    receipt = open_till.scan(WINE, age_confirmed=True)
    assert receipt["age_confirmed"] is True
    assert _line(receipt)["age_limit"] == 18
    again = open_till.scan(WINE)  # checked once for the receipt
    assert again["total"] == 8990 + 2 * 59900
    (audit,) = open_till.audit("age_confirmed")
    assert audit["user_id"] == "anna"


def test_the_scale_is_read_by_one_request_at_a_time(scale_till: Till) -> None:
    """The screen asks for the weight several times a second while the cashier sells weighed goods."""
    from concurrent.futures import ThreadPoolExecutor

    def weigh(_: int) -> tuple[int, str]:
        answer = scale_till.http.get("/api/v1/scale/weight")
        return answer.status_code, answer.text

    def sell(_: int) -> int:
        return scale_till.http.post("/api/v1/receipt/items", json={"article": APPLES_ARTICLE}).status_code

    with ThreadPoolExecutor(6) as pool:
        weights = pool.map(weigh, range(120))
        sales = pool.map(sell, range(10))
        assert set(weights) == {(200, '{"weight":"1.500"}')}
        assert set(sales) == {200}
    receipt = scale_till.receipt()
    assert [line["quantity"] for line in receipt["lines"]] == ["1.500"] * 10
