"""``osuite dataserver …``: run the data server and administer it from the command line."""

from __future__ import annotations

from typing import Annotated

import typer

from osuite.core.cli import (
    ConfigOption,
    DatabaseOption,
    DataDirOption,
    HostOption,
    PortOption,
    WorkersOption,
    fail,
    run_server,
    settings_or_exit,
)
from osuite.core.http import Problem
from osuite.dataserver import clients, upstream
from osuite.dataserver.context import DataServer
from osuite.dataserver.settings import DataServerSettings

app = typer.Typer(
    help=(
        "The data server: feeds terminals and other programs with the catalog, prices, users and "
        "settings, collects their shifts, receipts and reports exactly once, and controls them remotely. "
        "Start it with `serve`; enroll a terminal with `code`; give the Manager or an external system an "
        "API key with `apikey`; make a store server follow an HQ server with `join`."
    ),
    no_args_is_help=True,
)


def _open(config: ConfigOption, data_dir: DataDirOption, database_url: DatabaseOption) -> DataServer:
    from osuite.core.migrations import upgrade  # Alembic takes a second to import; only here

    settings = settings_or_exit(DataServerSettings, config, data_dir=data_dir, database_url=database_url)
    ds = DataServer.open(settings)
    upgrade(ds.db, "osuite.dataserver")
    return ds


@app.command()
def serve(
    config: ConfigOption = None,
    host: HostOption = None,
    port: PortOption = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseOption = None,
    workers: WorkersOption = 1,
) -> None:
    """Run the data server (applies pending database migrations first)."""
    from osuite.core.migrations import upgrade

    settings = settings_or_exit(
        DataServerSettings, config, host=host, port=port, data_dir=data_dir, database_url=database_url
    )
    ds = DataServer.open(settings)
    upgrade(ds.db, "osuite.dataserver")
    ds.db.dispose()
    run_server("osuite.dataserver.app:from_environment", settings, workers=workers)


@app.command()
def migrate(
    config: ConfigOption = None, data_dir: DataDirOption = None, database_url: DatabaseOption = None
) -> None:
    """Create or upgrade the database schema, then exit."""
    ds = _open(config, data_dir, database_url)
    typer.echo(f"database at {ds.db.engine.url.render_as_string(hide_password=True)} is up to date")


