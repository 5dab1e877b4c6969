"""``osuite scales …``: enroll the scale server with its data server, add scales, run it, emulate a scale."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Protocol

import typer

from osuite.core.cli import (
    ConfigOption,
    DatabaseOption,
    DataDirOption,
    HostOption,
    PortOption,
    fail,
    run_server,
    settings_or_exit,
)
from osuite.scales.settings import ScalesSettings

app = typer.Typer(
    help=(
        "The scale server: loads the store's label scales (CAS CL, Shtrih-Print, Massa-K) with the products"
        " their rules pick, at the store's prices, and reloads what changes by itself. `enroll` it with a"
        " code from the data server (`osuite dataserver code --store STORE --kind scales`), make a `key`,"
        " `add` scales, then `serve` it (web page and API on port 8703). `emulate` stands in for a scale."
    ),
    no_args_is_help=True,
)

PROTOCOLS = ("cas", "shtrih", "massak")
DEFAULT_PORTS = {"cas": 20304, "shtrih": 1111, "massak": 5001}


@app.command()
def enroll(
    server: Annotated[str, typer.Argument(help="The data server's URL, e.g. http://192.168.1.10:8701")],
    code: Annotated[str, typer.Argument(help="The one-time enrollment code the administrator issued")],
    name: Annotated[str, typer.Option(help="How it is shown to the administrator")] = "Scale server",
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Register with the data server (once); the catalog then arrives when it is served."""
    from osuite.dataserver.client import EnrollmentFailed, enroll_with
    from osuite.scales.app import enroll as record
    from osuite.scales.app import open_scales

    settings = settings_or_exit(ScalesSettings, config, data_dir=data_dir, database_url=database_url)
    try:
        enrolled = enroll_with(server, code, name)
    except EnrollmentFailed as exc:
        raise fail(str(exc)) from None
    scales = open_scales(settings)
    try:
        record(
            scales,
            client_id=enrolled.client_id,
            store_id=enrolled.store_id,
            name=enrolled.name,
            server_url=server,
            token=enrolled.token,
        )
    finally:
        scales.db.dispose()
    typer.echo(f"enrolled as {enrolled.name} ({enrolled.client_id}) of store {enrolled.store_id}")


