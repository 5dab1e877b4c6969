"""A network ESC/POS receipt printer in software: listens on TCP (port 9100, as real ones do), records
every job it is sent, renders the text it would print, and answers DLE EOT status requests from its
paper and cover state, which tests and the demo set.

Each connection that sends anything printable is one job, kept in memory and, when the printer has a data
directory, appended to ``jobs.jsonl`` there (one JSON object per job: number, time, sender, whether it
was printed, the text, cuts, drawer kicks, QR codes, the raw bytes in base64) and to ``printed.txt``
(the text as a person would read it off the paper). A job sent while the paper is out or the cover open
is recorded with ``printed: false``, as a real printer would not print it.

Control channel: an HTTP server on its own port (``control_port``):
``GET /state`` → ``{"paper", "paper_near_end", "cover_open", "jobs", "address"}``; ``POST /state`` with
any of ``{"paper": false, "paper_near_end": true, "cover_open": true}`` changes it; ``GET /jobs``
(``?since=N`` for jobs after number N) lists the jobs; ``GET /jobs/last`` answers the last job's text;
``DELETE /jobs`` forgets the jobs in memory; ``GET /healthz``.
"""

from __future__ import annotations

import base64
import json
import socketserver
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from osuite.devices.escpos_net import (
    COVER_OPEN,
    OFFLINE,
    PAPER_END,
    PAPER_NEAR_END,
    STATUS_OFFLINE_CAUSE,
    STATUS_PAPER,
    STATUS_PRINTER,
    STOPPED_AT_PAPER_END,
)
from osuite.devices.escpos_parse import EscPosStream, Parsed

DEFAULT_PORT = 9100
JOBS_FILE = "jobs.jsonl"
PRINTED_FILE = "printed.txt"
_BASE_STATUS = 0x12  # bits 1 and 4 are always set in a DLE EOT answer


@dataclass
class PrintJob:
    """One connection's worth of printing."""

    number: int
    at: datetime
    peer: str
    printed: bool
    data: bytearray = field(default_factory=bytearray)
    parsed: Parsed = field(default_factory=Parsed)
    done: bool = False

    @property
    def text(self) -> str:
        return self.parsed.text

    def as_json(self, *, with_data: bool = False) -> dict[str, Any]:
        record: dict[str, Any] = {
            "number": self.number,
            "at": self.at.isoformat(),
            "peer": self.peer,
            "printed": self.printed,
            "done": self.done,
            "cuts": self.parsed.cuts,
            "drawer_kicks": self.parsed.drawer_kicks,
            "qr_codes": list(self.parsed.qr_codes),
            "text": self.text,
            "bytes": len(self.data),
        }
        if with_data:
            record["data"] = base64.b64encode(bytes(self.data)).decode("ascii")
        return record


