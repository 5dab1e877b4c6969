"""The license server in-process with a clock the test moves, and as a real `osuite license serve`."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient

from osuite.license.app import build_app
from osuite.license.settings import LicenseSettings
from tests.license.support import write_license
from tests.support.servers import ServerProcess, free_port


@dataclass
class ServerClock:
    now: datetime = field(default_factory=lambda: datetime(2026, 3, 2, 9, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class FakeClock:
    """A keeper's clocks, each moved by the test: the wall clock may jump either way, the monotonic
    one only forward."""

    wall_now: datetime = field(default_factory=lambda: datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    mono_now: float = 1000.0

    def wall(self) -> datetime:
        return self.wall_now

    def monotonic(self) -> float:
        return self.mono_now

    def run(self, **delta: float) -> None:
        """Time passes: both clocks move."""
        step = timedelta(**delta)
        self.wall_now += step
        self.mono_now += step.total_seconds()


@pytest.fixture
def server_clock() -> ServerClock:
    return ServerClock()


@pytest.fixture
def license_settings(tmp_path: Path, db_url: str) -> LicenseSettings:
    lic, pub = write_license(tmp_path / "vendor")
    return LicenseSettings(
        data_dir=tmp_path / "license", database_url=db_url, license_file=lic, public_key_file=pub
    )


@pytest.fixture
def api(license_settings: LicenseSettings, server_clock: ServerClock) -> Iterator[TestClient]:
    """The license server in-process (pos 10, scales 1, processing_subordinate 2), its clock moved by
    the test."""
    with TestClient(build_app(license_settings, clock=server_clock)) as client:
        yield client


def serve_license(tmp_path: Path, db_url: str, **license: object) -> ServerProcess:
    """`osuite license serve` as a real process with a license made for the test."""
    lic, pub = write_license(tmp_path / "vendor", **license)
    return ServerProcess(
        "license", tmp_path / "license", db_url, extra=["--license", str(lic), "--public-key", str(pub)]
    )


class ThreadServer:
    """The license server's app served by uvicorn in a thread of the test: a real HTTP server that
    starts in a moment, stops (the server "down") and starts again on the same port and database."""

    def __init__(self, settings: LicenseSettings) -> None:
        self.settings = settings
        self.port = free_port()
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ThreadServer:
        config = uvicorn.Config(
            build_app(self.settings), host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="license-server", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert self.thread.is_alive(), "the license server did not start"
            assert time.monotonic() < deadline, "the license server did not start in time"
            time.sleep(0.01)
        return self

    def kill(self) -> None:
        if self.server is not None and self.thread is not None:
            self.server.should_exit = True
            self.thread.join(timeout=20)
        self.server = self.thread = None

    stop = kill
