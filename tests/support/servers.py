"""Real servers on loopback for end-to-end tests: started as `osuite <program> serve` processes."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def printed(process: subprocess.Popen[str], text: str, timeout: float = 20.0) -> str:
    """What ``process`` printed up to the line that contains ``text`` (a program's banner saying it is
    ready); start it with ``PYTHONUNBUFFERED=1`` so each line arrives when printed."""
    assert process.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if select.select([process.stdout], [], [], 0.1)[0]:
            line = process.stdout.readline()
            if not line:
                break
            seen.append(line)
            if text in line:
                return "".join(seen)
    raise AssertionError(f"{text!r} was not printed; got {''.join(seen)!r}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """``osuite <program> serve`` in a child process that a test can kill -9 and start again."""

    def __init__(
        self,
        program: str,
        data_dir: Path,
        database_url: str,
        *,
        port: int | None = None,
        extra: list[str] | None = None,
    ) -> None:
        self.program = program
        self.data_dir = data_dir
        self.database_url = database_url
        self.port = port or free_port()
        self.extra = extra or []
        self.process: subprocess.Popen[bytes] | None = None
        self.log = data_dir / f"{program}-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str) -> str:
        """Run ``osuite <program> ARGS`` against this server's database; its standard output."""
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "osuite",
                self.program,
                *args,
                "--data-dir",
                str(self.data_dir),
                "--database-url",
                self.database_url,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"osuite {self.program} {' '.join(args)} failed: {done.stderr}")
        return done.stdout.strip()

    def start(self) -> ServerProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.log.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "osuite",
                self.program,
                "serve",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
                "--database-url",
                self.database_url,
                *self.extra,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.wait_healthy()
        return self

    def wait_healthy(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.program} exited: {self.log.read_text(errors='replace')[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(
            f"{self.program} did not become healthy: {self.log.read_text(errors='replace')[-3000:]}"
        )

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flush; what was committed must survive."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None
