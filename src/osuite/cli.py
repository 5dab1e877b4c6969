"""The ``osuite`` command: one sub-command per program, plus ``osuite demo``."""

from __future__ import annotations

import typer

from osuite.dataserver.cli import app as dataserver_app
from osuite.demo import demo

app = typer.Typer(
    help=(
        "O·S suite: the programs that run a shop, restaurant or venue. "
        "Each program is a sub-command with its own `serve`; `osuite demo` runs a whole demo store."
    ),
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(dataserver_app, name="dataserver")
app.command(name="demo")(demo)


def main() -> None:
    app()
