"""The emulated registrar's fiscal memory: it survives a restart, a crash in the middle of a write, and
refuses to start on a journal that was altered."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from osuite.devices import registrar_journal
from osuite.devices.atol_wire import loads
from osuite.devices.fiscal import FiscalError, FiscalErrorCode
from osuite.devices.registrar_emulator import RegistrarEmulator
from osuite.devices.registrar_journal import JournalDamaged
from tests.devices.registrar_bench import CASHIER, Bench, item, receipt


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    bench = Bench(tmp_path)
    yield bench
    bench.close()


def a_day(bench: Bench) -> None:
    bench.driver.open_shift(CASHIER)
    bench.driver.cash("float", "in", 50000, CASHIER)
    bench.driver.register(receipt("sale-1", [item(price=12345)], [("cash", 15000)]))
    bench.driver.register(receipt("sale-2", [item(price=5000)], [("card", 5000)]))
    bench.driver.x_report(CASHIER)


def lasting_state(bench: Bench) -> dict[str, object]:
    state = bench.registrar.emulator.snapshot()
    for passing in ("now", "clock_offset_hours", "printer", "fault"):
        del state[passing]
    return state


def test_a_restart_keeps_counters_marks_and_the_open_shift(bench: Bench) -> None:
    a_day(bench)
    marks = {key: bench.driver.find(key) for key in ("float", "sale-1", "sale-2")}
    before = lasting_state(bench)
    identity = bench.registrar.emulator.identity

    bench.restart()

    assert lasting_state(bench) == before
    assert bench.registrar.emulator.identity == identity
    assert {key: bench.driver.find(key) for key in marks} == marks
    assert bench.driver.register(receipt("sale-1", [item(price=12345)], [("cash", 15000)])) == marks["sale-1"]
    status = bench.driver.status()
    assert status.shift_open and status.shift_number == 1 and status.cash_in_drawer == 50000 + 12345
    nxt = bench.driver.register(receipt("sale-3"))
    assert (nxt.document_number, nxt.number_in_shift) == (5, 3)
    z = bench.driver.close_shift(CASHIER)
    assert z.totals.sales_count == 3 and z.totals.sales_sum == 12345 + 5000 + 4500


def test_a_torn_last_line_is_ignored_and_cut_off(bench: Bench) -> None:
    a_day(bench)
    before = lasting_state(bench)
    whole = bench.journal.read_bytes()
    torn = b'{"uuid":"sale-4","digest":"00","at":"2026-11-24T09:00:00+03:00","documents":[{"type":"se'
    bench.registrar.stop()
    bench.journal.write_bytes(whole + torn)

    bench.restart()

    assert lasting_state(bench) == before
    assert bench.journal.read_bytes() == whole
    assert bench.driver.find("sale-4") is None
    mark = bench.driver.register(receipt("sale-4"))
    assert mark.document_number == 5
    bench.restart()
    assert bench.driver.find("sale-4") == mark
    assert len(bench.journal.read_bytes().splitlines()) == len(whole.splitlines()) + 1


def test_a_complete_line_without_its_newline_was_never_answered(bench: Bench) -> None:
    a_day(bench)
    lines = bench.journal.read_bytes().splitlines(keepends=True)
    bench.registrar.stop()
    bench.journal.write_bytes(b"".join(lines[:-1]) + lines[-1].rstrip(b"\n"))
    bench.restart()
    assert bench.registrar.emulator.snapshot()["documents"] == len(lines) - 1


def test_an_altered_journal_stops_the_registrar(bench: Bench) -> None:
    a_day(bench)
    bench.registrar.stop()
    text = bench.journal.read_text(encoding="utf-8")
    bench.journal.write_text(text.replace('"total":12345', '"total":1234', 1), encoding="utf-8")
    with pytest.raises(JournalDamaged, match="fiscal sign of document 3"):
        RegistrarEmulator(bench.root / "registrar")
    bench.journal.write_text(text.replace("\n", "\n{oops\n", 1), encoding="utf-8")
    with pytest.raises(JournalDamaged, match="line 2"):
        RegistrarEmulator(bench.root / "registrar")
    bench.journal.write_text(text, encoding="utf-8")
    bench.restart()  # the bench's own teardown stops this one


def test_every_document_is_in_the_journal_with_its_sign_and_totals(bench: Bench) -> None:
    a_day(bench)
    bench.driver.close_shift(CASHIER)
    records = [loads(line) for line in bench.journal.read_bytes().splitlines()]
    documents = [document for record in records for document in record["documents"]]
    kinds = [document["type"] for document in documents]
    assert kinds == ["openShift", "cashIn", "sell", "sell", "reportX", "closeShift"]
    numbered = [document for document in documents if document["number"]]
    assert [document["number"] for document in numbered] == [1, 2, 3, 4, 5]
    assert all(len(document["sign"]) == 10 and document["sign"].isdigit() for document in numbered)
    z = documents[-1]
    assert z["counters"]["sell"] == {
        "count": 2,
        "sum": 17345,
        "payments": {"cash": 12345, "electronically": 5000},
    }
    assert z["counters"]["cashDrawer"] == 62345
    assert records[2]["uuid"] == "sale-1" and records[2]["results"][0]["status"] == "ready"


class _DiskFull:
    """``os`` as the journal sees it, with a disk that fills up at the next fsync."""

    def __getattr__(self, name: str) -> object:
        return getattr(os, name)

    @staticmethod
    def fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")


def test_a_journal_that_cannot_be_written_registers_nothing(
    bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    a_day(bench)
    before = bench.counters()
    monkeypatch.setattr(registrar_journal, "os", _DiskFull())
    with pytest.raises(FiscalError) as caught:
        bench.driver.register(receipt("disk-full"))
    assert caught.value.code is FiscalErrorCode.UNREACHABLE  # the POS will ask find() before retrying
    assert bench.counters() == before
    assert bench.driver.find("disk-full") is None
    monkeypatch.undo()
    assert bench.driver.register(receipt("disk-full")).document_number == 5
    bench.restart()
    assert bench.driver.find("disk-full") is not None
