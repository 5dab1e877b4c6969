"""Pieces every program's CLI shares: the common ``serve`` options and running uvicorn."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated, TypeVar

import typer
import uvicorn

from osuite.core.settings import ProgramSettings, SettingsError, load_settings

S = TypeVar("S", bound=ProgramSettings)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="TOML file with settings (keys as in the README)")
]
HostOption = Annotated[str | None, typer.Option(help="Address to listen on [default: 127.0.0.1]")]
PortOption = Annotated[int | None, typer.Option(help="Port to listen on [default: the program's own]")]
DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Where the SQLite files and journals live [default: ./var/<program>]"),
]
DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database-url", help="sqlite:///FILE or postgresql://user@host/db [default: SQLite in data dir]"
    ),
]


def settings_or_exit(cls: type[S], config: Path | None, **overrides: object) -> S:
    """Settings for a command, or a one-line error and exit code 2 (never a traceback)."""
    try:
        return load_settings(cls, config, **overrides)
    except (SettingsError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


WorkersOption = Annotated[
    int,
    typer.Option(
        min=1,
        max=64,
        help="Processes serving the port together, sharing the database (one per CPU core is a good start)",
    ),
]

_SETTINGS_ENV = "OSUITE_SERVE_SETTINGS"

try:
    import fcntl as _fcntl
except ImportError:  # Windows
    _fcntl = None  # type: ignore[assignment]


def run_server(app_factory: str, settings: ProgramSettings, *, workers: int = 1) -> None:
    """Serve ``app_factory`` ("module:function", called once in every worker process) with ``settings``.

    The settings travel to the workers in an environment variable, so a worker builds exactly the app
    the command line described.
    """
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    os.environ[_SETTINGS_ENV] = settings.model_dump_json()
    uvicorn.run(
        app_factory,
        factory=True,
        workers=workers,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
        timeout_graceful_shutdown=5,
    )


def settings_from_environment(cls: type[S]) -> S:
    """The settings :func:`run_server` handed to this worker process."""
    return cls.model_validate_json(os.environ[_SETTINGS_ENV])


class LeaderLock:
    """Held by exactly one of the worker processes sharing a data directory: that one runs the
    background work that need not run twice (links to other servers, housekeeping).

    Where there is no ``fcntl`` (Windows) every worker holds it: the work is idempotent, so running it
    in each worker costs duplicate requests, never duplicate data.
    """

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self._file = (data_dir / "leader.lock").open("a+")
        self.held = True
        if _fcntl is not None:
            try:
                _fcntl.flock(self._file, _fcntl.LOCK_EX | _fcntl.LOCK_NB)
            except OSError:
                self.held = False

    def release(self) -> None:
        if self.held and _fcntl is not None:
            _fcntl.flock(self._file, _fcntl.LOCK_UN)
        self.held = False
        self._file.close()
