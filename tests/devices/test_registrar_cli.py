"""``osuite devices emulate registrar`` and ``… printer`` as a store's IT person runs them: real processes
on real ports, a sale through the driver, the receipt in the printer's data directory, Ctrl-C (SIGTERM)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import httpx
from typer.testing import CliRunner

from osuite.cli import app
from osuite.devices.atol import AtolRegistrar
from osuite.devices.fiscal import FiscalError
from tests.devices.registrar_bench import CASHIER, receipt
from tests.support.servers import free_port

OSUITE = (sys.executable, "-m", "osuite")
T = TypeVar("T")


@contextmanager
def running(*args: str) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [*OSUITE, "devices", "emulate", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=10)
        assert process.returncode == 0, err


def eventually(call: Callable[[], T], *processes: subprocess.Popen[str]) -> T:
    deadline = time.monotonic() + 20
    while True:
        try:
            return call()
        except (FiscalError, httpx.HTTPError):
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                raise
            time.sleep(0.1)


def test_help_explains_itself() -> None:
    runner = CliRunner()
    registrar = runner.invoke(app, ["devices", "emulate", "registrar", "--help"], terminal_width=200)
    assert registrar.exit_code == 0
    for words in ("ATOL", "16732", "--printer", "fiscal-journal.jsonl", "24 hours", "/emulator/state"):
        assert words in registrar.output
    printer = runner.invoke(app, ["devices", "emulate", "printer", "--help"], terminal_width=200)
    assert printer.exit_code == 0
    for words in ("ESC/POS", "9100", "printed.txt", "paper", "--control-port"):
        assert words in printer.output


def test_a_bad_printer_address_is_a_one_line_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["devices", "emulate", "registrar", "--data-dir", str(tmp_path), "--printer", "host:port"]
    )
    assert result.exit_code == 2
    assert "--printer" in result.output and "Traceback" not in result.output


def test_registrar_prints_on_printer_as_processes(tmp_path: Path) -> None:
    printer_port, control_port, registrar_port = free_port(), free_port(), free_port()
    printer_dir, registrar_dir = tmp_path / "printer", tmp_path / "registrar"
    printer_args = [
        "--port",
        str(printer_port),
        "--control-port",
        str(control_port),
        "--data-dir",
        str(printer_dir),
    ]
    registrar_args = ["--port", str(registrar_port), "--data-dir", str(registrar_dir)]
    with (
        running("printer", *printer_args) as printer,
        running("registrar", *registrar_args, "--printer", f"127.0.0.1:{printer_port}") as registrar,
        AtolRegistrar(f"http://127.0.0.1:{registrar_port}", timeout=5, connect_timeout=0.5) as driver,
    ):
        eventually(driver.status, printer, registrar)
        eventually(lambda: httpx.get(f"http://127.0.0.1:{control_port}/state"), printer)
        driver.open_shift(CASHIER)
        mark = driver.register(receipt("cli-sale"))
        assert mark.document_number == 2
        last = httpx.get(f"http://127.0.0.1:{control_port}/jobs/last").text
        assert "КАССОВЫЙ ЧЕК" in last and "=45.00" in last
    printed = (printer_dir / "printed.txt").read_text(encoding="utf-8")
    assert "ОТЧЁТ ОБ ОТКРЫТИИ СМЕНЫ" in printed and f"ФП {mark.fiscal_sign}" in printed
    assert (registrar_dir / "fiscal-journal.jsonl").read_bytes().count(b"\n") == 2