class PrinterEmulator:
    """The emulated printer; ``start()`` it, point the registrar at ``address``, read ``jobs``."""

    def __init__(
        self,
        data_dir: Path | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        control_port: int | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.host = host
        self._requested_port = port
        self._requested_control_port = control_port
        self.paper = True
        self.paper_near_end = False
        self.cover_open = False
        self._jobs: list[PrintJob] = []
        self._numbered = 0
        self._lock = threading.Condition()
        self._server: socketserver.ThreadingTCPServer | None = None
        self._control: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        if data_dir is not None:
            data_dir.mkdir(parents=True, exist_ok=True)
            self._numbered = _count_lines(data_dir / JOBS_FILE)

    # --- life cycle

    def start(self) -> PrinterEmulator:
        self._server = _TcpServer((self.host, self._requested_port), _handler(self))
        self._serve(self._server, "printer-emulator")
        if self._requested_control_port is not None:
            self._control = ThreadingHTTPServer(
                (self.host, self._requested_control_port), _control_handler(self)
            )
            self._control.daemon_threads = True
            self._serve(self._control, "printer-emulator-control")
        return self

    def stop(self) -> None:
        for server in (self._server, self._control):
            if server is not None:
                server.shutdown()
                server.server_close()
        for thread in self._threads:
            thread.join(5)
        self._server = self._control = None
        self._threads = []

    def __enter__(self) -> PrinterEmulator:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "the printer emulator is not started"
        return int(self._server.server_address[1])

    @property
    def address(self) -> str:
        """``host:port``, as the registrar emulator's ``printer`` setting takes it."""
        return f"{self.host}:{self.port}"

    @property
    def control_url(self) -> str | None:
        if self._control is None:
            return None
        return f"http://{self.host}:{self._control.server_address[1]}"

    # --- what tests read and set

    def set_state(
        self, *, paper: bool | None = None, cover_open: bool | None = None, paper_near_end: bool | None = None
    ) -> None:
        with self._lock:
            if paper is not None:
                self.paper = paper
            if cover_open is not None:
                self.cover_open = cover_open
            if paper_near_end is not None:
                self.paper_near_end = paper_near_end

    @property
    def jobs(self) -> list[PrintJob]:
        with self._lock:
            return list(self._jobs)

    def printed_text(self) -> str:
        """The text of every job that was printed, in order."""
        return "".join(job.text for job in self.jobs if job.printed)

    def last_text(self) -> str:
        jobs = self.jobs
        return jobs[-1].text if jobs else ""

    def wait_for_jobs(self, count: int, timeout: float = 5.0) -> list[PrintJob]:
        """At least ``count`` finished jobs (the connection closed), waiting up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while sum(job.done for job in self._jobs) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{count} print jobs expected, {len(self._jobs)} arrived")
                self._lock.wait(left)
            return list(self._jobs)

    def clear(self) -> None:
        with self._lock:
            self._jobs.clear()

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "paper": self.paper,
                "paper_near_end": self.paper_near_end,
                "cover_open": self.cover_open,
                "jobs": len(self._jobs),
                "address": self.address if self._server else None,
            }

    def status_byte(self, n: int) -> int:
        """The answer to DLE EOT ``n`` in the current state."""
        with self._lock:
            paper_out, cover = not self.paper, self.cover_open
            near_end = self.paper_near_end
        if n == STATUS_PRINTER:
            return _BASE_STATUS | (OFFLINE if paper_out or cover else 0)
        if n == STATUS_OFFLINE_CAUSE:
            return _BASE_STATUS | (COVER_OPEN if cover else 0) | (STOPPED_AT_PAPER_END if paper_out else 0)
        if n == STATUS_PAPER:
            return _BASE_STATUS | (PAPER_END if paper_out else 0) | (PAPER_NEAR_END if near_end else 0)
        return _BASE_STATUS

    # --- inside

    def _serve(self, server: socketserver.BaseServer, name: str) -> None:
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name=name, daemon=True
        )
        thread.start()
        self._threads.append(thread)

    def _job(self, peer: str) -> PrintJob:
        with self._lock:
            self._numbered += 1
            job = PrintJob(
                self._numbered, datetime.now().astimezone(), peer, self.paper and not self.cover_open
            )
            self._jobs.append(job)
            return job

    def _finish(self, job: PrintJob) -> None:
        if self.data_dir is not None:
            with (self.data_dir / JOBS_FILE).open("a", encoding="utf-8") as file:
                file.write(json.dumps(job.as_json(with_data=True), ensure_ascii=False) + "\n")
            if job.printed:
                with (self.data_dir / PRINTED_FILE).open("a", encoding="utf-8") as file:
                    file.write(
                        f"===== job {job.number} from {job.peer} at {job.at:%Y-%m-%d %H:%M:%S} =====\n"
                    )
                    file.write(job.text.rstrip("\n") + "\n\n")
        with self._lock:
            job.done = True
            self._lock.notify_all()


class _TcpServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    block_on_close = False


def _handler(printer: PrinterEmulator) -> type[socketserver.BaseRequestHandler]:
    class Connection(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            stream = EscPosStream()
            job: PrintJob | None = None
            peer = "{}:{}".format(*self.client_address[:2])
            self.request.settimeout(60)
            try:
                while chunk := self.request.recv(65536):
                    requests = stream.feed(chunk)
                    if job is None and stream.parsed.printable:
                        job = printer._job(peer)
                        job.parsed = stream.parsed
                    if job is not None:
                        job.data += chunk
                    if requests:
                        self.request.sendall(bytes(printer.status_byte(n) for n in requests))
            except OSError:
                pass
            finally:
                if job is not None:
                    printer._finish(job)

    return Connection


def _control_handler(printer: PrinterEmulator) -> type[BaseHTTPRequestHandler]:
    class Control(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/healthz":
                self._json({"status": "ok"})
            elif url.path == "/state":
                self._json(printer.state())
            elif url.path == "/jobs":
                since = int(parse_qs(url.query).get("since", ["0"])[0] or 0)
                self._json([job.as_json() for job in printer.jobs if job.number > since])
            elif url.path == "/jobs/last":
                self._send(HTTPStatus.OK, printer.last_text().encode("utf-8"), "text/plain; charset=utf-8")
            else:
                self._json({"title": "not found", "status": 404}, HTTPStatus.NOT_FOUND)

        def do_POST(self) -> None:
            if urlsplit(self.path).path != "/state":
                self._json({"title": "not found", "status": 404}, HTTPStatus.NOT_FOUND)
                return
            try:
                change = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                if not isinstance(change, dict) or not all(
                    key in ("paper", "paper_near_end", "cover_open") and isinstance(value, bool)
                    for key, value in change.items()
                ):
                    raise ValueError("expected {paper, paper_near_end, cover_open} as true/false")
            except ValueError as exc:
                problem = {"title": "bad printer state", "status": 422, "detail": str(exc)}
                self._json(problem, HTTPStatus.UNPROCESSABLE_ENTITY)
                return
            printer.set_state(**change)
            self._json(printer.state())

        def do_DELETE(self) -> None:
            if urlsplit(self.path).path != "/jobs":
                self._json({"title": "not found", "status": 404}, HTTPStatus.NOT_FOUND)
                return
            printer.clear()
            self._json(printer.state())

        def _json(self, body: Any, status: HTTPStatus = HTTPStatus.OK) -> None:
            self._send(status, json.dumps(body, ensure_ascii=False).encode("utf-8"), "application/json")

        def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Control


def _count_lines(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open("rb") as file:
        return sum(1 for _ in file)


def start_printer_emulator(
    data_dir: Path | None = None, *, host: str = "127.0.0.1", port: int = 0, control_port: int | None = 0
) -> PrinterEmulator:
    """A started printer emulator on ``host:port`` (0: a free port), with its control channel on
    ``control_port`` (0: a free port; None: none). Stop it with ``stop()``."""
    return PrinterEmulator(data_dir, host=host, port=port, control_port=control_port).start()
