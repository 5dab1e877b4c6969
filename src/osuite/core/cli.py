"""Pieces every program's CLI shares: the common ``serve`` options and running uvicorn."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, TypeVar

import typer
import uvicorn
from fastapi import FastAPI

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


def run_server(app: FastAPI, settings: ProgramSettings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
        timeout_graceful_shutdown=5,
    )
