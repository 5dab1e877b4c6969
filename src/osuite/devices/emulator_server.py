"""Running a device emulator on background threads, so a test, the demo or a CLI command starts an
emulator in-process on a real socket and stops it again: an HTTP app under uvicorn (`ServerThread`), a
device's own TCP protocol (`TrackingTcpServer`, `DeviceConnection`), and the face a started emulator
shows (`RunningEmulator`, `RunningLabelScale`, `RunningTcpLabelScale`).

The socket is bound before the thread starts: asking for port 0 gets a free port with no race
between choosing it and binding it, and the caller knows the address as soon as ``start`` returns.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
import time
from typing import Any, Generic, Protocol, Self, TypeVar

import uvicorn
from starlette.types import ASGIApp

from osuite.devices.labelscale import PluMemory

E = TypeVar("E")


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


class TrackingTcpServer(socketserver.ThreadingTCPServer, Generic[E]):
    """A device's TCP protocol served on ``sock`` (bound and listening), a thread per connection, each
    answered with ``emulator``. It keeps its connections, so that :meth:`stop` cuts them all, as a
    device switched off does."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        sock: socket.socket,
        handler: type[DeviceConnection],
        emulator: E,
        *,
        name: str = "emulator",
    ) -> None:
        super().__init__(sock.getsockname(), handler, bind_and_activate=False)
        self.socket.close()
        self.socket = sock
        self.emulator = emulator
        self.closing = False
        self._connections: set[socket.socket] = set()
        self._guard = threading.Lock()
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True
        )

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop taking connections and cut every open one."""
        self.shutdown()
        self.server_close()
        self.close_connections()
        self._thread.join(timeout=5)

    def track(self, sock: socket.socket) -> bool:
        """Keep ``sock`` until :meth:`untrack`; False (and not kept) once the server is closing."""
        with self._guard:
            if not self.closing:
                self._connections.add(sock)
            return not self.closing

    def untrack(self, sock: socket.socket) -> None:
        with self._guard:
            self._connections.discard(sock)

    def close_connections(self) -> None:
        """Cut every open connection, as a device switched off does."""
        with self._guard:
            self.closing = True
            connections = list(self._connections)
        for sock in connections:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class DeviceConnection(socketserver.BaseRequestHandler):
    """One connection to a :class:`TrackingTcpServer`: sent without delay (Nagle off), kept by the
    server while it lasts, and over when the peer goes away. A device's conversation is :meth:`serve`."""

    server: TrackingTcpServer[Any]

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if not self.server.track(sock):
            return
        try:
            self.serve(sock)
        except OSError:
            pass  # the peer went away
        finally:
            self.server.untrack(sock)

    def serve(self, sock: socket.socket) -> None:
        raise NotImplementedError


class RunningEmulator(Generic[E]):
    """A started emulator: ``emulator`` itself, where it listens (``host``, ``port``, and ``address``
    as "host:port", the way the scale server's inventory writes it), ``stop()``, and a ``with`` block
    that stops it."""

    def __init__(self, emulator: E, sock: socket.socket) -> None:
        self.emulator = emulator
        host, port = sock.getsockname()[:2]
        self.host: str = host
        self.port: int = port

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


class LabelScaleEmulator(Protocol):
    memory: PluMemory
    busy: bool  # its operator is in the menu, it is printing …


L = TypeVar("L", bound=LabelScaleEmulator)


class RunningLabelScale(RunningEmulator[L]):
    """A started label scale emulator: besides where it listens, ``memory`` for the PLUs it holds and
    ``busy`` to put it in its menu."""

    @property
    def memory(self) -> PluMemory:
        return self.emulator.memory

    @property
    def busy(self) -> bool:
        return self.emulator.busy

    @busy.setter
    def busy(self, value: bool) -> None:
        self.emulator.busy = value


class RunningTcpLabelScale(RunningLabelScale[L]):
    """A label scale emulator served by a :class:`TrackingTcpServer`; stopping it cuts its connections
    and closes its memory."""

    def __init__(self, emulator: L, server: TrackingTcpServer[L]) -> None:
        super().__init__(emulator, server.socket)
        self._server = server.start()

    def stop(self) -> None:
        self._server.stop()
        self.memory.close()


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
