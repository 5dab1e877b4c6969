"""``osuite pos …``: enroll a till with its data server, run it, and see how it is doing."""

from __future__ import annotations

from typing import Annotated

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
from osuite.pos.settings import PosSettings

app = typer.Typer(
    help=(
        "The POS (the till): sells, takes cash and cards, registers receipts on the fiscal registrar and "
        "keeps selling with the data server down. First `enroll` it with a code from the data server "
        "(`osuite dataserver code STORE`), then `serve` it; `status` shows its shift, queue and link."
    ),
    no_args_is_help=True,
)


@app.command()
def enroll(
    server: Annotated[str, typer.Argument(help="The data server's URL, e.g. http://192.168.1.10:8701")],
    code: Annotated[str, typer.Argument(help="The one-time enrollment code the administrator issued")],
    name: Annotated[str, typer.Option(help="How the till is shown to the administrator")] = "POS",
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Register this till with its data server (once); the catalog then arrives when it is served."""
    from osuite.dataserver.client import EnrollmentFailed, enroll_with
    from osuite.pos.app import open_pos
    from osuite.pos.context import record_enrollment

    settings = settings_or_exit(PosSettings, config, data_dir=data_dir, database_url=database_url)
    try:
        enrolled = enroll_with(server, code, name)
    except EnrollmentFailed as exc:
        raise fail(str(exc)) from None
    pos = open_pos(settings)
    try:
        with pos.db.write() as conn:
            record_enrollment(
                conn,
                client_id=enrolled.client_id,
                store_id=enrolled.store_id,
                name=enrolled.name,
                server_url=server,
                token=enrolled.token,
            )
    finally:
        pos.close()
    typer.echo(f"enrolled as {enrolled.name} ({enrolled.client_id}) of store {enrolled.store_id}")


@app.command()
def serve(
    config: ConfigOption = None,
    host: HostOption = None,
    port: PortOption = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseOption = None,
    registrar: Annotated[
        str | None, typer.Option(help="The fiscal registrar's URL (ATOL web server)")
    ] = None,
    card_terminal: Annotated[
        str | None, typer.Option(help="The card terminal's URL; empty: no cards")
    ] = None,
    scale: Annotated[str | None, typer.Option(help="host:port of a Massa-K checkout scale")] = None,
) -> None:
    """Run the till: its JSON API (port 8710, documented at /docs), the link to the data server it was
    enrolled with, and its devices. It sells with the data server down; enroll it first with `enroll`.
    Applies pending database migrations before starting."""
    from osuite.core.db import Database
    from osuite.core.migrations import upgrade

    settings = settings_or_exit(
        PosSettings,
        config,
        host=host,
        port=port,
        data_dir=data_dir,
        database_url=database_url,
        registrar_url=registrar,
        card_terminal_url=card_terminal,
        scale_address=scale,
    )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database_url)
    upgrade(db, "osuite.pos")
    db.dispose()
    run_server("osuite.pos.app:from_environment", settings)


@app.command()
def status(
    config: ConfigOption = None, data_dir: DataDirOption = None, database_url: DatabaseOption = None
) -> None:
    """How the till is: enrollment, shift, documents waiting to go up, last sync."""
    from sqlalchemy import select

    from osuite.core.db import Database
    from osuite.core.sync.outbox import Outbox
    from osuite.pos import shifts
    from osuite.pos import tables as t

    settings = settings_or_exit(PosSettings, config, data_dir=data_dir, database_url=database_url)
    if not settings.data_dir.exists():
        raise fail(f"no till data in {settings.data_dir}: enroll it first")
    db = Database(settings.database_url)
    try:
        with db.read() as conn:
            terminal = conn.execute(select(t.terminal)).mappings().first()
            shift = shifts.current(conn)
            waiting = Outbox(db, t.edge.outbox).pending(conn)
            cursor = conn.execute(select(t.edge.cursors)).mappings().first()
    finally:
        db.dispose()
    if terminal is None:
        typer.echo("not enrolled: run `osuite pos enroll SERVER CODE`")
    else:
        typer.echo(f"till:      {terminal['name']} ({terminal['client_id']}), store {terminal['store_id']}")
        typer.echo(f"server:    {terminal['server_url']}" + (" (LOCKED)" if terminal["locked"] else ""))
    if shift:
        typer.echo(f"shift:     open, number {shift['number']} since {shift['opened_at']}")
    else:
        typer.echo("shift:     closed")
    typer.echo(f"waiting:   {waiting} document(s) to send")
    typer.echo(
        f"last sync: {cursor['updated_at'] if cursor else 'never'} (cursor {cursor['seq'] if cursor else 0})"
    )
