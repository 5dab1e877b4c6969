"""``osuite license …``: the vendor's tools (keygen, issue, show) and the store's license server (serve)."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path
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
from osuite.license.settings import LicenseSettings

app = typer.Typer(
    help=(
        "The license server and the vendor's license tools. The vendor makes a key pair once (`keygen`), "
        "then signs a license file for each customer (`issue`); anyone checks a file with `show`. A store "
        "runs `serve --license FILE --public-key VENDOR.pem` (port 8700): every program of the suite "
        "takes a seat there for its kind, within the license's limits."
    ),
    no_args_is_help=True,
)

PRIVATE_NAME = "license-private.pem"
PUBLIC_NAME = "license-public.pem"

LicenseOption = Annotated[
    Path | None, typer.Option("--license", help="The signed license file [setting license_file]")
]
PublicKeyOption = Annotated[
    Path | None,
    typer.Option("--public-key", help="The vendor's public key (PEM) [setting public_key_file]"),
]


@app.command()
def keygen(
    out: Annotated[Path, typer.Option("--out", help="The folder to write the two key files to")],
) -> None:
    """Make the vendor's Ed25519 key pair: license-private.pem (only its owner may read it; keep it
    safe and out of version control) and license-public.pem (ship it with the programs)."""
    from osuite.license import document

    private_path, public_path = out / PRIVATE_NAME, out / PUBLIC_NAME
    for path in (private_path, public_path):
        if path.exists():
            raise fail(f"{path} exists already; a vendor key is made once (move it away to make another)")
    out.mkdir(parents=True, exist_ok=True)
    key = document.new_private_key()
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(document.private_key_pem(key))
    os.chmod(private_path, 0o600)
    public_path.write_bytes(document.public_key_pem(key.public_key()))
    typer.echo(f"private key {private_path} (mode 0600: keep it secret)")
    typer.echo(f"public key  {public_path} (key id {document.key_id(key.public_key())})")


@app.command()
def issue(
    key: Annotated[Path, typer.Option("--key", help="The vendor's private key (from keygen)")],
    customer: Annotated[str, typer.Option(help="Who the license is for, e.g. 'ООО Ромашка, магазин 12'")],
    seats: Annotated[
        list[str],
        typer.Option("--seats", help="PROGRAM=N, e.g. pos=10 (repeat for each program)"),
    ],
    valid_until: Annotated[str, typer.Option(help="The last valid day, YYYY-MM-DD (inclusive, UTC)")],
    out: Annotated[Path, typer.Option("--out", help="The license file to write")],
    line: Annotated[
        list[str] | None,
        typer.Option("--line", help="A product line: openstore, openservice, openshow, backoffice (repeat)"),
    ] = None,
    feature: Annotated[list[str] | None, typer.Option("--feature", help="A feature name (repeat)")] = None,
    grace_days: Annotated[
        int, typer.Option(help="Days a program that held a seat works without the license server")
    ] = 7,
    license_id: Annotated[str | None, typer.Option(help="The license's id [default: a new UUID]")] = None,
) -> None:
    """Sign a license file for a customer."""
    from osuite.core.ids import new_id
    from osuite.license import document

    try:
        until = date.fromisoformat(valid_until)
    except ValueError:
        raise fail(f"--valid-until must be a date like 2027-12-31, not {valid_until!r}") from None
    counts: dict[str, int] = {}
    for given in seats:
        program, sep, number = given.partition("=")
        program = program.strip()
        if not sep or not number.strip().isdigit():
            raise fail(f"--seats must be PROGRAM=N like pos=10, not {given!r}")
        if program in counts:
            raise fail(f"--seats names {program} twice")
        counts[program] = int(number)
    try:
        private = document.load_private_key(key.read_bytes())
    except OSError as exc:
        raise fail(f"the private key {key} cannot be read: {exc.strerror}") from None
    except document.LicenseError as exc:
        raise fail(f"{key}: {exc}") from None
    if out.exists():
        raise fail(f"{out} exists already; choose another file name")
    try:
        data = document.issue(
            private,
            license_id=license_id or new_id(),
            customer=customer,
            seats=counts,
            valid_until=until,
            issued_at=datetime.now(UTC).replace(microsecond=0),
            product_lines=line or (),
            features=feature or (),
            grace_days=grace_days,
        )
    except document.LicenseError as exc:
        raise fail(str(exc)) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    signed = document.verify(data, private.public_key())
    typer.echo(f"license {signed.license_id} for {signed.customer} written to {out}")


@app.command()
def show(
    file: Annotated[Path, typer.Argument(help="The license file")],
    public_key: Annotated[
        Path | None, typer.Option("--public-key", help="The vendor's public key that checks it")
    ] = None,
) -> None:
    """Check a license file with the vendor's public key and say what it licenses. Exit code 1 when it
    is refused (changed, signed with another key, or expired)."""
    from osuite.license import document

    try:
        data = file.read_bytes()
    except OSError as exc:
        raise fail(f"the license file {file} cannot be read: {exc.strerror}") from None
    if public_key is None:
        raise fail("give --public-key VENDOR.pem: a license is only worth what its signature says", 2)
    try:
        key = document.load_public_key(public_key.read_bytes())
    except OSError as exc:
        raise fail(f"the public key {public_key} cannot be read: {exc.strerror}") from None
    except document.LicenseError as exc:
        raise fail(f"{public_key}: {exc}") from None
    try:
        verified = document.verify(data, key)
    except document.LicenseError as exc:
        raise fail(f"REFUSED: {exc}") from None
    today = datetime.now(UTC).date()
    typer.echo(document.describe(verified, today=today))
    try:
        verified.check_valid(today)
    except document.LicenseExpired as exc:
        raise fail(f"REFUSED: {exc}") from None
    typer.echo("signature OK")


@app.command()
def key(
    name: Annotated[str, typer.Argument(help="Who will use it: the Manager, monitoring …")],
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Make an API key for /metrics and for freeing a gone machine's seat (printed once)."""
    from osuite.license.app import create_key, open_database

    settings = settings_or_exit(LicenseSettings, config, data_dir=data_dir, database_url=database_url)
    db = open_database(settings)
    try:
        typer.echo(create_key(db, name))
    finally:
        db.dispose()


