"""The card terminal driver against the emulator over real loopback sockets: approvals, declines,
timeouts and what ``find`` says after them, idempotency, refunds, cancels, the journal across restarts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from osuite.devices.card_emulator import JOURNAL_FILE, RunningCardTerminal, start_card_emulator
from osuite.devices.card_terminal import HttpCardTerminal
from osuite.devices.jsonl_journal import JournalError
from osuite.devices.payment import CardErrorCode, CardTerminal, CardTerminalError
from tests.support.servers import free_port, printed

OSUITE = (sys.executable, "-m", "osuite")


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[RunningCardTerminal]:
    with start_card_emulator(tmp_path / "card") as running:
        yield running


@pytest.fixture
def terminal(emulator: RunningCardTerminal) -> Iterator[HttpCardTerminal]:
    with HttpCardTerminal(emulator.url, timeout=5) as driver:
        yield driver


def refused(code: CardErrorCode, call: object, *args: object) -> CardTerminalError:
    assert callable(call)
    with pytest.raises(CardTerminalError) as caught:
        call(*args)
    assert caught.value.code is code, caught.value.message
    return caught.value


def test_the_driver_is_a_card_terminal(terminal: HttpCardTerminal) -> None:
    driver: CardTerminal = terminal
    assert driver is terminal


def test_approved_payment(terminal: HttpCardTerminal) -> None:
    result = terminal.pay("p-1", 123_45)
    assert result.approved and result.operation == "pay" and result.amount == 123_45
    assert result.message == "ОДОБРЕНО"
    assert len(result.rrn) == 12 and result.rrn.isdigit()
    assert len(result.auth_code) == 6 and result.auth_code.isdigit()
    assert result.card_mask.startswith("**** ") and result.card_mask[5:].isdigit()
    slip = "\n".join(result.slip)
    for text in ("ОПЛАТА", "СУММА: 123,45 руб.", result.card_mask, "ОДОБРЕНО", result.rrn, result.auth_code):
        assert text in slip
    assert terminal.find("p-1") == result


def test_declined_payment_with_its_message(emulator: RunningCardTerminal, terminal: HttpCardTerminal) -> None:
    emulator.terminal.set_mode("decline", count=1, decline_message="карта заблокирована")
    result = terminal.pay("p-1", 500_00)
    assert not result.approved
    assert result.message == "ОТКАЗ: карта заблокирована"
    assert result.auth_code == ""
    assert "ОТКАЗ" in result.slip and "карта заблокирована" in result.slip
    assert terminal.find("p-1") == result
    assert terminal.pay("p-2", 500_00).approved  # count 1: back to approving


def test_mode_over_http(emulator: RunningCardTerminal, terminal: HttpCardTerminal) -> None:
    with httpx.Client(base_url=emulator.control_url) as http:
        mode = http.post("/emulator/mode", json={"mode": "decline", "count": None}).json()
        assert mode["mode"] == "decline" and mode["count"] is None
        assert not terminal.pay("p-1", 100).approved
        assert not terminal.pay("p-2", 100).approved
        assert http.get("/emulator/mode").json()["mode"] == "decline"
        http.post("/emulator/mode", json={"mode": "approve"})
        assert terminal.pay("p-3", 100).approved
        assert [op["key"] for op in http.get("/emulator/operations").json()] == ["p-1", "p-2", "p-3"]
        bad = http.post("/emulator/mode", json={"mode": "explode"})
        assert bad.status_code == 422 and bad.json()["code"] == "invalid"


def test_control_on_its_own_port(tmp_path: Path) -> None:
    with start_card_emulator(tmp_path, control_port=0) as running:
        assert running.control_url != running.url
        with httpx.Client() as http:
            assert (
                http.post(f"{running.control_url}/emulator/mode", json={"mode": "decline"}).status_code == 200
            )
            assert http.post(f"{running.url}/emulator/mode", json={"mode": "approve"}).status_code == 404
        with HttpCardTerminal(running.url, timeout=5) as driver:
            assert not driver.pay("p-1", 100).approved


def test_timeout_with_the_cardholder_gone_then_find_says_nothing_happened(
    emulator: RunningCardTerminal,
) -> None:
    emulator.terminal.set_mode("timeout", count=1, hold_seconds=1.0)
    with HttpCardTerminal(emulator.url, timeout=0.3) as driver:
        started = time.monotonic()
        error = refused(CardErrorCode.TIMEOUT, driver.pay, "p-1", 250_00)
        assert time.monotonic() - started < 0.9
        assert "исход неизвестен" in error.message
        assert driver.find("p-1") is None
        refused(CardErrorCode.BUSY, driver.pay, "p-2", 100)  # still waiting for the card
    time.sleep(1.0)
    with HttpCardTerminal(emulator.url, timeout=5) as driver:
        assert driver.find("p-1") is None
        assert driver.pay("p-1", 250_00).approved  # the POS may try the same payment again


def test_timeout_with_the_answer_lost_then_find_says_the_money_moved(emulator: RunningCardTerminal) -> None:
    emulator.terminal.set_mode("timeout", count=1, hold_seconds=0.8, timeout_outcome="approved")
    with HttpCardTerminal(emulator.url, timeout=0.3) as driver:
        refused(CardErrorCode.TIMEOUT, driver.pay, "p-1", 250_00)
        found = driver.find("p-1")
        assert found is not None and found.approved and found.amount == 250_00
        assert driver.pay("p-1", 250_00) == found  # repeating the key answers the first outcome


def test_timeout_declined_is_found_declined(emulator: RunningCardTerminal) -> None:
    emulator.terminal.set_mode("timeout", count=1, hold_seconds=0.6, timeout_outcome="declined")
    with HttpCardTerminal(emulator.url, timeout=0.2) as driver:
        refused(CardErrorCode.TIMEOUT, driver.pay, "p-1", 100)
        found = driver.find("p-1")
        assert found is not None and not found.approved


def test_a_patient_client_hears_that_nothing_happened(emulator: RunningCardTerminal) -> None:
    emulator.terminal.set_mode("timeout", count=1, hold_seconds=0.2)
    with HttpCardTerminal(emulator.url, timeout=5) as driver:
        error = refused(CardErrorCode.TIMEOUT, driver.pay, "p-1", 100)
        assert "карту так и не приложили" in error.message
        assert driver.find("p-1") is None


def test_busy_while_an_operation_runs(emulator: RunningCardTerminal, terminal: HttpCardTerminal) -> None:
    emulator.terminal.set_mode("approve", count=1, delay_seconds=0.5)
    results = []
    worker = threading.Thread(target=lambda: results.append(terminal.pay("slow", 100)))
    worker.start()
    time.sleep(0.2)
    with HttpCardTerminal(emulator.url, timeout=5) as other:
        refused(CardErrorCode.BUSY, other.pay, "p-2", 100)
        worker.join()
        assert results[0].approved
        assert other.pay("p-2", 100).approved


def test_idempotent_by_key(terminal: HttpCardTerminal) -> None:
    first = terminal.pay("p-1", 100_00)
    assert terminal.pay("p-1", 100_00) == first
    error = refused(CardErrorCode.INVALID, terminal.pay, "p-1", 99_00)
    assert "уже использован" in error.message
    refused(CardErrorCode.INVALID, terminal.refund, "p-1", 100_00, first.rrn)
    assert terminal.find("p-1") == first


def test_declines_are_idempotent_too(emulator: RunningCardTerminal, terminal: HttpCardTerminal) -> None:
    emulator.terminal.set_mode("decline", count=1)
    first = terminal.pay("p-1", 100)
    assert terminal.pay("p-1", 100) == first and not first.approved


def test_refunds(terminal: HttpCardTerminal) -> None:
    paid = terminal.pay("p-1", 1000_00)
    part = terminal.refund("r-1", 300_00, paid.rrn)
    assert part.approved and part.operation == "refund" and part.card_mask == paid.card_mask
    assert "ВОЗВРАТ" in part.slip and part.rrn != paid.rrn
    error = refused(CardErrorCode.INVALID, terminal.refund, "r-2", 700_01, paid.rrn)
    assert "не больше 700,00 руб." in error.message
    assert terminal.find("r-2") is None  # a refusal records nothing
    assert terminal.refund("r-2", 700_00, paid.rrn).approved
    refused(CardErrorCode.INVALID, terminal.refund, "r-3", 1, paid.rrn)
    assert terminal.refund("r-1", 300_00, paid.rrn) == part


def test_refund_of_an_unknown_or_declined_payment(
    emulator: RunningCardTerminal, terminal: HttpCardTerminal
) -> None:
    error = refused(CardErrorCode.INVALID, terminal.refund, "r-1", 100, "999999999999")
    assert "не найдена" in error.message
    emulator.terminal.set_mode("decline", count=1)
    declined = terminal.pay("p-1", 100)
    refused(CardErrorCode.INVALID, terminal.refund, "r-1", 100, declined.rrn)
    paid = terminal.pay("p-2", 100)
    refund = terminal.refund("r-2", 100, paid.rrn)
    refused(CardErrorCode.INVALID, terminal.refund, "r-3", 100, refund.rrn)  # not a payment


def test_declined_refund_does_not_count(emulator: RunningCardTerminal, terminal: HttpCardTerminal) -> None:
    paid = terminal.pay("p-1", 100)
    emulator.terminal.set_mode("decline", count=1)
    assert not terminal.refund("r-1", 100, paid.rrn).approved
    assert terminal.refund("r-2", 100, paid.rrn).approved


def test_cancel_voids_the_whole_payment(terminal: HttpCardTerminal) -> None:
    paid = terminal.pay("p-1", 777_00)
    error = refused(CardErrorCode.INVALID, terminal.cancel, "c-1", paid.rrn, 700_00)
    assert "всю сумму" in error.message
    cancelled = terminal.cancel("c-1", paid.rrn, 777_00)
    assert cancelled.approved and cancelled.operation == "cancel" and "ОТМЕНА" in cancelled.slip
    assert terminal.cancel("c-1", paid.rrn, 777_00) == cancelled
    refused(CardErrorCode.INVALID, terminal.cancel, "c-2", paid.rrn, 777_00)
    refused(CardErrorCode.INVALID, terminal.refund, "r-1", 1, paid.rrn)


def test_no_cancel_after_a_refund(terminal: HttpCardTerminal) -> None:
    paid = terminal.pay("p-1", 100_00)
    terminal.refund("r-1", 10_00, paid.rrn)
    refused(CardErrorCode.INVALID, terminal.cancel, "c-1", paid.rrn, 100_00)


def test_cancel_only_on_the_day_of_the_payment(tmp_path: Path) -> None:
    now = [datetime(2026, 3, 2, 23, 50, tzinfo=timezone(timedelta(hours=3)))]
    with (
        start_card_emulator(tmp_path, clock=lambda: now[0]) as running,
        HttpCardTerminal(running.url, timeout=5) as driver,
    ):
        paid = driver.pay("p-1", 100)
        assert paid.rrn.startswith("606123")  # 2026, day 061, 23 h
        now[0] += timedelta(minutes=15)
        error = refused(CardErrorCode.INVALID, driver.cancel, "c-1", paid.rrn, 100)
        assert "оформите возврат" in error.message
        assert driver.refund("r-1", 100, paid.rrn).approved


def test_bad_requests_are_invalid(terminal: HttpCardTerminal) -> None:
    refused(CardErrorCode.INVALID, terminal.pay, "p-1", 0)
    refused(CardErrorCode.INVALID, terminal.pay, "p-1", -5)
    refused(CardErrorCode.INVALID, terminal.pay, "", 5)
    refused(CardErrorCode.INVALID, terminal.pay, "x" * 101, 5)
    refused(CardErrorCode.INVALID, terminal.refund, "r-1", 5, "")
    refused(CardErrorCode.INVALID, terminal.pay, "p-1", 1.5)  # type: ignore[arg-type]
    refused(CardErrorCode.INVALID, terminal.find, "")
    assert terminal.find("p-1") is None
    assert terminal.find("a/b?c d") is None  # any key travels safely in the URL


def test_journal_survives_a_restart(tmp_path: Path) -> None:
    with start_card_emulator(tmp_path) as running, HttpCardTerminal(running.url, timeout=5) as driver:
        paid = driver.pay("p-1", 1000_00)
        refund = driver.refund("r-1", 400_00, paid.rrn)
        running.terminal.set_mode("decline", count=1)
        declined = driver.pay("p-2", 5_00)
    journal = tmp_path / JOURNAL_FILE
    assert len(journal.read_text().splitlines()) == 3
    with journal.open("ab") as file:
        file.write(b'{"key": "torn')  # a crash mid-write: never acknowledged
    with start_card_emulator(tmp_path) as running, HttpCardTerminal(running.url, timeout=5) as driver:
        assert driver.find("p-1") == paid
        assert driver.find("r-1") == refund
        assert driver.find("p-2") == declined
        assert driver.pay("p-1", 1000_00) == paid
        refused(CardErrorCode.INVALID, driver.refund, "r-2", 600_01, paid.rrn)  # the limit remembers
        second = driver.refund("r-2", 600_00, paid.rrn)
        assert second.rrn not in {paid.rrn, refund.rrn, declined.rrn}
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    assert [r["key"] for r in records] == ["p-1", "r-1", "p-2", "r-2"]
    assert records[1]["original_rrn"] == paid.rrn


def test_a_damaged_journal_is_not_silently_skipped(tmp_path: Path) -> None:
    (tmp_path / JOURNAL_FILE).write_text('{"key": "p-1"\n{}\n')
    with pytest.raises(JournalError, match="line 1"):
        start_card_emulator(tmp_path)


def test_unreachable_terminal(tmp_path: Path) -> None:
    with start_card_emulator(tmp_path) as running:
        url = running.url
    with HttpCardTerminal(url, timeout=1, connect_timeout=0.5) as driver:
        error = refused(CardErrorCode.UNREACHABLE, driver.pay, "p-1", 100)
        assert "недоступен" in error.message
        refused(CardErrorCode.UNREACHABLE, driver.find, "p-1")


def test_something_else_at_the_address(emulator: RunningCardTerminal) -> None:
    with HttpCardTerminal(emulator.url + "/nothing", timeout=5) as driver:
        refused(CardErrorCode.UNREACHABLE, driver.pay, "p-1", 100)


def test_server_failure_leaves_the_outcome_unknown() -> None:
    transport = httpx.MockTransport(lambda _request: httpx.Response(500, text="boom"))
    with HttpCardTerminal("http://terminal", transport=transport) as driver:
        error = refused(CardErrorCode.TIMEOUT, driver.pay, "p-1", 100)
        assert "исход неизвестен" in error.message


def test_an_answer_about_another_operation_is_not_trusted() -> None:
    other = {"key": "p-2", "operation": "pay", "approved": True, "amount": 100, "message": "ОДОБРЕНО"}
    transport = httpx.MockTransport(lambda _request: httpx.Response(200, json=other))
    with HttpCardTerminal("http://terminal", transport=transport) as driver:
        refused(CardErrorCode.TIMEOUT, driver.pay, "p-1", 100)


def test_cli_runs_the_emulator_until_terminated(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [*OSUITE, "devices", "emulate", "card", "--port", str(port), "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        printed(process, f"Card terminal emulator on http://127.0.0.1:{port}")
        with HttpCardTerminal(f"http://127.0.0.1:{port}", timeout=5, connect_timeout=0.5) as driver:
            assert driver.pay("p-1", 100).approved
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert json.loads((tmp_path / JOURNAL_FILE).read_text())["key"] == "p-1"