@app.command("store")
def add_store(
    code: Annotated[str, typer.Argument(help="Short store code, e.g. S001")],
    name: Annotated[str, typer.Argument(help="Store name as people know it")],
    address: Annotated[str, typer.Option(help="Street address")] = "",
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Add a store."""
    ds = _open(config, data_dir, database_url)
    try:
        with ds.db.write() as conn:
            store = clients.create_store(conn, ds, code=code, name=name, address=address)
    except Problem as exc:
        raise fail(exc.detail) from None
    typer.echo(f"store {store['code']} created with id {store['id']}")


@app.command("code")
def enrollment_code(
    store: Annotated[str, typer.Option(help="Store code or id the new client belongs to")],
    kind: Annotated[str, typer.Option(help=f"Client kind: {', '.join(clients.CLIENT_KINDS)}")] = "pos",
    name: Annotated[str, typer.Option(help="Name to show for the client, e.g. 'POS 3'")] = "",
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Issue a one-time enrollment code for a new terminal or program of a store."""
    ds = _open(config, data_dir, database_url)
    try:
        with ds.db.write() as conn:
            store_id = clients.find_store(conn, store)["id"]
            issued = clients.issue_enrollment_code(conn, ds, store_id=store_id, kind=kind, name=name)
    except Problem as exc:
        raise fail(exc.detail) from None
    typer.echo(issued["code"])
    typer.echo(f"valid until {issued['expires_at']:%Y-%m-%d %H:%M} UTC, once, for a {kind}", err=True)


@app.command("apikey")
def api_key(
    name: Annotated[str, typer.Argument(help="Who will use the key, e.g. 'manager' or '1C exchange'")],
    read_only: Annotated[bool, typer.Option("--read-only", help="May read and export, not change")] = False,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Create an API key for the management API; the key is printed once."""
    ds = _open(config, data_dir, database_url)
    scopes = frozenset({"read"}) if read_only else clients.ADMIN_SCOPES
    with ds.db.write() as conn:
        key = clients.create_api_key(conn, name=name, scopes=scopes)
    typer.echo(key["token"])


@app.command()
def revoke(
    client_id: Annotated[str, typer.Argument(help="Id of the client to cut off")],
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Revoke a client's token at once (a stolen or replaced terminal)."""
    ds = _open(config, data_dir, database_url)
    try:
        with ds.db.write() as conn:
            clients.revoke_client(conn, client_id)
    except Problem as exc:
        raise fail(exc.detail) from None
    typer.echo(f"client {client_id} revoked")


@app.command()
def join(
    url: Annotated[str, typer.Option(help="The HQ data server, e.g. http://hq.example:8701")],
    code: Annotated[str, typer.Option(help="Enrollment code HQ issued for this store (kind dataserver)")],
    name: Annotated[str, typer.Option(help="How HQ shows this server")] = "store data server",
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Enroll this store data server with an HQ data server: it will receive HQ's reference data for
    its store and forward its terminals' documents up (takes effect at the next `serve`)."""
    ds = _open(config, data_dir, database_url)
    try:
        joined = upstream.join(ds, url=url, code=code, name=name)
    except Problem as exc:
        raise fail(exc.detail) from None
    typer.echo(f"joined {joined['url']} as client {joined['client_id']} of store {joined['store_id']}")


@app.command("import")
def import_file(
    kind: Annotated[str, typer.Argument(help="What the file holds: products, barcodes or prices")],
    file: Annotated[
        str, typer.Argument(help="The CSV file: a header row, ';' or ',', UTF-8 or Windows-1251")
    ],
    store: Annotated[
        str | None, typer.Option(help="Prices: the store (code or id) for rows without a store column")
    ] = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Import products, barcodes or prices from a CSV file. Valid rows are applied even when others are
    rejected; each rejected row is listed with its line and the reason (exit code 1): fix those and run
    the same file again, which changes nothing that is already as the file says."""
    from pathlib import Path

    from osuite.dataserver import importer

    if kind not in ("products", "barcodes", "prices"):
        raise fail(f"KIND must be products, barcodes or prices, not {kind!r}", 2)
    path = Path(file)
    if not path.is_file():
        raise fail(f"{file} is not a file", 2)
    ds = _open(config, data_dir, database_url)
    try:
        report = importer.import_csv(ds, kind=kind, data=path.read_bytes(), store=store)  # type: ignore[arg-type]
    except Problem as exc:
        raise fail(exc.detail) from None
    for rejection in report.rejected:
        typer.echo(f"line {rejection.line}: {rejection.reason}", err=True)
    typer.echo(f"{report.accepted} rows accepted, {len(report.rejected)} rejected")
    if report.rejected:
        raise typer.Exit(1)


@app.command("load-sample")
def load_sample(
    products: Annotated[int, typer.Option(min=0, help="How many products to generate")] = 3000,
    store: Annotated[str, typer.Option(help="Code of the store to fill; created when missing")] = "S001",
    seed: Annotated[int, typer.Option(help="Another seed makes another, equally believable catalog")] = 1,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Load a believable sample store: categories, products with barcodes and prices, weighted goods
    for the scales, payment types, roles, cashiers with PINs and terminal settings. Running it again
    adds nothing: what already matches the sample is left alone, and nothing is deleted."""
    from osuite.dataserver import sample_catalog

    ds = _open(config, data_dir, database_url)
    try:
        summary = sample_catalog.load_sample(ds, store_code=store, products=products, seed=seed)
    except Problem as exc:
        raise fail(exc.detail) from None
    loaded = summary["store"]
    typer.echo(
        f"store {loaded['code']} «{loaded['name']}» ({'created' if loaded['created'] else 'already there'})"
    )
    typer.echo(
        f"{summary['products']} products ({summary['weighted']} weighted), {summary['barcodes']} barcodes, "
        f"{summary['prices']} prices, {summary['categories']} categories"
    )
    typer.echo(
        f"{summary['roles']} roles, {summary['users']} users, {summary['payment_types']} payment types, "
        f"{summary['barcode_templates']} barcode templates, {len(summary['promotions'])} promotions"
    )
    for skipped in summary["skipped"]:
        typer.echo(f"kept the store's own {skipped}", err=True)
    typer.echo(f"{summary['published']} changes published to terminals in {summary['seconds']:.1f} s")
    people = ", ".join(f"{u.name} PIN {u.pin}" for u in sample_catalog.USERS if u.pin)
    admins = ", ".join(f"{u.login}/{u.password}" for u in sample_catalog.USERS if u.password)
    typer.echo(f"cashiers: {people}; administrator: {admins}")
