"""The ``osuite`` command: one sub-command per program, plus ``osuite demo``."""

from __future__ import annotations

import typer

from osuite.dataserver.cli import app as dataserver_app
from osuite.demo import demo
from osuite.devices.cli import app as devices_app
from osuite.license.cli import app as license_app
from osuite.manager.cli import app as manager_app
from osuite.pos.cli import app as pos_app
from osuite.processing.cli import app as processing_app
from osuite.scales.cli import app as scales_app

app = typer.Typer(
    help=(
        "O·S suite: the programs that run a shop, restaurant or venue. "
        "Each program is a sub-command with its own `serve`; `osuite demo` runs a whole demo store."
    ),
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(dataserver_app, name="dataserver")
app.add_typer(devices_app, name="devices")
app.add_typer(license_app, name="license")
app.add_typer(manager_app, name="manager")
app.add_typer(pos_app, name="pos")
app.add_typer(processing_app, name="processing")
app.add_typer(scales_app, name="scales")
app.command(name="demo")(demo)


def main() -> None:
    app()
