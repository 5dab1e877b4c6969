"""``osuite processing …``: run the loyalty processing center and administer it from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

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
from osuite.core.money import MoneyError, format_money, parse_money
from osuite.processing.settings import ProcessingSettings

if TYPE_CHECKING:  # imported where needed: the app costs a second at every command
    from osuite.processing.context import Processing

app = typer.Typer(
    help=(
        "The loyalty processing center: customers, cards, bonus points, discount levels and gift cards "
        "for every POS of the chain. Run the one root center with `serve --role root`, and each "
        "subordinate (a store or a region that must keep serving when cut off) with "
        "`serve --role subordinate` after `enroll`-ing it with a code from the root (`code`). Give "
        "each POS or store an API key with `key NAME --scope pos`; load customers and cards with "
        "`import-customers` and `import-cards`."
    ),
    no_args_is_help=True,
)

RoleOption = Annotated[
    str | None,
    typer.Option(
        "--role",
        help=(
            "root: the one center that owns every account (there is exactly one); subordinate: serves "
            "its stores on its own and syncs with the root [default: root, or the config file's]"
        ),
    ),
]


def _open(
    config: Path | None, data_dir: Path | None, database_url: str | None, *, new_role: str | None = None
) -> Processing:
    """The center as its database says it is (a new one: ``new_role``, else as configured, else a
    root), schema brought up to date."""
    from osuite.processing.context import Processing, RoleMismatch
    from osuite.processing.programs import ensure_default

    settings = settings_or_exit(ProcessingSettings, config, data_dir=data_dir, database_url=database_url)
    if new_role is not None:
        settings = settings.model_copy(update={"role": new_role})
    try:
        p = Processing.open(settings, stored_role=True)
    except RoleMismatch as exc:
        raise fail(str(exc), 2) from None
    ensure_default(p)
    return p


def _refused(exc: Exception) -> typer.Exit:
    return fail(getattr(exc, "message", None) or getattr(exc, "detail", None) or str(exc))


@app.command()
def serve(
    config: ConfigOption = None,
    host: HostOption = None,
    port: PortOption = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseOption = None,
    role: RoleOption = None,
    workers: WorkersOption = 1,
) -> None:
    """Run the processing center (applies pending database migrations first). A database keeps the
    role it was first served with: a root stays the root."""
    from osuite.processing.context import Processing, RoleMismatch
    from osuite.processing.programs import ensure_default

    settings = settings_or_exit(
        ProcessingSettings,
        config,
        host=host,
        port=port,
        data_dir=data_dir,
        database_url=database_url,
        role=role,
    )
    try:
        p = Processing.open(settings)
    except RoleMismatch as exc:
        raise fail(str(exc), 2) from None
    ensure_default(p)
    typer.echo(f"processing center {p.center_id} ({p.role}) on http://{settings.host}:{settings.port}")
    p.db.dispose()
    run_server("osuite.processing.app:from_environment", settings, workers=workers)


@app.command()
def migrate(
    config: ConfigOption = None, data_dir: DataDirOption = None, database_url: DatabaseOption = None
) -> None:
    """Create or upgrade the database schema, then exit."""
    p = _open(config, data_dir, database_url)
    typer.echo(f"database at {p.db.engine.url.render_as_string(hide_password=True)} is up to date ({p.role})")


@app.command()
def key(
    name: Annotated[str, typer.Argument(help="Who will use the key, e.g. 'Store 12 POS' or 'back office'")],
    scope: Annotated[
        str,
        typer.Option(
            help="pos: a POS or a store (look cards up, hold, spend, accrue, return); manage: the back "
            "office (customers, cards, programs, adjustments, and what pos may); read: look only"
        ),
    ] = "manage",
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Print a new API key (shown once; the center keeps only its hash). Put it in the POS's or the
    back office's settings as the processing center's token."""
    from osuite.processing import access
    from osuite.processing.domain.errors import DomainError

    p = _open(config, data_dir, database_url)
    try:
        with p.write() as conn:
            created = access.create_key(conn, p, name=name, scope=scope)
    except DomainError as exc:
        raise _refused(exc) from None
    typer.echo(created["token"])
    typer.echo(f"key {created['id']} for {created['name']}: {', '.join(created['scopes'])}", err=True)


