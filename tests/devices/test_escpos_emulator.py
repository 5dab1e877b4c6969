"""The network ESC/POS printer emulator: status bytes as the ESC/POS reference gives them (checked with our
client and with python-escpos's own), jobs kept in memory and in its data directory, its control channel."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from escpos.printer import Network

from osuite.devices.escpos_emulator import PrinterEmulator, start_printer_emulator
from osuite.devices.escpos_net import NetworkPrinter, PrinterStatus, PrinterUnreachable, parse_address
from osuite.devices.receipt_layout import render_text


@pytest.fixture
def printer(tmp_path: Path) -> Iterator[PrinterEmulator]:
    emulator = start_printer_emulator(tmp_path / "printer")
    yield emulator
    emulator.stop()


def ask(printer: PrinterEmulator, *ns: int) -> bytes:
    with socket.create_connection(("127.0.0.1", printer.port), timeout=2) as conn:
        conn.sendall(b"".join(b"\x10\x04" + bytes([n]) for n in ns))
        answer = b""
        while len(answer) < len(ns):
            answer += conn.recv(16)
        return answer


@pytest.mark.parametrize(
    ("state", "answers"),
    [
        ({}, b"\x12\x12\x12\x12"),
        ({"paper": False}, b"\x1a\x32\x12\x72"),
        ({"cover_open": True}, b"\x1a\x16\x12\x12"),
        ({"paper_near_end": True}, b"\x12\x12\x12\x1e"),
    ],
)
def test_dle_eot_answers(printer: PrinterEmulator, state: dict[str, bool], answers: bytes) -> None:
    printer.set_state(**state)
    assert ask(printer, 1, 2, 3, 4) == answers


def test_our_client_and_python_escpos_read_the_same_status(printer: PrinterEmulator) -> None:
    client = NetworkPrinter("127.0.0.1", printer.port)
    assert client.status() == PrinterStatus(
        online=True, paper_out=False, cover_open=False, paper_near_end=False
    )
    library = Network("127.0.0.1", printer.port, timeout=2)
    library.open()
    try:
        assert library.is_online() and library.paper_status() == 2
        printer.set_state(paper_near_end=True)
        assert library.paper_status() == 1
        printer.set_state(paper=False)
        assert not library.is_online() and library.paper_status() == 0
    finally:
        library.close()
    assert client.status() == PrinterStatus(
        online=False, paper_out=True, cover_open=False, paper_near_end=True
    )
    printer.set_state(paper=True, paper_near_end=False, cover_open=True)
    assert client.status() == PrinterStatus(
        online=False, paper_out=False, cover_open=True, paper_near_end=False
    )


def test_a_job_is_kept_in_memory_and_on_disk(printer: PrinterEmulator, tmp_path: Path) -> None:
    NetworkPrinter("127.0.0.1", printer.port).send(render_text(["Первая строка", "ИТОГ =123.45"]))
    (job,) = printer.wait_for_jobs(1)
    assert job.printed and job.done and job.parsed.cuts == 1
    assert job.text.startswith("Первая строка\nИТОГ =123.45\n")
    assert printer.printed_text() == job.text == printer.last_text()
    (record,) = [
        json.loads(line) for line in (tmp_path / "printer" / "jobs.jsonl").read_text("utf-8").splitlines()
    ]
    assert record["number"] == 1 and record["text"] == job.text and record["printed"]
    assert "ИТОГ =123.45" in (tmp_path / "printer" / "printed.txt").read_text("utf-8")


def test_status_only_connections_are_not_jobs(printer: PrinterEmulator) -> None:
    NetworkPrinter("127.0.0.1", printer.port).status()
    assert printer.jobs == []


def test_a_job_while_out_of_paper_is_recorded_but_not_printed(
    printer: PrinterEmulator, tmp_path: Path
) -> None:
    printer.set_state(paper=False)
    NetworkPrinter("127.0.0.1", printer.port).send(render_text(["не будет напечатано"]))
    (job,) = printer.wait_for_jobs(1)
    assert not job.printed and "не будет напечатано" in job.text
    assert printer.printed_text() == ""
    assert not (tmp_path / "printer" / "printed.txt").exists()


def test_job_numbers_continue_after_a_restart(tmp_path: Path) -> None:
    for expected in (1, 2):
        emulator = start_printer_emulator(tmp_path / "printer")
        try:
            NetworkPrinter("127.0.0.1", emulator.port).send(render_text([f"job {expected}"]))
            assert [job.number for job in emulator.wait_for_jobs(1)] == [expected]
        finally:
            emulator.stop()


def test_the_control_channel(printer: PrinterEmulator) -> None:
    assert printer.control_url is not None
    with httpx.Client(base_url=printer.control_url) as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        state = http.post("/state", json={"cover_open": True}).json()
        assert state["cover_open"] and state["paper"] and state["address"] == printer.address
        assert NetworkPrinter("127.0.0.1", printer.port).status().cover_open
        assert http.post("/state", json={"cover_open": "yes"}).status_code == 422
        assert http.post("/state", json={"colour": "red"}).status_code == 422
        http.post("/state", json={"cover_open": False})
        NetworkPrinter("127.0.0.1", printer.port).send(render_text(["Чек 1"]))
        NetworkPrinter("127.0.0.1", printer.port).send(render_text(["Чек 2"]))
        printer.wait_for_jobs(2)
        jobs = http.get("/jobs").json()
        assert [job["number"] for job in jobs] == [1, 2] and jobs[1]["text"].startswith("Чек 2\n")
        assert [job["number"] for job in http.get("/jobs", params={"since": 1}).json()] == [2]
        assert http.get("/jobs/last").text.startswith("Чек 2\n")
        assert http.delete("/jobs").json()["jobs"] == 0
        assert http.get("/nowhere").status_code == 404


def test_a_printer_that_is_not_there() -> None:
    with pytest.raises(PrinterUnreachable):
        NetworkPrinter("127.0.0.1", 9, timeout=0.5).status()


def test_something_that_is_not_a_printer(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]

        def babble() -> None:
            conn, _ = server.accept()
            with conn:
                conn.recv(16)
                conn.sendall(b"HTTP")

        thread = threading.Thread(target=babble, daemon=True)
        thread.start()
        with pytest.raises(PrinterUnreachable, match="48 54 54"):
            NetworkPrinter("127.0.0.1", port, timeout=2).status()
        thread.join(2)


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("10.0.0.5:9100", ("10.0.0.5", 9100)),
        ("printer.local", ("printer.local", 9100)),
        ("[::1]:9101", ("::1", 9101)),
        ("::1", ("::1", 9100)),
    ],
)
def test_printer_addresses(text: str, address: tuple[str, int]) -> None:
    assert parse_address(text) == address


@pytest.mark.parametrize("text", ["", ":9100", "host:port", "host:70000"])
def test_bad_printer_addresses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_address(text)
