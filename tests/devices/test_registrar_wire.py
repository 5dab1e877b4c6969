"""ATOL's JSON task format as the driver writes and reads it: exact money, the request bodies byte for
byte (worked out by hand from the format), and how answers map to the POS's error codes. The
registrar here is a scripted httpx transport standing in for ATOL's web server."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from osuite.devices.atol import AtolRegistrar, receipt_task
from osuite.devices.atol_wire import WireError, dumps, kopecks, loads, rubles
from osuite.devices.fiscal import FiscalError, FiscalErrorCode, FiscalItem, FiscalPayment, FiscalReceipt

PARAMS = {
    "fiscalDocumentNumber": 17,
    "fiscalDocumentSign": "0123456789",
    "fiscalDocumentDateTime": "2026-11-24T13:52:00+03:00",
    "fiscalReceiptNumber": 5,
    "shiftNumber": 3,
    "total": Decimal("396.00"),
    "fnNumber": "9999078900000961",
}


class ScriptedServer:
    """Answers like ATOL's web server from a script; records what the driver sent."""

    def __init__(
        self,
        results: list[dict[str, Any]] | Callable[[int], list[dict[str, Any]]],
        post_status: int = 201,
        post_body: bytes = b"",
    ) -> None:
        self.results = results
        self.post_status = post_status
        self.post_body = post_body
        self.posted: list[bytes] = []
        self.reads = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            assert request.url.path == "/api/v2/requests"
            self.posted.append(request.content)
            return httpx.Response(self.post_status, content=self.post_body)
        assert request.url.path.startswith("/api/v2/requests/")
        self.reads += 1
        results = self.results(self.reads) if callable(self.results) else self.results
        return httpx.Response(200, content=dumps({"results": results}))

    def driver(self, timeout: float = 2.0) -> AtolRegistrar:
        return AtolRegistrar(
            "http://atol.test:16732", timeout=timeout, poll_interval=0.01, transport=httpx.MockTransport(self)
        )


def ready(result: Any) -> dict[str, Any]:
    return {"status": "ready", "errorCode": 0, "errorDescription": "Ошибок нет", "result": result}


def sale() -> FiscalReceipt:
    return FiscalReceipt(
        key="receipt-1",
        kind="sale",
        cashier="Иванова И.И.",
        items=(
            FiscalItem("Хлеб", 4500, Decimal("2"), 9000, "20"),
            FiscalItem("Сыр", 120000, Decimal("0.255"), 30600, "10", "kg"),
        ),
        payments=(FiscalPayment("card", 20000), FiscalPayment("cash", 20000)),
        total=39600,
        footer=("Спасибо!",),
    )


# --- money ----------------------------------------------------------------------------------------------


@given(st.integers(min_value=-(10**24), max_value=10**24))
def test_kopecks_to_atol_json_and_back_is_exact(amount: int) -> None:
    body = dumps({"sum": rubles(amount)})
    assert re.fullmatch(rb'\{"sum":-?\d+\.\d\d\}', body)
    assert kopecks(loads(body)["sum"]) == amount


@given(
    st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=5),
    st.integers(min_value=0, max_value=10**12),
)
def test_a_receipt_task_carries_every_amount_exactly(amounts: list[int], extra: int) -> None:
    items = tuple(FiscalItem(f"Товар {n}", a, Decimal("1"), a, "none") for n, a in enumerate(amounts))
    total = sum(amounts)
    receipt = FiscalReceipt("k", "sale", "К", items, (FiscalPayment("cash", total + extra),), total)
    task = loads(dumps(receipt_task(receipt)))
    assert [kopecks(position["amount"]) for position in task["items"]] == amounts
    assert [kopecks(position["price"]) for position in task["items"]] == amounts
    assert kopecks(task["payments"][0]["sum"]) == total + extra
    assert kopecks(task["total"]) == total


@pytest.mark.parametrize("text", ["1.001", "0.005", "1e-3", "12.345"])
def test_more_than_two_decimals_is_not_money(text: str) -> None:
    with pytest.raises(WireError):
        kopecks(loads(text))


@pytest.mark.parametrize(("text", "expected"), [("1", 100), ("1.5", 150), ("1.50000", 150), ("1e2", 10000)])
def test_numbers_as_other_writers_spell_them(text: str, expected: int) -> None:
    assert kopecks(loads(text)) == expected


