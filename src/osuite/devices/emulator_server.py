"""Running a device emulator's HTTP app under uvicorn on a background thread, so a test, the demo or a
CLI command starts an emulator in-process on a real socket and stops it again.

The socket is bound before the thread starts: asking for port 0 gets a free port with no race
between choosing it and binding it, and the caller knows the address as soon as ``start`` returns.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Protocol

import uvicorn
from starlette.types import ASGIApp


def bind(host: str, port: int, *, listen: bool = False) -> socket.socket:
    """A TCP socket bound to ``host:port`` (0: any free port), as a server binds it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        if listen:
            sock.listen(64)
    except BaseException:
        sock.close()
        raise
    return sock


class ServerThread:
    """An ASGI app served by uvicorn on ``sock`` in a daemon thread."""

    def __init__(self, app: ASGIApp, sock: socket.socket, *, name: str = "emulator") -> None:
        self._sock = sock
        host, port = sock.getsockname()[:2]
        self.host: str = host
        self.port: int = port
        config = uvicorn.Config(
            app,
            log_config=None,  # leave the process's logging as the caller set it up
            access_log=False,
            lifespan="off",
            ws="none",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=name, daemon=True
        )

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, timeout: float = 10.0) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._sock.close()
                raise RuntimeError(f"the emulator on {self.url} did not start")
            time.sleep(0.01)
        return self

    def stop(self, grace: float = 1.0) -> None:
        """Stop serving; requests still running after ``grace`` seconds are abandoned."""
        self._server.should_exit = True
        self._thread.join(grace)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(5)
        self._sock.close()


class Stoppable(Protocol):
    def stop(self) -> None: ...


class Terminated(SystemExit):
    """SIGTERM asks an emulator to stop: an orderly exit with status 0, wherever it arrives."""


def exit_cleanly_on_sigterm() -> None:
    """Installed before an emulator starts, so that a stop arriving while it is still starting (or
    printing where it listens) ends the process with status 0 instead of killing it."""
    import signal

    def terminate(_signum: int, _frame: object) -> None:
        raise Terminated(0)

    signal.signal(signal.SIGTERM, terminate)


def run_until_interrupted(*running: Stoppable) -> None:
    """Block until Ctrl-C or SIGTERM (see `exit_cleanly_on_sigterm`), then stop them all; for the
    CLI, which serves emulators in the foreground."""
    try:
        while True:
            time.sleep(3600)
    except (KeyboardInterrupt, Terminated):
        pass
    finally:
        for item in running:
            item.stop()
