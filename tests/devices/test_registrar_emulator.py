"""The ATOL driver against the registrar emulator, which prints on the printer emulator: all over real
loopback sockets. Every refusal is checked for its code and for having registered and printed nothing."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from osuite.devices.atol import AtolRegistrar
from osuite.devices.atol_wire import dumps, loads
from osuite.devices.fiscal import FiscalError, FiscalErrorCode
from osuite.devices.registrar_emulator import Fault
from tests.devices.registrar_bench import CASHIER, Bench, item, receipt


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    bench = Bench(tmp_path)
    yield bench
    bench.close()


@pytest.fixture
def open_bench(bench: Bench) -> Bench:
    """A bench whose shift is open and whose drawer holds 1 000.00 rubles."""
    bench.driver.open_shift(CASHIER)
    bench.driver.cash("float", "in", 100000, CASHIER)
    return bench


def refused(code: FiscalErrorCode, call: object, *args: object) -> FiscalError:
    assert callable(call)
    with pytest.raises(FiscalError) as caught:
        call(*args)
    assert caught.value.code is code, caught.value.message
    assert caught.value.registered_nothing
    return caught.value


def line(text: str, left: str, right: str) -> bool:
    """Whether ``text`` has a line with ``left`` … ``right`` (the receipt pads between them)."""
    return re.search(rf"^{re.escape(left)} +{re.escape(right)}$", text, re.MULTILINE) is not None


# --- a day at the till ----------------------------------------------------------------------------------


def test_open_shift_registers_document_one(bench: Bench) -> None:
    mark = bench.driver.open_shift(CASHIER)
    assert (mark.shift_number, mark.document_number, mark.number_in_shift, mark.total) == (1, 1, 0, 0)
    assert re.fullmatch(r"\d{10}", mark.fiscal_sign)
    assert mark.registered_at == bench.clock.at
    status = bench.driver.status()
    assert status.shift_open and status.shift_number == 1 and not status.shift_expired
    assert status.shift_opened_at == bench.clock.at
    assert status.last_document_number == 1
    assert "ОТЧЁТ ОБ ОТКРЫТИИ СМЕНЫ" in bench.printed(1)


def test_cash_sale_with_change_prints_a_russian_receipt(open_bench: Bench) -> None:
    bread = item("Хлеб пшеничный", 4500, "2", vat="20")
    milk = item("Молоко 3,2% 1 л", 8990, "1", vat="10/110")
    mark = open_bench.driver.register(
        receipt("sale-1", [bread, milk], [("cash", 20000)], footer=("Спасибо за покупку!",))
    )
    assert (mark.key, mark.shift_number, mark.document_number, mark.number_in_shift) == ("sale-1", 1, 3, 1)
    assert mark.total == 17990
    text = open_bench.printed(3).split("КАССОВЫЙ ЧЕК", 1)[1]
    assert "ПРИХОД" in text
    assert "1. Хлеб пшеничный" in text and "2. Молоко 3,2% 1 л" in text
    assert line(text, "   2.000 шт x 45.00", "=90.00")
    assert line(text, "   НДС 20%", "=15.00")
    assert line(text, "   НДС 10/110", "=8.17")
    assert line(text, "ИТОГ", "=179.90")
    assert line(text, "НАЛИЧНЫМИ", "=200.00")
    assert line(text, "СДАЧА", "=20.10")
    assert line(text, f"ФД {mark.document_number}", f"ФП {mark.fiscal_sign}")
    assert line(text, "ЧЕК № 1", "СМЕНА № 1")
    assert line(text, "КАССИР", CASHIER)
    assert "Спасибо за покупку!" in text
    job = open_bench.printer.jobs[2] if open_bench.printer else None
    assert job is not None and job.parsed.cuts == 1
    assert job.parsed.qr_codes == [
        f"t=20261124T0900&s=179.90&fn={open_bench.registrar.emulator.identity.fn_number}"
        f"&i={mark.document_number}&fp={mark.fiscal_sign}&n=1"
    ]
    assert open_bench.driver.status().cash_in_drawer == 100000 + 17990


def test_card_mixed_and_return_add_up_in_the_x_and_z_reports(open_bench: Bench) -> None:
    driver = open_bench.driver
    driver.register(receipt("card", [item(price=30000)], [("card", 30000)]))
    driver.register(receipt("mixed", [item(price=25000)], [("card", 10000), ("cash", 20000)]))  # change 50
    driver.register(receipt("bonus", [item(price=1000)], [("bonus", 400), ("gift", 100), ("cash", 500)]))
    driver.register(receipt("back", [item(price=4500)], [("cash", 4500)], kind="return"))
    driver.cash("out-1", "out", 30000, CASHIER)

    x = driver.x_report(CASHIER)
    assert x.mark is None
    totals = x.totals
    assert (totals.shift_number, totals.sales_count, totals.sales_sum) == (1, 3, 56000)
    assert (totals.returns_count, totals.returns_sum) == (1, 4500)
    assert (totals.cash_in, totals.cash_out) == (100000, 30000)
    assert totals.by_method == {"card": (40000, 0), "cash": (15500, 4500), "prepaid": (500, 0)}
    assert sum(sold for sold, _ in totals.by_method.values()) == totals.sales_sum
    assert sum(back for _, back in totals.by_method.values()) == totals.returns_sum
    cash_sold, cash_back = totals.by_method["cash"]
    assert totals.cash_in_drawer == totals.cash_in - totals.cash_out + cash_sold - cash_back == 81000

    z = driver.close_shift(CASHIER)
    assert z.totals == totals
    assert z.mark is not None and z.mark.document_number == 8 and z.mark.shift_number == 1
    status = driver.status()
    assert not status.shift_open and status.shift_number == 1 and status.cash_in_drawer == 81000
    printed = open_bench.printed(9)
    assert "ВОЗВРАТ ПРИХОДА" in printed and "X-ОТЧЁТ" in printed and "ОТЧЁТ О ЗАКРЫТИИ СМЕНЫ" in printed
    assert line(printed, "БЕЗНАЛИЧНЫМИ", "=100.00") and line(printed, "СДАЧА", "=50.00")
    assert line(printed, "ПРЕДВАРИТЕЛЬНАЯ ОПЛАТА (АВАНС)", "=5.00")
    assert "ВЫПЛАТА" in printed
    assert line(printed, "НАЛИЧНЫХ В КАССЕ", "=810.00")

    next_shift = driver.open_shift(CASHIER)
    assert (next_shift.shift_number, next_shift.document_number) == (2, 9)
    fresh = driver.x_report(CASHIER).totals
    assert (fresh.shift_number, fresh.sales_count, fresh.cash_in_drawer) == (2, 0, 81000)


def test_a_weighed_item_with_a_discount(open_bench: Bench) -> None:
    # 0.755 kg × 120.00 = 90.60; 10% off the line → 81.54
    courgettes = item("Кабачки", 12000, "0.755", amount=8154, vat="10", unit="kg")
    mark = open_bench.driver.register(receipt("weighed", [courgettes], [("card", 8154)]))
    assert mark.total == 8154
    assert line(open_bench.printed(3), "   0.755 кг x 120.00", "=81.54")


def test_print_text_prints_a_slip(bench: Bench) -> None:
    bench.driver.print_text(["СЛИП ОПЛАТЫ КАРТОЙ", "ОДОБРЕНО", "Карта **** 1234"])
    text = bench.printed(1)
    assert "СЛИП ОПЛАТЫ КАРТОЙ\nОДОБРЕНО\nКарта **** 1234\n" in text
    assert bench.registrar.emulator.snapshot()["documents"] == 0


def test_open_drawer_kicks_the_drawer_on_the_printer_and_registers_nothing(bench: Bench) -> None:
    bench.driver.open_drawer()
    (job,) = bench.printer.wait_for_jobs(1)
    assert job.parsed.drawer_kicks == 1 and job.text == ""
    assert bench.registrar.emulator.snapshot()["documents"] == 0


# --- idempotency and find -------------------------------------------------------------------------------


def test_the_same_key_twice_registers_once(open_bench: Bench) -> None:
    sale = receipt("twice", [item(price=5000)], [("cash", 5000)])
    first = open_bench.driver.register(sale)
    before = open_bench.counters()
    again = open_bench.driver.register(sale)
    other_driver = AtolRegistrar(open_bench.registrar.url, timeout=5.0)
    try:
        from_elsewhere = other_driver.register(sale)
    finally:
        other_driver.close()
    assert again == first == from_elsewhere
    assert open_bench.counters() == before
    assert open_bench.printed(3).count("КАССОВЫЙ ЧЕК") == 1
    assert len(open_bench.printer.jobs if open_bench.printer else []) == 3


def test_the_same_key_for_another_receipt_is_a_duplicate(open_bench: Bench) -> None:
    open_bench.driver.register(receipt("dup", [item(price=5000)]))
    with open_bench.nothing_registered():
        error = refused(
            FiscalErrorCode.DUPLICATE_KEY, open_bench.driver.register, receipt("dup", [item(price=6000)])
        )
        assert "dup" in error.message
        refused(FiscalErrorCode.DUPLICATE_KEY, open_bench.driver.cash, "dup", "in", 100, CASHIER)


def test_a_cash_operation_key_is_idempotent_too(open_bench: Bench) -> None:
    first = open_bench.driver.cash("in-2", "in", 5000, CASHIER)
    before = open_bench.counters()
    assert open_bench.driver.cash("in-2", "in", 5000, CASHIER) == first
    assert open_bench.counters() == before
    refused(FiscalErrorCode.DUPLICATE_KEY, open_bench.driver.cash, "in-2", "in", 6000, CASHIER)


def test_find(open_bench: Bench) -> None:
    mark = open_bench.driver.register(receipt("found"))
    assert open_bench.driver.find("found") == mark
    assert open_bench.driver.find("float") == open_bench.driver.cash("float", "in", 100000, CASHIER)
    assert open_bench.driver.find("never-sent") is None
    refused(FiscalErrorCode.INVALID_DOCUMENT, open_bench.driver.register, receipt("bad", total=1))
    assert open_bench.driver.find("bad") is None


def test_a_refused_key_can_be_sent_again_once_corrected(open_bench: Bench) -> None:
    refused(
        FiscalErrorCode.INVALID_DOCUMENT,
        open_bench.driver.register,
        receipt("fix-me", payments=[("cash", 1)]),
    )
    mark = open_bench.driver.register(receipt("fix-me"))
    assert mark.document_number == 3


# --- refusals -------------------------------------------------------------------------------------------


def test_nothing_fiscal_without_an_open_shift(bench: Bench) -> None:
    with bench.nothing_registered():
        refused(FiscalErrorCode.SHIFT_NOT_OPEN, bench.driver.register, receipt("no-shift"))
        refused(FiscalErrorCode.SHIFT_NOT_OPEN, bench.driver.cash, "no-shift-cash", "in", 100, CASHIER)
        refused(FiscalErrorCode.SHIFT_NOT_OPEN, bench.driver.close_shift, CASHIER)


def test_an_open_shift_cannot_be_opened_again(bench: Bench) -> None:
    bench.driver.open_shift(CASHIER)
    with bench.nothing_registered():
        refused(FiscalErrorCode.SHIFT_ALREADY_OPEN, bench.driver.open_shift, CASHIER)


def test_after_24_hours_only_the_z_report(open_bench: Bench) -> None:
    open_bench.clock.advance(hours=23, minutes=59)
    open_bench.driver.register(receipt("just-in-time"))
    open_bench.clock.advance(minutes=2)
    status = open_bench.driver.status()
    assert status.shift_open and status.shift_expired
    with open_bench.nothing_registered():
        refused(FiscalErrorCode.SHIFT_EXPIRED, open_bench.driver.register, receipt("too-late"))
        refused(FiscalErrorCode.SHIFT_EXPIRED, open_bench.driver.cash, "too-late-cash", "out", 100, CASHIER)
        refused(FiscalErrorCode.SHIFT_EXPIRED, open_bench.driver.open_shift, CASHIER)
    z = open_bench.driver.close_shift(CASHIER)
    assert z.mark is not None and z.totals.sales_count == 1
    assert open_bench.driver.open_shift(CASHIER).shift_number == 2
    assert open_bench.driver.register(receipt("next-day")).number_in_shift == 1


def test_the_clock_is_also_moved_through_the_control_endpoint(open_bench: Bench) -> None:
    with httpx.Client(base_url=open_bench.registrar.url) as http:
        state = http.post("/emulator/state", json={"advance_hours": 25}).json()
    assert state["shift_expired"] and state["clock_offset_hours"] == 25
    refused(FiscalErrorCode.SHIFT_EXPIRED, open_bench.driver.register, receipt("late"))


@pytest.mark.parametrize(
    ("why", "bad"),
    [
        ("payments short of the total", receipt("r", [item(price=5000)], [("cash", 4999)])),
        ("card above the total", receipt("r", [item(price=5000)], [("card", 5001)])),
        (
            "card and bonus above the total",
            receipt("r", [item(price=5000)], [("card", 4000), ("bonus", 1001)]),
        ),
        ("amount above price × quantity", receipt("r", [item(price=5000, amount=5001)])),
        ("negative amount", receipt("r", [item(price=5000, amount=-1)], [("cash", 0)], total=-1)),
        ("total not the sum of the items", receipt("r", [item(price=5000)], [("cash", 6000)], total=5001)),
        ("no items", receipt("r", [], [("cash", 0)])),
        ("a name too long", receipt("r", [item(name="Ж" * 129)])),
    ],
)
def test_documents_that_do_not_add_up_are_refused(open_bench: Bench, why: str, bad: object) -> None:
    with open_bench.nothing_registered():
        refused(FiscalErrorCode.INVALID_DOCUMENT, open_bench.driver.register, bad)


def test_half_up_rounding_is_the_limit_of_an_amount(open_bench: Bench) -> None:
    # 3.33 × 0.5 = 1.665 → 1.67 at most
    refused(
        FiscalErrorCode.INVALID_DOCUMENT,
        open_bench.driver.register,
        receipt("round", [item(price=333, quantity="0.5", amount=168)]),
    )
    assert (
        open_bench.driver.register(receipt("round", [item(price=333, quantity="0.5", amount=167)])).total
        == 167
    )


def test_bad_vat_is_refused_by_the_driver_and_by_the_registrar(open_bench: Bench) -> None:
    with open_bench.nothing_registered():
        refused(
            FiscalErrorCode.INVALID_DOCUMENT, open_bench.driver.register, receipt("vat", [item(vat="18")])
        )
        raw = {
            "uuid": "raw-vat",
            "request": [
                {
                    "type": "sell",
                    "items": [
                        {
                            "type": "position",
                            "name": "Хлеб",
                            "price": 45,
                            "quantity": 1,
                            "amount": 45,
                            "tax": {"type": "vat18"},
                        },
                    ],
                    "payments": [{"type": "cash", "sum": 45}],
                }
            ],
        }
        with httpx.Client(base_url=open_bench.registrar.url) as http:
            assert http.post("/api/v2/requests", content=dumps(raw)).status_code == 201
            (result,) = loads(http.get("/api/v2/requests/raw-vat").content)["results"]
    assert (result["status"], result["errorCode"]) == ("error", 144)
    assert result["errorDescription"].startswith("Неверный тип налога")


def test_cash_out_or_a_cash_refund_above_the_drawer(open_bench: Bench) -> None:
    with open_bench.nothing_registered():
        error = refused(
            FiscalErrorCode.NOT_ENOUGH_CASH, open_bench.driver.cash, "big-out", "out", 100001, CASHIER
        )
        assert "1000.00" in error.message
        refund = receipt("big-back", [item(price=100001)], kind="return")
        refused(FiscalErrorCode.NOT_ENOUGH_CASH, open_bench.driver.register, refund)
    card_refund = receipt("big-back", [item(price=100001)], [("card", 100001)], kind="return")
    assert open_bench.driver.register(card_refund).total == 100001
    assert open_bench.driver.cash("all-out", "out", 100000, CASHIER).total == 100000
    assert open_bench.driver.status().cash_in_drawer == 0


def test_paper_out_and_cover_open_refuse_and_register_nothing(open_bench: Bench) -> None:
    printer = open_bench.printer
    assert printer is not None
    printer.set_state(paper=False)
    assert open_bench.driver.status().paper_out
    with open_bench.nothing_registered():
        error = refused(FiscalErrorCode.PAPER_OUT, open_bench.driver.register, receipt("paper"))
        assert "paper" in error.message
        refused(FiscalErrorCode.PAPER_OUT, open_bench.driver.close_shift, CASHIER)
        refused(FiscalErrorCode.PAPER_OUT, open_bench.driver.print_text, ["slip"])
    printer.set_state(paper=True, cover_open=True)
    status = open_bench.driver.status()
    assert status.cover_open and not status.paper_out
    with open_bench.nothing_registered():
        refused(FiscalErrorCode.COVER_OPEN, open_bench.driver.register, receipt("paper"))
    printer.set_state(cover_open=False)
    mark = open_bench.driver.register(receipt("paper"))
    assert mark.document_number == 3
    assert "КАССОВЫЙ ЧЕК" in open_bench.printed(3)


def test_a_printer_that_does_not_answer_is_a_printer_error(open_bench: Bench) -> None:
    assert open_bench.printer is not None
    open_bench.printer.stop()
    with open_bench.nothing_registered():
        refused(FiscalErrorCode.PRINTER_ERROR, open_bench.driver.register, receipt("no-printer"))


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        (Fault.BUSY, FiscalErrorCode.BUSY),
        (Fault.INTERNAL, FiscalErrorCode.INTERNAL),
        (Fault.PAPER_OUT, FiscalErrorCode.PAPER_OUT),
        (Fault.COVER_OPEN, FiscalErrorCode.COVER_OPEN),
    ],
)
def test_injected_faults_refuse_and_a_retry_registers(
    open_bench: Bench, fault: Fault, code: FiscalErrorCode
) -> None:
    with httpx.Client(base_url=open_bench.registrar.url) as http:
        state = http.post("/emulator/state", json={"fault": str(fault), "count": 2}).json()
    assert state["fault"] == {"kind": str(fault), "remaining": 2}
    with open_bench.nothing_registered():
        refused(code, open_bench.driver.register, receipt("faulty"))
        refused(code, open_bench.driver.status)
    assert open_bench.driver.register(receipt("faulty")).number_in_shift == 1


def test_a_lost_answer_is_recovered_from_the_held_result(open_bench: Bench) -> None:
    open_bench.registrar.emulator.inject(Fault.LOSE_ANSWER)
    mark = open_bench.driver.register(receipt("lost"))
    assert open_bench.driver.find("lost") == mark
    assert open_bench.registrar.emulator.snapshot()["documents"] == 3


def test_a_slow_registrar_is_waited_for(open_bench: Bench) -> None:
    open_bench.registrar.emulator.inject(Fault.SLOW)
    assert open_bench.driver.register(receipt("slow")).number_in_shift == 1


def test_no_answer_is_unreachable_and_may_have_registered(tmp_path: Path) -> None:
    driver = AtolRegistrar("http://127.0.0.1:9", timeout=1.0, connect_timeout=0.5)
    with driver, pytest.raises(FiscalError) as caught:
        driver.register(receipt("nowhere"))
    assert caught.value.code is FiscalErrorCode.UNREACHABLE
    assert not caught.value.registered_nothing
    assert "127.0.0.1:9" in caught.value.message


def test_a_registrar_without_a_printer_prints_nowhere_but_works(tmp_path: Path) -> None:
    bench = Bench(tmp_path, printer=False)
    try:
        bench.driver.open_shift(CASHIER)
        assert bench.driver.register(receipt("quiet")).document_number == 2
        status = bench.driver.status()
        assert not status.paper_out and not status.cover_open
    finally:
        bench.close()


def test_malformed_requests_are_400(bench: Bench) -> None:
    with httpx.Client(base_url=bench.registrar.url) as http:
        assert http.post("/api/v2/requests", content=b"not json").status_code == 400
        assert http.post("/api/v2/requests", json={"uuid": "x"}).status_code == 400
        assert (
            http.post("/api/v2/requests", json={"uuid": "", "request": [{"type": "sell"}]}).status_code == 400
        )
        assert http.get("/api/v2/requests/unknown").status_code == 404
        assert http.post("/emulator/state", json={"fault": "gremlins"}).status_code == 422


def test_a_delayed_answer_is_registered_before_it_is_given(open_bench: Bench) -> None:
    with httpx.Client(base_url=open_bench.registrar.url) as http:
        http.post("/emulator/state", json={"fault": "delay_answer", "count": 1, "seconds": 1.0})
    done = threading.Event()
    marks: list[object] = []

    def register() -> None:
        marks.append(open_bench.driver.register(receipt("held")))
        done.set()

    worker = threading.Thread(target=register)
    assert open_bench.driver.status().shift_open  # a question does not take the fault
    worker.start()
    found = None
    deadline = time.monotonic() + 5
    while found is None and time.monotonic() < deadline:  # registered while the answer is still held
        found = open_bench.driver.find("held")
    assert found is not None and not done.is_set()
    worker.join(10)
    assert marks == [found]