@app.command()
def migrate(
    config: ConfigOption = None, data_dir: DataDirOption = None, database_url: DatabaseOption = None
) -> None:
    """Apply pending database migrations (serve does it too)."""
    from osuite.license.app import open_database

    settings = settings_or_exit(LicenseSettings, config, data_dir=data_dir, database_url=database_url)
    open_database(settings).dispose()
    typer.echo("database is up to date")


@app.command()
def serve(
    license_file: LicenseOption = None,
    public_key: PublicKeyOption = None,
    config: ConfigOption = None,
    host: HostOption = None,
    port: PortOption = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Run the license server (port 8700, API at /docs): checks the license file with the vendor's
    public key, then hands out seats. Applies pending database migrations before starting."""
    from osuite.license.app import LicenseNotUsable, open_seats

    settings = settings_or_exit(
        LicenseSettings,
        config,
        host=host,
        port=port,
        data_dir=data_dir,
        database_url=database_url,
        license_file=license_file.resolve() if license_file else None,
        public_key_file=public_key.resolve() if public_key else None,
    )
    try:
        seats = open_seats(settings)
    except LicenseNotUsable as exc:
        raise fail(f"cannot serve: {exc}", 2) from None
    lic = seats.license
    licensed = ", ".join(f"{p} {n}" for p, n in sorted(lic.seats.items()))
    typer.echo(
        f"license {lic.license_id} of {lic.customer}: {licensed}; valid through {lic.valid_until} "
        f"— license server on http://{settings.host}:{settings.port}"
    )
    if lic.expired(datetime.now(UTC).date()):
        typer.echo(f"warning: the license expired on {lic.valid_until}: every seat is refused", err=True)
    seats.db.dispose()
    run_server("osuite.license.app:from_environment", settings)