def test_floats_and_nan_are_refused() -> None:
    with pytest.raises(WireError):
        kopecks(1.5)
    with pytest.raises(ValueError):
        loads("NaN")


# --- the bodies the driver sends ------------------------------------------------------------------------


def test_a_sale_is_sent_exactly_so() -> None:
    server = ScriptedServer([ready({"fiscalParams": PARAMS})])
    with server.driver() as driver:
        mark = driver.register(sale())
    assert server.posted == [
        '{"uuid":"receipt-1","request":[{"type":"sell","operator":{"name":"Иванова И.И."},'
        '"items":['
        '{"type":"position","name":"Хлеб","price":45.00,"quantity":2.000,"amount":90.00,'
        '"tax":{"type":"vat20"},"paymentMethod":"fullPayment","paymentObject":"commodity",'
        '"measurementUnit":"piece"},'
        '{"type":"position","name":"Сыр","price":1200.00,"quantity":0.255,"amount":306.00,'
        '"tax":{"type":"vat10"},"paymentMethod":"fullPayment","paymentObject":"commodity",'
        '"measurementUnit":"kilogram"}],'
        '"payments":[{"type":"electronically","sum":200.00},{"type":"cash","sum":200.00}],'
        '"total":396.00,'
        '"postItems":[{"type":"text","text":"Спасибо!"}]}]}'.encode()
    ]
    assert (mark.key, mark.document_number, mark.fiscal_sign, mark.shift_number) == (
        "receipt-1",
        17,
        "0123456789",
        3,
    )
    assert (mark.number_in_shift, mark.total) == (5, 39600)
    assert mark.registered_at.isoformat() == "2026-11-24T13:52:00+03:00"


def test_a_return_paid_by_bonus_and_gift_and_a_cash_out_are_sent_exactly_so() -> None:
    back = FiscalReceipt(
        key="return-2",
        kind="return",
        cashier="Петров П.П.",
        items=(FiscalItem("Вода 0,5 л", 5990, Decimal("1"), 5000, "20/120"),),
        payments=(FiscalPayment("bonus", 1000), FiscalPayment("gift", 4000)),
        total=5000,
    )
    server = ScriptedServer([ready({"fiscalParams": PARAMS | {"total": Decimal("50")}})])
    with server.driver() as driver:
        driver.register(back)
        server.results = [ready({"counters": {"cashSum": Decimal("0.00")}})]
        mark = driver.cash("cash-7", "out", 150050, "Петров П.П.")
    assert server.posted == [
        '{"uuid":"return-2","request":[{"type":"sellReturn","operator":{"name":"Петров П.П."},'
        '"items":[{"type":"position","name":"Вода 0,5 л","price":59.90,"quantity":1.000,"amount":50.00,'
        '"tax":{"type":"vat120"},"paymentMethod":"fullPayment","paymentObject":"commodity",'
        '"measurementUnit":"piece"}],'
        '"payments":[{"type":"prepaid","sum":10.00},{"type":"prepaid","sum":40.00}],'
        '"total":50.00}]}'.encode(),
        '{"uuid":"cash-7","request":[{"type":"cashOut","cashSum":1500.50,'
        '"operator":{"name":"Петров П.П."}}]}'.encode(),
    ]
    # a real device answers a cash operation without fiscal parameters: the mark says what it knows
    assert (mark.key, mark.total, mark.document_number, mark.fiscal_sign) == ("cash-7", 150050, 0, "")


@pytest.mark.parametrize(
    ("vat", "tax"),
    [
        ("none", "none"),
        ("0", "vat0"),
        ("5", "vat5"),
        ("7", "vat7"),
        ("10", "vat10"),
        ("20", "vat20"),
        ("22", "vat22"),
        ("5/105", "vat105"),
        ("7/107", "vat107"),
        ("10/110", "vat110"),
        ("20/120", "vat120"),
        ("22/122", "vat122"),
    ],
)
def test_vat_rates(vat: str, tax: str) -> None:
    receipt = FiscalReceipt(
        "k", "sale", "К", (FiscalItem("x", 100, Decimal(1), 100, vat),), (FiscalPayment("other", 100),), 100
    )
    task = receipt_task(receipt)
    assert task["items"][0]["tax"] == {"type": tax}
    assert task["payments"] == [{"type": "other", "sum": Decimal("1.00")}]


