"""``osuite manager …``: run the Manager, and check that it reaches the programs it is set up with."""

from __future__ import annotations

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
from osuite.manager.settings import ManagerSettings

app = typer.Typer(
    help=(
        "The Manager: the store administrator's web UI (port 8704) over the data server (terminals, catalog,"
        " people, sales), and, when set up with them, the processing center (loyalty), the scale server and"
        " the license server. People log in with their data server login and password. Set it up in a"
        " TOML file (dataserver_url, dataserver_key = a key from `osuite dataserver apikey manager`;"
        " processing_url/_key, scales_url/_key, license_url), `check` it, then `serve --config FILE`."
    ),
    no_args_is_help=True,
)


@app.command()
def serve(
    config: ConfigOption = None,
    host: HostOption = None,
    port: PortOption = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Run the Manager (open http://HOST:8704/ in a browser; the JSON is documented at /docs). Applies
    pending migrations of its own small database (logins and the log of who changed what) first."""
    from osuite.manager.app import open_manager

    settings = settings_or_exit(
        ManagerSettings, config, host=host, port=port, data_dir=data_dir, database_url=database_url
    )
    open_manager(settings).db.dispose()
    run_server("osuite.manager.app:from_environment", settings)


@app.command()
def check(config: ConfigOption = None, data_dir: DataDirOption = None) -> None:
    """Ask every program the Manager is set up with whether it answers and takes its key."""
    from osuite.manager.backends import BACKEND_ERRORS, Backends

    settings = settings_or_exit(ManagerSettings, config, data_dir=data_dir)
    backends = Backends.of(settings)
    probes = {
        "data server": (settings.dataserver_url, backends.dataserver.stores),
        "processing center": (
            settings.processing_url,
            lambda: backends.processing and backends.processing.request("GET", "/api/v1/programs"),
        ),
        "scale server": (settings.scales_url, lambda: backends.scales and backends.scales.scales()),
        "license server": (settings.license_url, lambda: backends.license and backends.license.license()),
    }
    failed = False
    try:
        for name, (url, probe) in probes.items():
            if not url:
                typer.echo(f"{name}: not set up (its section is not shown)")
                continue
            try:
                probe()
            except BACKEND_ERRORS as exc:
                failed = True
                typer.echo(f"{name} at {url}: {exc.detail}")
            else:
                typer.echo(f"{name} at {url}: ok")
    finally:
        backends.close()
    if failed:
        raise fail("some programs cannot be used: fix their URL or key in the Manager's settings")
