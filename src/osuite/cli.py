"""The ``osuite`` command: one sub-command per program, plus ``osuite demo``.

A program's command line is imported only when it is asked for (``osuite pos serve`` does not load the
other programs' CLIs and their libraries): every till, server and test starts a little faster."""

from __future__ import annotations

import importlib
import sys

import typer

from osuite.demo import demo

PROGRAMS = {
    "dataserver": "osuite.dataserver.cli",
    "devices": "osuite.devices.cli",
    "license": "osuite.license.cli",
    "manager": "osuite.manager.cli",
    "pos": "osuite.pos.cli",
    "processing": "osuite.processing.cli",
    "scales": "osuite.scales.cli",
}
"""Each sub-command and the module whose Typer ``app`` it is."""


def build(only: str | None = None) -> typer.Typer:
    """The command with every program's sub-command, or with ``only`` that one (the others are then
    unknown, which is fine: the command line already named the one it runs)."""
    app = typer.Typer(
        help=(
            "O·S suite: the programs that run a shop, restaurant or venue. "
            "Each program is a sub-command with its own `serve`; `osuite demo` runs a whole demo store."
        ),
        no_args_is_help=True,
        add_completion=False,
    )
    for name, module in PROGRAMS.items():
        if only in (None, name):
            app.add_typer(importlib.import_module(module).app, name=name)
    app.command(name="demo")(demo)
    return app


def __getattr__(name: str) -> typer.Typer:
    """``osuite.cli.app``: the whole command, for tests that drive it in-process."""
    if name == "app":
        return build()
    raise AttributeError(name)


def main() -> None:
    asked = sys.argv[1] if len(sys.argv) > 1 else None
    build(asked if asked in PROGRAMS else None)()