@pytest.mark.parametrize(
    "bad",
    [
        FiscalItem("x", 100, Decimal(1), 100, "18"),
        FiscalItem("x", 100, Decimal(1), 100, "20", unit="bushel"),
        FiscalItem("x", 100, Decimal("0.0001"), 100, "20"),
    ],
)
def test_what_atol_cannot_carry_is_refused_before_sending(bad: FiscalItem) -> None:
    server = ScriptedServer([])
    receipt = FiscalReceipt("k", "sale", "К", (bad,), (FiscalPayment("cash", 100),), 100)
    with server.driver() as driver, pytest.raises(FiscalError) as caught:
        driver.register(receipt)
    assert caught.value.code is FiscalErrorCode.INVALID_DOCUMENT
    assert server.posted == []


# --- reading answers ------------------------------------------------------------------------------------


def error(code: int, description: str = "") -> dict[str, Any]:
    return {"status": "error", "errorCode": code, "errorDescription": description, "result": None}


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        (error(44, "Нет бумаги"), FiscalErrorCode.PAPER_OUT),
        (error(45, "Открыта крышка"), FiscalErrorCode.COVER_OPEN),
        (error(46), FiscalErrorCode.PRINTER_ERROR),
        (error(55), FiscalErrorCode.BUSY),
        (error(73), FiscalErrorCode.SHIFT_NOT_OPEN),
        (error(83), FiscalErrorCode.SHIFT_ALREADY_OPEN),
        (error(68), FiscalErrorCode.SHIFT_EXPIRED),
        (error(141), FiscalErrorCode.SHIFT_EXPIRED),
        (error(80), FiscalErrorCode.NOT_ENOUGH_CASH),
        (error(66), FiscalErrorCode.INVALID_DOCUMENT),
        (error(227), FiscalErrorCode.INVALID_DOCUMENT),
        (error(999, "Что-то новое"), FiscalErrorCode.INTERNAL),
        ({"status": "blocked", "errorCode": 0, "errorDescription": "", "result": None}, FiscalErrorCode.BUSY),
        (
            {"status": "canceled", "errorCode": 0, "errorDescription": "", "result": None},
            FiscalErrorCode.INTERNAL,
        ),
    ],
)
def test_device_errors_map_to_the_pos_codes(answer: dict[str, Any], code: FiscalErrorCode) -> None:
    with ScriptedServer([answer]).driver() as driver, pytest.raises(FiscalError) as caught:
        driver.register(sale())
    assert caught.value.code is code
    assert caught.value.registered_nothing
    assert caught.value.message.endswith(")")  # advice first, then what the device said


def test_a_pending_task_is_polled_until_ready() -> None:
    def results(read: int) -> list[dict[str, Any]]:
        if read < 3:
            return [{"status": "wait" if read == 1 else "inProgress", "errorCode": 0, "result": None}]
        return [ready({"fiscalParams": PARAMS})]

    server = ScriptedServer(results)
    with server.driver() as driver:
        assert driver.register(sale()).document_number == 17
    assert server.reads == 3


def test_a_task_that_never_finishes_is_unreachable() -> None:
    server = ScriptedServer([{"status": "inProgress", "errorCode": 0, "result": None}])
    with server.driver(timeout=0.2) as driver, pytest.raises(FiscalError) as caught:
        driver.register(sale())
    assert caught.value.code is FiscalErrorCode.UNREACHABLE
    assert not caught.value.registered_nothing


def test_a_device_that_does_not_say_whether_a_repeat_matches_is_checked_by_its_total() -> None:
    server = ScriptedServer([ready({"fiscalParams": PARAMS})], post_status=409)
    with server.driver() as driver:
        assert driver.register(sale()).total == 39600
        other = FiscalReceipt(
            "receipt-1", "sale", "К", sale().items[:1], (FiscalPayment("cash", 9000),), 9000
        )
        with pytest.raises(FiscalError) as caught:
            driver.register(other)
    assert caught.value.code is FiscalErrorCode.DUPLICATE_KEY


def test_a_server_failure_with_nothing_held_is_unreachable() -> None:
    def lost(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500 if request.method == "POST" else 404)

    driver = AtolRegistrar("http://atol.test", transport=httpx.MockTransport(lost))
    with driver, pytest.raises(FiscalError) as caught:
        driver.register(sale())
    assert caught.value.code is FiscalErrorCode.UNREACHABLE
