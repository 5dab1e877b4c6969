"""``osuite devices …``: run software stand-ins for a shop's devices (fiscal registrar, receipt printer …)
so a POS can be tried, demonstrated and tested without the hardware."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help=(
        "Devices a till talks to: fiscal registrar, receipt printer, card terminal, scales. "
        "`emulate` runs a software device on this computer that behaves like the real one on the network."
    ),
    no_args_is_help=True,
)

emulate = typer.Typer(
    help=(
        "Run a device emulator in the foreground (Ctrl-C stops it). Each one listens on a network port "
        "like the real device and keeps what it did in its data directory."
    ),
    no_args_is_help=True,
)
app.add_typer(emulate, name="emulate")


@emulate.callback()
def _before_any_emulator() -> None:
    from osuite.devices.emulator_server import exit_cleanly_on_sigterm

    exit_cleanly_on_sigterm()


# --- fiscal registrar and receipt printer --------------------------------------------------------


@emulate.command(
    "registrar",
    help=(
        "Emulate a fiscal registrar (online cash register) behind ATOL's web server: the till talks to "
        "it as to a real ATOL device at http://HOST:PORT (ATOL's default port is 16732). It registers "
        "and numbers receipts, shift reports and cash in/out, signs each one, keeps them in "
        "DATA_DIR/fiscal-journal.jsonl (written to disk before it answers, read back after a restart) "
        "and prints them on an ESC/POS network printer given by --printer (for instance the one "
        "`osuite devices emulate printer` runs). Like a real one it refuses a receipt with no open "
        "shift, after 24 hours of shift, when the printer has no paper or an open cover, or when the "
        "sums do not add up. For tests and demonstrations: GET http://HOST:PORT/emulator/state shows "
        'its counters, and POST /emulator/state with {"fault": "busy", "count": 1} (or internal, '
        'paper_out, cover_open, lose_answer, slow) or {"advance_hours": 25} makes trouble, e.g. '
        "curl -X POST http://127.0.0.1:16732/emulator/state -H 'Content-Type: application/json' "
        '-d \'{"fault": "paper_out"}\'.'
    ),
)
def emulate_registrar(
    port: Annotated[
        int, typer.Option(help="Port the till connects to (ATOL's web server uses 16732)")
    ] = 16732,
    host: Annotated[str, typer.Option(help=_LISTEN_HELP)] = "127.0.0.1",
    data_dir: Annotated[
        Path,
        typer.Option("--data-dir", help="Where the fiscal journal and the registrar's identity are kept"),
    ] = Path("var/devices/registrar"),
    printer: Annotated[
        str | None,
        typer.Option(
            help="The receipt printer as HOST:PORT (raw ESC/POS over TCP, usually port 9100); "
            "without it nothing is printed"
        ),
    ] = None,
    clock_offset_hours: Annotated[
        float,
        typer.Option(help="Run the registrar's clock this many hours ahead (try 25 to see a shift expire)"),
    ] = 0.0,
    shop_name: Annotated[str, typer.Option(help="Seller's name printed at the top of every receipt")] = (
        'ООО "Демо-магазин"'
    ),
    shop_address: Annotated[str, typer.Option(help="Address printed under the seller's name")] = (
        "г. Москва, ул. Примерная, д. 1"
    ),
    inn: Annotated[
        str, typer.Option(help="Seller's taxpayer number (ИНН) printed on receipts")
    ] = "7700000000",
) -> None:
    from datetime import timedelta

    from osuite.devices.emulator_server import run_until_interrupted
    from osuite.devices.escpos_net import parse_address
    from osuite.devices.receipt_layout import ShopHeader
    from osuite.devices.registrar_emulator import start_registrar_emulator
    from osuite.devices.registrar_journal import JOURNAL_FILE, JournalDamaged

    if printer is not None:
        try:
            parse_address(printer)
        except ValueError as exc:
            typer.echo(f"error: --printer: {exc}", err=True)
            raise typer.Exit(2) from None
    header = ShopHeader(name=shop_name, address=shop_address, inn=inn)
    try:
        running = start_registrar_emulator(
            data_dir,
            host=host,
            port=port,
            printer=printer,
            header=header,
            clock_offset=timedelta(hours=clock_offset_hours),
        )
    except (OSError, JournalDamaged) as exc:
        typer.echo(f"error: cannot start the registrar emulator: {exc}", err=True)
        raise typer.Exit(1) from None
    state = running.emulator.snapshot()
    shift = f"shift {state['shift_number']} open" if state["shift_open"] else "no shift open"
    typer.echo(f"Fiscal registrar emulator (ATOL web server API) on {running.url}/api/v2/requests")
    typer.echo(
        f"Journal: {data_dir / JOURNAL_FILE} ({state['documents']} documents, {shift}); "
        f"printer: {printer or 'none, nothing is printed'}"
    )
    typer.echo(f"Counters and faults: {running.url}/emulator/state. Ctrl-C stops it.")
    run_until_interrupted(running)


@emulate.command(
    "printer",
    help=(
        "Emulate a network receipt printer (ESC/POS over raw TCP, port 9100 like real ones). Whatever "
        "is sent to it is kept: DATA_DIR/printed.txt shows the text as it would come out on paper, "
        "DATA_DIR/jobs.jsonl every job in full. It answers status requests (DLE EOT) as a real printer "
        "does, so a registrar sees when the paper is out or the cover open; set that on its control "
        "port: curl -X POST http://127.0.0.1:9101/state -H 'Content-Type: application/json' "
        '-d \'{"paper": false}\' (or {"cover_open": true}, {"paper_near_end": true}); '
        "GET /state shows it, GET /jobs lists the jobs, GET /jobs/last answers the last one's text."
    ),
)
def emulate_printer(
    port: Annotated[int, typer.Option(help="TCP port the registrar or till prints to")] = 9100,
    host: Annotated[str, typer.Option(help=_LISTEN_HELP)] = "127.0.0.1",
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="Where the printed text and the jobs are kept")
    ] = Path("var/devices/printer"),
    control_port: Annotated[
        int, typer.Option(help="HTTP port to read and change the paper and cover state")
    ] = 9101,
    paper: Annotated[
        bool, typer.Option("--paper/--no-paper", help="Start with paper loaded, or out of paper")
    ] = (True),
) -> None:
    from osuite.devices.emulator_server import run_until_interrupted
    from osuite.devices.escpos_emulator import PRINTED_FILE, start_printer_emulator

    try:
        running = start_printer_emulator(data_dir, host=host, port=port, control_port=control_port)
    except OSError as exc:
        typer.echo(f"error: cannot start the printer emulator: {exc}", err=True)
        raise typer.Exit(1) from None
    running.set_state(paper=paper)
    typer.echo(
        f"ESC/POS printer emulator on {running.address}; printed text goes to {data_dir / PRINTED_FILE}"
    )
    typer.echo(f"Paper and cover: {running.control_url}/state. Ctrl-C stops it.")
    run_until_interrupted(running)


# --- card terminal and checkout scale ------------------------------------------------------------

_LISTEN_HELP = "Address to listen on; 0.0.0.0 lets tills on other computers reach it"


@emulate.command(
    "card",
    help=(
        "Emulate a bank card terminal. Point the till's card terminal setting at http://HOST:PORT. "
        "It approves everything until told otherwise: POST /emulator/mode with "
        '{"mode": "decline"} (or "timeout", "approve"; "count": N for the next N operations only), e.g. '
        "curl -X POST http://127.0.0.1:8790/emulator/mode -H 'Content-Type: application/json' "
        '-d \'{"mode": "decline", "count": 1}\'. '
        "Every payment, refund and cancel is kept in DATA_DIR/card-terminal.jsonl and remembered "
        "after a restart."
    ),
)
def emulate_card(
    port: Annotated[int, typer.Option(help="Port the till connects to")] = 8790,
    host: Annotated[str, typer.Option(help=_LISTEN_HELP)] = "127.0.0.1",
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="Where the journal of operations is kept")
    ] = Path("var/devices/card-terminal"),
    control_port: Annotated[
        int | None,
        typer.Option(
            help="Serve /emulator/mode on this port instead, so the till's port has only what a real "
            "terminal answers"
        ),
    ] = None,
) -> None:
    from osuite.devices.card_emulator import JOURNAL_FILE, start_card_emulator
    from osuite.devices.emulator_server import run_until_interrupted
    from osuite.devices.jsonl_journal import JournalError

    try:
        running = start_card_emulator(data_dir, host=host, port=port, control_port=control_port)
    except (OSError, JournalError) as exc:
        typer.echo(f"error: cannot start the card terminal emulator: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"Card terminal emulator on {running.url} (journal: {data_dir / JOURNAL_FILE})")
    typer.echo(f"Change what it answers: POST {running.control_url}/emulator/mode. Ctrl-C stops it.")
    run_until_interrupted(running)


@emulate.command(
    "scale",
    help=(
        "Emulate a Massa-K checkout scale speaking Massa-K's Protocol 100 over TCP, as the real scale "
        "does on port 5001. Point the till's scale setting at HOST and PORT. It shows --weight until "
        "told otherwise; with --control-port, change it while it runs: "
        "curl -X POST http://127.0.0.1:CONTROL_PORT/emulator/weight -H 'Content-Type: application/json' "
        '-d \'{"kg": "1.250"}\' ("stable": false for a weight still settling, "overload": true for '
        "too much on the platform)."
    ),
)
def emulate_scale(
    port: Annotated[int, typer.Option(help="TCP port the till connects to")] = 5001,
    host: Annotated[str, typer.Option(help=_LISTEN_HELP)] = "127.0.0.1",
    weight: Annotated[str, typer.Option(help="Weight on the platform at start, kg with up to 3 decimals")] = (
        "0.000"
    ),
    control_port: Annotated[
        int | None, typer.Option(help="HTTP port for POST /emulator/weight to change the weight")
    ] = None,
) -> None:
    from osuite.devices.emulator_server import run_until_interrupted
    from osuite.devices.massak_emulator import grams_of, start_scale_emulator

    try:
        grams_of(weight)
    except ValueError as exc:
        typer.echo(f"error: --weight: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        running = start_scale_emulator(host=host, port=port, kg=weight, control_port=control_port)
    except OSError as exc:
        typer.echo(f"error: cannot start the scale emulator: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"Massa-K scale emulator on {running.host}:{running.port}, weighing {running.emulator.state.kg} kg"
    )
    if running.control_url:
        typer.echo(f"Change the weight: POST {running.control_url}/emulator/weight. Ctrl-C stops it.")
    else:
        typer.echo("Ctrl-C stops it (start with --control-port to change the weight while it runs).")
    run_until_interrupted(running)