@app.command()
def key(
    name: Annotated[str, typer.Argument(help="Who will use it: the Manager, the IT person …")],
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Make an API key (printed once; only its hash is kept)."""
    from osuite.scales.app import create_key, open_scales

    settings = settings_or_exit(ScalesSettings, config, data_dir=data_dir, database_url=database_url)
    scales = open_scales(settings)
    try:
        typer.echo(create_key(scales, name))
    finally:
        scales.db.dispose()


@app.command()
def add(
    name: Annotated[str, typer.Argument(help="The scale's name, e.g. 'Мясной отдел 1'")],
    protocol: Annotated[str, typer.Option(help="cas, shtrih or massak")],
    address: Annotated[str, typer.Option(help="host:port (the protocol's usual port when left out)")],
    department: Annotated[str, typer.Option(help="The department it stands in")] = "",
    category: Annotated[
        list[str] | None, typer.Option(help="A category whose products it holds (repeat for more)")
    ] = None,
    product: Annotated[list[str] | None, typer.Option(help="A product it holds (repeat for more)")] = None,
    template: Annotated[str, typer.Option(help="The barcode template its labels carry")] = "weight",
    password: Annotated[str, typer.Option(help="The scale's password (Shtrih-Print)")] = "",
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Add a scale with the categories or products it holds; a running server loads it within seconds."""
    from osuite.scales import service
    from osuite.scales.app import open_scales

    if protocol not in PROTOCOLS:
        raise fail(f"protocol must be one of {', '.join(PROTOCOLS)}, not {protocol!r}")
    host, _, port_text = address.partition(":")
    if not host or (port_text and not port_text.isdigit()):
        raise fail(f"address must be host or host:port, not {address!r}")
    settings = settings_or_exit(ScalesSettings, config, data_dir=data_dir, database_url=database_url)
    scales = open_scales(settings)
    try:
        values = {
            "name": name,
            "department": department,
            "model": "",
            "protocol": protocol,
            "host": host,
            "port": int(port_text) if port_text else DEFAULT_PORTS[protocol],
            "scale_number": 1,
            "password": password,
            "enabled": True,
            "barcode_template": template,
            "label_format": 1,
            "hotkeys": 0,
        }
        scale = service.save_scale(scales, values)
        rules = [("category", list(category or []))] if category else []
        rules += [("products", list(product or []))] if product else []
        if rules:
            service.set_rules(scales, scale["id"], rules)
    except service.ScalesError as exc:
        raise fail(exc.message) from None
    finally:
        scales.db.dispose()
    typer.echo(f"scale {name} added ({scale['id']})")


@app.command()
def status(
    config: ConfigOption = None, data_dir: DataDirOption = None, database_url: DatabaseOption = None
) -> None:
    """The scales: state, PLUs loaded, last upload (as JSON)."""
    from osuite.scales import service
    from osuite.scales.app import open_scales

    settings = settings_or_exit(ScalesSettings, config, data_dir=data_dir, database_url=database_url)
    scales = open_scales(settings)
    try:
        with scales.db.read() as conn:
            typer.echo(json.dumps(service.list_scales(conn), ensure_ascii=False, indent=2))
    finally:
        scales.db.dispose()


@app.command()
def migrate(
    config: ConfigOption = None, data_dir: DataDirOption = None, database_url: DatabaseOption = None
) -> None:
    """Apply pending database migrations (serve does it too)."""
    from osuite.scales.app import open_scales

    settings = settings_or_exit(ScalesSettings, config, data_dir=data_dir, database_url=database_url)
    open_scales(settings).db.dispose()
    typer.echo("database is up to date")


@app.command()
def serve(
    config: ConfigOption = None,
    host: HostOption = None,
    port: PortOption = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Run the scale server: its web page and API (port 8703, documented at /docs), the link to its data
    server and the uploads to the scales. Applies pending database migrations before starting."""
    from osuite.scales.app import open_scales

    settings = settings_or_exit(
        ScalesSettings, config, host=host, port=port, data_dir=data_dir, database_url=database_url
    )
    open_scales(settings).db.dispose()
    run_server("osuite.scales.app:from_environment", settings)


@app.command()
def emulate(
    protocol: Annotated[str, typer.Option(help="cas, shtrih or massak")],
    port: Annotated[int | None, typer.Option(help="Where it listens (the protocol's usual port)")] = None,
    host: Annotated[str, typer.Option(help="The address it listens on")] = "127.0.0.1",
    data_dir: Annotated[Path | None, typer.Option(help="Where it keeps its PLU table")] = None,
) -> None:
    """A software label scale speaking the real protocol on a real socket, until stopped."""
    import threading

    from osuite.devices.emulator_server import exit_cleanly_on_sigterm

    exit_cleanly_on_sigterm()
    if protocol not in PROTOCOLS:
        raise fail(f"protocol must be one of {', '.join(PROTOCOLS)}, not {protocol!r}")
    chosen = DEFAULT_PORTS[protocol] if port is None else port
    running = _start_emulator(protocol, host, chosen, data_dir)
    typer.echo(f"{protocol} label scale emulator listening on {host}:{running.port}", err=False)
    try:
        threading.Event().wait()
    finally:
        running.stop()


class _Running(Protocol):
    port: int

    def stop(self) -> None: ...


def _start_emulator(protocol: str, host: str, port: int, folder: Path | None) -> _Running:
    if protocol == "cas":
        from osuite.devices.cas_emulator import start_cas_emulator

        return start_cas_emulator(host, port, folder=folder)
    if protocol == "shtrih":
        from osuite.devices.shtrih_emulator import start_shtrih_emulator

        return start_shtrih_emulator(host, port, folder=folder)
    from osuite.devices.massak_label_emulator import start_massak_label_emulator

    return start_massak_label_emulator(host, port, folder=folder)