def _import(kind: Literal["customers", "cards"], file: str, p: Processing) -> None:
    from osuite.processing import importer

    path = Path(file)
    if not path.is_file():
        raise fail(f"{file} is not a file", 2)
    try:
        report = importer.import_csv(p, kind=kind, data=path.read_bytes(), actor="command line")
    except importer.Unreadable as exc:
        raise fail(str(exc)) from None
    for rejection in report["rejected"]:
        typer.echo(f"line {rejection['line']}: {rejection['reason']}", err=True)
    typer.echo(f"{report['accepted']} rows accepted, {len(report['rejected'])} rejected")
    if report["rejected"]:
        raise typer.Exit(1)


CsvArgument = Annotated[
    str, typer.Argument(help="The CSV file: a header row, ';' or ',', UTF-8 or Windows-1251")
]


@app.command("import-customers")
def import_customers(
    file: CsvArgument,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Import customers from a CSV file with columns name and id and/or phone, and optionally email.
    Rows are matched by id, else by phone, so running the same file again changes nothing. Valid rows
    are applied even when others are rejected; each rejected row is listed with its line and the
    reason (exit code 1): fix those and run the file again."""
    _import("customers", file, _open(config, data_dir, database_url))


@app.command("import-cards")
def import_cards(
    file: CsvArgument,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Import cards from a CSV file with columns number and the owner: customer (id) or phone, or
    account (another card on an existing account); optionally type (bonus, discount, gift), program,
    nominal (a gift card's, in rubles) and status (active, blocked). Import the customers first.
    Cards are matched by number: running the same file again changes nothing."""
    _import("cards", file, _open(config, data_dir, database_url))


@app.command("issue-card")
def issue_card(
    number: Annotated[str, typer.Argument(help="The card's number as printed or encoded on it")],
    customer: Annotated[str | None, typer.Option(help="The customer's id")] = None,
    phone: Annotated[str | None, typer.Option(help="The customer's phone, instead of the id")] = None,
    account: Annotated[
        str | None, typer.Option(help="Put the card on this existing account (a second card of a family)")
    ] = None,
    type_: Annotated[str, typer.Option("--type", help="bonus, discount or gift")] = "bonus",
    program: Annotated[str, typer.Option(help="The loyalty program's id")] = "default",
    nominal: Annotated[str | None, typer.Option(help="A gift card's nominal in rubles, e.g. 3000")] = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Issue a card: to a customer (a new bonus or discount account), as a gift card loaded with its
    nominal, or as another card on an existing account."""
    from osuite.processing import accounts
    from osuite.processing.domain.errors import DomainError
    from osuite.processing.importer import RowError, phone_of
    from osuite.processing.wire import CardIssue

    p = _open(config, data_dir, database_url)
    try:
        kopecks = parse_money(nominal) if nominal else None
        with p.write() as conn:
            if phone:
                found = accounts.list_customers(conn, phone=phone_of(phone))
                if not found:
                    raise fail(f"no customer has phone {phone}")
                customer = found[0]["id"]
            body = CardIssue(
                number=number,
                customer_id=customer,
                account_id=account,
                type=type_,
                program_id=program,
                nominal=kopecks,
            )
            card = accounts.issue_card(conn, p, body, actor="command line")
    except (DomainError, MoneyError, RowError, ValueError) as exc:
        raise _refused(exc) from None
    typer.echo(f"card {card['number']} issued on account {card['account_id']}")


@app.command("block-card")
def block_card(
    number: Annotated[str, typer.Argument(help="The card's number")],
    unblock: Annotated[bool, typer.Option("--unblock", help="Make a blocked card work again")] = False,
    lost: Annotated[
        bool, typer.Option("--lost", help="Reported lost: for good (see --replace-with)")
    ] = False,
    replace_with: Annotated[
        str | None, typer.Option(help="With --lost: a new card number that keeps the account and its points")
    ] = None,
    by: Annotated[str, typer.Option(help="Who does it, for the audit log")] = "command line",
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Block a card (the POS refuses it until it is unblocked), unblock it, or mark it lost — for good —
    and replace it with a new card on the same account."""
    from osuite.processing import accounts
    from osuite.processing.domain.errors import DomainError

    if replace_with and not lost:
        raise fail("--replace-with goes with --lost", 2)
    if unblock and lost:
        raise fail("a card is either unblocked or lost, not both", 2)
    p = _open(config, data_dir, database_url)
    try:
        with p.write() as conn:
            if lost:
                card = accounts.card_lost(conn, p, number, replacement=replace_with, actor=by)
            elif unblock:
                card = accounts.unblock_card(conn, p, number, actor=by)
            else:
                card = accounts.block_card(conn, p, number, actor=by)
    except DomainError as exc:
        raise _refused(exc) from None
    replaced = f", replaced by {card['replaced_by']}" if card["replaced_by"] else ""
    typer.echo(f"card {card['number']} is {card['status']}{replaced}")


@app.command(context_settings={"ignore_unknown_options": True})  # so that -20 is an amount
def adjust(
    card: Annotated[str, typer.Argument(help="The card's number (or --account)")],
    amount: Annotated[str, typer.Argument(help="Points to add, or to take with a minus: 150, -20.50")],
    reason: Annotated[str, typer.Option(help="Why: required, kept in the journal")] = "",
    by: Annotated[str, typer.Option(help="Who does it: kept in the journal")] = "",
    account: Annotated[bool, typer.Option("--account", help="CARD is an account id")] = False,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Correct a balance by hand: add points, or take them (never more than there are). The reason
    and who made it are kept in the journal with the movement."""
    import getpass

    from osuite.processing import accounts, ledger
    from osuite.processing.domain.errors import DomainError
    from osuite.processing.wire import AdjustmentCreate

    p = _open(config, data_dir, database_url)
    try:
        points = parse_money(amount)
        with p.db.read() as conn:
            account_id = card if account else ledger.card(conn, card).account_id
        body = AdjustmentCreate(amount=points, reason=reason, actor=by)
        answer, _ = accounts.adjust_balance(p, account_id, body, actor=getpass.getuser())
    except (DomainError, MoneyError, ValueError) as exc:
        raise _refused(exc) from None
    typer.echo(
        f"account {account_id}: {format_money(answer['amount'])} points, "
        f"now {format_money(answer['balance']['available'])} available"
    )


@app.command()
def code(
    name: Annotated[str, typer.Option(help="How the root shows the new subordinate")] = "",
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """At the root: print a one-time code to enroll a subordinate center (valid 72 hours, once)."""
    from osuite.processing import access
    from osuite.processing.domain.errors import DomainError

    p = _open(config, data_dir, database_url)
    try:
        with p.db.write() as conn:
            issued = access.issue_code(conn, p, name=name)
    except DomainError as exc:
        raise _refused(exc) from None
    typer.echo(issued["code"])
    typer.echo(f"valid until {issued['expires_at']:%Y-%m-%d %H:%M} UTC, once, for a subordinate", err=True)


@app.command()
def enroll(
    root: Annotated[str, typer.Argument(help="The root center's URL, e.g. http://loyalty.hq:8702")],
    code: Annotated[
        str, typer.Argument(help="The one-time code the root printed (`osuite processing code`)")
    ],
    name: Annotated[str, typer.Option(help="How the root shows this center")] = "",
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """At a subordinate: enroll with the root once (a new data directory becomes a subordinate's). The
    root's customers, cards, accounts and movements then come down, and this center's go up, whenever
    it is served with `serve --role subordinate`. A root cannot enroll: there is exactly one."""
    from osuite.processing import link
    from osuite.processing.domain.errors import DomainError

    p = _open(config, data_dir, database_url, new_role="subordinate")
    try:
        joined = link.enroll(p, url=root, code=code, name=name)
    except DomainError as exc:
        raise _refused(exc) from None
    typer.echo(f"enrolled with root {joined['root_id']} at {joined['url']} as {joined['center_id']}")
