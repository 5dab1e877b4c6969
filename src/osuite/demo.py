"""``osuite demo``: a whole demo store on this machine, so someone who has never seen the suite can
open its pages a minute after cloning.

The demo is only an orchestrator: it prepares each program's data the first time, starts every
program as its own child process (exactly as a store would run them), checks they answer, prints
where to look, and stops them all on Ctrl-C. Today it runs the license server (first: with a demo
license the demo signs with a vendor key of its own, every other program takes its seat there), the
data server, the loyalty processing
centers (the chain's root and the store's subordinate, which the tills ask about cards), two POS
terminals, each with its emulated fiscal registrar, receipt printer and card terminal, and the scale
server with three emulated label scales (CAS, Shtrih-Print, Massa-K); the other programs join as they
land. The demo always uses SQLite files under its data directory, whatever database a developer's
environment points the programs at.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from osuite.core.money import format_money

if TYPE_CHECKING:  # imported where needed: `osuite` imports this module at every command
    from osuite.processing.context import Processing

HOST = "127.0.0.1"
DEFAULT_DATA_DIR = Path("var") / "demo"
DEFAULT_PORT_BASE = 8700
LICENSE_OFFSET = 0
"""The license server on its usual 8700: the base itself."""
DATASERVER_OFFSET = 1
"""Each program keeps its usual port relative to the base: the data server's 8701 is base + 1."""
PROCESSING_OFFSET = 2
"""The root processing center on its usual 8702."""
SCALES_OFFSET = 3
"""The scale server on its usual 8703."""
MANAGER_OFFSET = 4
"""The Manager on its usual 8704."""
SUBORDINATE_OFFSET = 82
"""The store's subordinate processing center, the one the tills ask: 8782."""
POS_OFFSET = 10
"""The tills: 8710, 8711 …"""
REGISTRAR_OFFSET, PRINTER_OFFSET, PRINTER_CONTROL_OFFSET, CARD_OFFSET = 50, 60, 65, 70
"""Each till's emulated devices: registrar 8750…, printer 8760… (its paper and cover 8765…), card
terminal 8770…"""
TILLS = ("Касса 1", "Касса 2")
SCALE_EMULATOR_OFFSET = 91
"""The emulated label scales, one per protocol: CAS 8791, Shtrih-Print 8792 (UDP), Massa-K 8793 (8790
is the card terminal emulator's own default port)."""


@dataclass(frozen=True)
class DemoScale:
    """An emulated label scale of the demo store and the sample categories it holds."""

    name: str
    protocol: Literal["cas", "shtrih", "massak"]
    title: str
    department: str
    categories: tuple[str, ...]
    """Sample category ids (:data:`osuite.dataserver.sample_catalog.CATEGORIES`): weighted goods."""

    @property
    def udp(self) -> bool:
        """Shtrih-Print talks UDP; the others TCP."""
        return self.protocol == "shtrih"


DEMO_SCALES = (
    DemoScale("Мясо и птица", "cas", "CAS CL", "Мясной отдел", ("meat-meat", "meat-poultry")),
    DemoScale(
        "Сыры и колбасы",
        "shtrih",
        "Штрих-Принт / Shtrih-Print",
        "Гастрономия",
        ("dairy-cheese", "meat-sausage"),
    ),
    DemoScale("Овощи и фрукты", "massak", "Масса-К / Massa-K", "Овощи и фрукты", ("produce",)),
)
"""The demo's scales: each a ``osuite scales emulate`` process at SCALE_EMULATOR_OFFSET + its index."""


def ports(port_base: int) -> list[int]:
    """Every port the demo listens on for ``port_base`` (TCP, and UDP for those in :func:`udp_ports`)."""
    offsets = [
        LICENSE_OFFSET,
        DATASERVER_OFFSET,
        PROCESSING_OFFSET,
        SCALES_OFFSET,
        MANAGER_OFFSET,
        SUBORDINATE_OFFSET,
    ]
    for n in range(len(TILLS)):
        offsets += [
            o + n for o in (POS_OFFSET, REGISTRAR_OFFSET, PRINTER_OFFSET, PRINTER_CONTROL_OFFSET, CARD_OFFSET)
        ]
    offsets += [SCALE_EMULATOR_OFFSET + n for n in range(len(DEMO_SCALES))]
    return [port_base + o for o in offsets]


def udp_ports(port_base: int) -> list[int]:
    """The ports of :func:`ports` that are UDP (the Shtrih-Print scale's)."""
    return [port_base + SCALE_EMULATOR_OFFSET + n for n, scale in enumerate(DEMO_SCALES) if scale.udp]


STARTUP_SECONDS = 60.0
STOP_SECONDS = 15.0
MARKER = "demo.json"
"""Written once the sample is loaded: a later ``osuite demo`` reuses the data instead of reloading."""

LOYALTY_MARKER = "processing.json"
"""Written once the processing centers are prepared; keeps the tills' key, which a center shows only
once."""

SCALES_MARKER = "scales.json"
"""Written once the scale server is prepared; keeps its API key, which it shows only once."""

LICENSE_CUSTOMER = "Демо-магазин"
LICENSE_DAYS = 365
LICENSE_LINES = ("openstore",)
LICENSE_FEATURES = ("loyalty", "scales")
LICENSE_TITLE = "Сервер лицензий / License server"


@dataclass(frozen=True)
class DemoCustomer:
    id: str
    name: str
    phone: str
    card: str
    points: int
    """Opening points in minor units, as the API counts them (30000 is 300.00 points)."""


DEMO_CUSTOMERS = (
    DemoCustomer("demo-customer-1", "Смирнова Ольга", "+79000000001", "7770000000012", 300_00),
    DemoCustomer("demo-customer-2", "Кузнецов Дмитрий", "+79000000002", "7770000000029", 1_000_00),
    DemoCustomer("demo-customer-3", "Попова Елена", "+79000000003", "7770000000036", 2_500_00),
)
"""Bonus cards with valid EAN-13 numbers, so a scanner (or the emulated one) reads them too."""
GIFT_CARD = "7779000000015"
GIFT_NOMINAL = 3_000_00
LOYALTY_PROGRAM: dict[str, Any] = {
    "accrual_percent": "5",
    "points_share": "50",
    "activation_days": 0,
    "expiry_days": None,
    "levels": [{"turnover": 1_000_00, "percent": "3"}, {"turnover": 5_000_00, "percent": "5"}],
}
"""The program ``default``: 5 % back in points, active at once, paying up to half a receipt; 3 % off
from 1,000.00 of purchases, 5 % from 5,000.00."""

ROLE_NAMES = {
    "cashier": "Кассир / cashier",
    "senior-cashier": "Старший кассир / senior cashier",
    "store-manager": "Управляющий / store manager",
    "auditor": "Ревизор / auditor",
    "administrator": "Администратор / administrator",
}


class DemoError(Exception):
    """Something that stops the demo from running; the message says what, in Russian and English."""


class _Stop(BaseException):
    """Ctrl-C or SIGTERM: unwind from wherever the demo is and stop every program cleanly.

    A BaseException, like KeyboardInterrupt, so no ``except Exception`` on the way swallows it."""


@dataclass
class Program:
    """One program of the suite running as a child process of the demo."""

    name: str
    title: str
    port: int
    args: list[str]
    log: Path
    health: str | None = "/healthz"
    """Where it answers when ready; None for a device that speaks no HTTP (the printer's raw TCP, a
    scale's protocol): then it is ready when its port takes a connection, or, with ``udp``, answers a
    datagram."""
    udp: bool = False
    env: dict[str, str] = field(default_factory=dict)
    """Environment variables of its own, over the demo's (settings as ``OSUITE_<PROGRAM>_…``)."""
    process: subprocess.Popen[bytes] | None = None
    terminated: bool = False

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.terminated = False
        with self.log.open("ab") as log:
            # A session of its own: Ctrl-C in the terminal reaches only the demo, which then stops its
            # children in order instead of them all getting the signal at once.
            self.process = subprocess.Popen(
                [sys.executable, "-m", "osuite", *self.args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
                start_new_session=True,
            )

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def wait_healthy(self, timeout: float = STARTUP_SECONDS) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.exited()
            if code is not None:
                raise DemoError(
                    f"{self.title} завершился с кодом {code} / exited with code {code}:\n{self.log_tail()}"
                )
            if self._answers(httpx):
                return
            time.sleep(0.2)
        raise DemoError(
            f"{self.title} не ответил за {timeout:.0f} с / did not answer within {timeout:.0f} s:\n"
            f"{self.log_tail()}"
        )

    def _answers(self, httpx: Any) -> bool:
        if self.health is None and self.udp:
            # ENQ: a Shtrih-Print scale answers any datagram, a bare NAK to one that is not a frame.
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                probe.settimeout(0.5)
                try:
                    probe.sendto(b"\x05", (HOST, self.port))
                    return bool(probe.recv(64))
                except OSError:  # no answer yet, or refused (ICMP) while nothing listens
                    return False
        if self.health is None:
            with socket.socket() as probe:
                return probe.connect_ex((HOST, self.port)) == 0
        try:
            return bool(httpx.get(f"{self.url}{self.health}", timeout=1.0).status_code == 200)
        except httpx.HTTPError:
            return False

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return f"(no log at {self.log})"
        return "\n".join(f"    {line}" for line in text.splitlines()[-lines:])

    def terminate(self) -> None:
        """SIGTERM, which uvicorn answers with a graceful shutdown, without waiting for it (only once: a
        second one would cut the shutdown short)."""
        if self.process is not None and not self.terminated and self.process.poll() is None:
            self.process.terminate()
            self.terminated = True

    def stop(self) -> None:
        """SIGTERM unless sent already, and wait; SIGKILL only if the shutdown hangs."""
        self.terminate()
        process, self.process = self.process, None
        self.terminated = False
        if process is None or process.poll() is not None:
            return
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@dataclass
class Prepared:
    """What the summary shows about the data server's data."""

    store: dict[str, Any]
    products: int
    categories: int
    loaded_now: bool
    api_key: str
    enrollment_code: str
    code_expires: datetime
    users: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class DemoCard:
    """A demo card as the store's processing center answers for it."""

    number: str
    holder: str
    type: str
    available: int


@dataclass
class Loyalty:
    """What the summary shows about the processing centers' data, and what linking them takes."""

    prepared_now: bool
    admin_key: str
    """An administrator's key at the root, made this run (shown once, like the data server's)."""
    tills_key: str
    """The tills' key (scope pos) at the subordinate, made once and kept in the marker."""
    code: str | None
    """A one-time code for the subordinate to enroll with the root, while it has not."""
    cards: list[DemoCard] = field(default_factory=list)


@dataclass
class LicenseSetup:
    """The demo's license: the files the license server and the programs are given, and what the
    summary shows about it."""

    issued_now: bool
    license_file: Path
    public_key: Path
    license_id: str
    customer: str
    valid_until: str
    seats: dict[str, int]
    used: dict[str, int] = field(default_factory=dict)
    """``GET /api/v1/license`` once everything runs: the seats taken per program."""


@dataclass
class ScaleSetup:
    """What the summary shows about the scale server: its key and the scales as it reports them."""

    prepared_now: bool
    key: str
    """An API key of the scale server (its web page's sign-in), made once and kept in the marker."""
    scales: list[dict[str, Any]] = field(default_factory=list)
    """``GET /api/v1/scales`` once every scale is loaded."""
    label: str | None = None
    """With ``--check``: what a till made of a label of the first scale."""


def demo(
    data_dir: Annotated[
        Path,
        typer.Option(
            "--data-dir", help="Where the demo keeps its data; reused by the next run [default: ./var/demo]"
        ),
    ] = DEFAULT_DATA_DIR,
    port_base: Annotated[
        int,
        typer.Option(
            min=1,
            max=65535 - 100,
            help="Programs listen on their usual offsets from this port: the data server on PORT_BASE+1",
        ),
    ] = DEFAULT_PORT_BASE,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Start everything, check that it answers, holds its license seats, serves the catalog, "
            "finds the demo cards, loads the scales and sells a scale's label at a till, print the "
            "summary, stop and exit (for tests and CI)",
        ),
    ] = False,
) -> None:
    """Run a whole demo store on this machine with sample data; Ctrl-C stops it.

    The first run makes a demo vendor key and signs a demo license (the license server starts first,
    every program takes its seat there), loads a sample catalog (products, prices, cashiers with PINs),
    the loyalty program with demo customers' cards and a gift card, and the scale server with its three
    scales; later runs reuse them. Each run prints the addresses to open, the license and its seats,
    fresh administrators' API keys, a one-time code to enroll a POS, the demo cards with their balances
    and the scales with what they hold.
    """
    raise typer.Exit(run(data_dir, port_base=port_base, check=check))


def run(data_dir: Path, *, port_base: int = DEFAULT_PORT_BASE, check: bool = False) -> int:
    """The demo from start to stop; the exit code (0 also when stopped with Ctrl-C or SIGTERM)."""
    port = port_base + DATASERVER_OFFSET
    waves: list[list[Program]] = []
    """Programs as they were started together; stopped together, the last started first, so that the
    tills stop before the servers they talk to (and a wave takes one graceful shutdown, not one each)."""
    with _stop_on_signals():
        try:
            servers = (port, port_base + PROCESSING_OFFSET, port_base + SUBORDINATE_OFFSET)
            for taken in (
                port_base + LICENSE_OFFSET,
                *servers,
                port_base + SCALES_OFFSET,
                port_base + MANAGER_OFFSET,
            ):
                _require_free(taken)
            for n, scale in enumerate(DEMO_SCALES):
                _require_free(port_base + SCALE_EMULATOR_OFFSET + n, udp=scale.udp)
            licensing = _prepare_license(data_dir)
            license_server = _license_server(data_dir, port_base, licensing)
            # The license server first, stopped last: it boots while the data is prepared, and nothing
            # else starts before it answers (each program takes its seat as it starts).
            waves.append([license_server])
            license_server.start()
            ds_dir = data_dir / "dataserver"
            database_url = f"sqlite:///{(ds_dir / 'dataserver.db').resolve()}"
            prepared = _prepare_dataserver(data_dir, ds_dir, database_url)
            loyalty = _prepare_processing(data_dir)
            scale_setup = _prepare_scales(data_dir, port_base, ds_dir, database_url)
            license_server.wait_healthy()

            def seat(program: str) -> dict[str, str]:
                """A program's settings that point it at the license server (``OSUITE_<PROGRAM>_…``)."""
                return {
                    f"OSUITE_{program}_LICENSE_URL": license_server.url,
                    f"OSUITE_{program}_LICENSE_PUBLIC_KEY": str(licensing.public_key.resolve()),
                }

            dataserver = Program(
                name="dataserver",
                title="Сервер данных / Data server",
                port=port,
                args=[
                    "dataserver",
                    "serve",
                    "--host",
                    HOST,
                    "--port",
                    str(port),
                    "--data-dir",
                    str(ds_dir),
                    "--database-url",
                    database_url,
                ],
                log=data_dir / "logs" / "dataserver.log",
                env=seat("DATASERVER"),
            )
            root = _center(data_dir, port_base, "root", seat("PROCESSING"))
            emulated = _scale_emulators(data_dir, port_base)
            waves.append([dataserver, root, *emulated])
            _say("Запускаю программы… / Starting the programs…")
            for program in waves[-1]:
                program.start()
            for program in waves[-1]:
                program.wait_healthy()
            _link_subordinate(data_dir, root, loyalty)
            store_center = _center(data_dir, port_base, "subordinate", seat("PROCESSING"))
            scale_server = _scale_server(data_dir, port_base, seat("SCALES"))
            # The scale server is stopped with the tills, in the last wave: like them it talks to what
            # was started before it, and their graceful shutdowns then overlap.
            last_wave = [scale_server]
            waves += [[store_center], last_wave]
            for program in (store_center, scale_server):
                program.start()  # they boot while the tills enroll
            processing = {
                "OSUITE_POS_PROCESSING_URL": store_center.url,
                "OSUITE_POS_PROCESSING_KEY": loyalty.tills_key,
                **seat("POS"),
            }
            tills = [
                _till(data_dir, port_base, n, dataserver, prepared, processing) for n in range(len(TILLS))
            ]
            devices = [device for group in tills for device in group[:-1]]
            poses = [group[-1] for group in tills]
            manager = _manager(
                data_dir,
                port_base,
                {
                    "OSUITE_MANAGER_DATASERVER_URL": dataserver.url,
                    "OSUITE_MANAGER_DATASERVER_KEY": prepared.api_key,
                    "OSUITE_MANAGER_PROCESSING_URL": root.url,
                    "OSUITE_MANAGER_PROCESSING_KEY": loyalty.admin_key,
                    "OSUITE_MANAGER_SCALES_URL": scale_server.url,
                    "OSUITE_MANAGER_SCALES_KEY": scale_setup.key,
                    **seat("MANAGER"),
                },
            )
            waves.insert(len(waves) - 1, devices)
            last_wave += [*poses, manager]
            for program in [*devices, *poses, manager]:
                program.start()
            for program in [store_center, scale_server, *devices, *poses, manager]:
                program.wait_healthy()
            served = _catalog_served(dataserver, prepared.api_key)
            loyalty.cards = _cards_served(store_center, loyalty.tills_key)
            for till in poses:
                _catalog_reached(till)
            scale_setup.scales = _scales_loaded(scale_server, scale_setup.key)
            seated = [
                ("dataserver", ds_dir, dataserver),
                ("processing", _center_folder(data_dir, "root")[0], root),
                ("processing_subordinate", _center_folder(data_dir, "subordinate")[0], store_center),
                ("scales", _scales_folder(data_dir)[0], scale_server),
                ("manager", _manager_folder(data_dir)[0], manager),
                *[("pos", data_dir / f"pos-{n + 1}", till) for n, till in enumerate(poses)],
            ]
            licensing.used = _seats_held(license_server, seated, check=check)
            if check:
                for till in poses:
                    _till_licensed(till)
                scale_setup.label = _label_sells(poses[-1], data_dir)
                _manager_lets_in(manager)
            _say(
                summary(
                    data_dir,
                    dataserver,
                    prepared,
                    poses,
                    (root, store_center),
                    loyalty,
                    (scale_server, emulated, scale_setup),
                    (license_server, licensing),
                    manager,
                )
            )
            if check:
                _say(
                    f"Проверка пройдена: /healthz отвечает, каждая программа заняла место по лицензии, "
                    f"каталог отдаётся ({served}) и дошёл до касс, процессинг магазина находит карты по "
                    "ключу касс, весы загружены, этикетка весов продаётся на кассе, администратор входит в "
                    "Менеджер. Останавливаю.\n"
                    f"Check passed: /healthz answers, every program holds its license seat, the catalog "
                    f"is served ({served}) and reached the tills, the store's processing center finds the "
                    "cards with the tills' key, the scales are loaded, a scale's label sells at a "
                    "till and the administrator logs into the Manager. Stopping."
                )
                return 0
            return _watch([program for wave in waves for program in wave])
        except _Stop:
            _say("\nОстанавливаю… / Stopping…")
            return 0
        except DemoError as exc:
            typer.echo(f"error: {exc}", err=True)
            return 1
        finally:
            _ignore_signals()  # a second Ctrl-C must not cut the shutdown short
            for wave in reversed(waves):
                for program in wave:
                    program.terminate()
                for program in wave:
                    program.stop()
            if waves:
                _say("Все программы остановлены / every program has stopped")


def _say(text: str) -> None:
    typer.echo(text)


@contextmanager
def _stop_on_signals() -> Iterator[None]:
    def stop(signum: int, _frame: FrameType | None) -> None:
        raise _Stop(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _ignore_signals() -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)


def _require_free(port: int, *, udp: bool = False) -> None:
    """Refuse at once, before any data is touched, when another process holds the port (a UDP one for
    ``udp``)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM) as probe:
        if not udp:  # (on UDP it would share the port with a holder that set it too)
            # As uvicorn binds: a port left in TIME_WAIT by the previous demo is free for it too.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as exc:
            reason = (
                "занят / is busy" if exc.errno == errno.EADDRINUSE else f"недоступен / unavailable: {exc}"
            )
            raise DemoError(
                f"порт / port {port}{' (UDP)' if udp else ''} {reason}.\n"
                f"Остановите программу, которая его занимает (может быть, уже запущенное демо), или выберите "
                f"другие порты: osuite demo --port-base N (сервер данных получит N+{DATASERVER_OFFSET}, "
                f"процессинг N+{PROCESSING_OFFSET}).\n"
                f"Stop whatever holds it (perhaps a demo already running) or choose other ports: "
                f"osuite demo --port-base N (the data server gets N+{DATASERVER_OFFSET}, the processing "
                f"center N+{PROCESSING_OFFSET})."
            ) from None


def _prepare_dataserver(data_dir: Path, ds_dir: Path, database_url: str) -> Prepared:
    """Create or upgrade the data server's database, load the sample the first time, and make this
    run's API key and enrollment code (both are shown once, so each run makes its own)."""
    import orjson
    from sqlalchemy import func, select

    from osuite.core.migrations import upgrade
    from osuite.dataserver import clients, sample_catalog, tables
    from osuite.dataserver.context import DataServer
    from osuite.dataserver.settings import DataServerSettings

    try:
        ds_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DemoError(f"не могу создать / cannot create {ds_dir}: {exc.strerror}") from None
    marker = data_dir / MARKER
    ds = DataServer.open(DataServerSettings(data_dir=ds_dir, database_url=database_url))
    try:
        upgrade(ds.db, "osuite.dataserver")
        with ds.db.read() as conn:
            s = tables.stores.c
            has_store = conn.execute(select(s.id).where(s.code == sample_catalog.STORE_CODE)).first()
        loaded_now = not marker.exists() or has_store is None
        if loaded_now:
            _say(
                f"Загружаю образец каталога ({sample_catalog.DEFAULT_PRODUCTS} товаров)… / "
                f"Loading the sample catalog ({sample_catalog.DEFAULT_PRODUCTS} products)…"
            )
            loaded = sample_catalog.load_sample(ds)
            marker.write_bytes(orjson.dumps({"sample": loaded}, option=orjson.OPT_INDENT_2))
        # Every run, so a demo store made before the tills took points and gift cards gets them too.
        sample_catalog.ensure_loyalty_payment_types(ds)
        with ds.db.write() as conn:
            store = clients.find_store(conn, sample_catalog.STORE_CODE)
            key = clients.create_api_key(conn, name=f"demo {datetime.now():%Y-%m-%d %H:%M}")
            issued = clients.issue_enrollment_code(conn, ds, store_id=store["id"], kind="pos", name="Касса 1")
            products = conn.execute(select(func.count()).select_from(tables.products)).scalar_one()
            categories = conn.execute(select(func.count()).select_from(tables.categories)).scalar_one()
    finally:
        ds.db.dispose()
    return Prepared(
        store=store,
        products=int(products),
        categories=int(categories),
        loaded_now=loaded_now,
        api_key=key["token"],
        enrollment_code=issued["code"],
        code_expires=issued["expires_at"],
        users=[
            {"name": u.name, "login": u.login, "role": u.role, "pin": u.pin, "password": u.password}
            for u in sample_catalog.USERS
        ],
    )


CenterRole = Literal["root", "subordinate"]
CENTERS: dict[CenterRole, tuple[str, int]] = {
    "root": ("Процессинг, главный центр / processing, root center", PROCESSING_OFFSET),
    "subordinate": ("Процессинг магазина / the store's processing center (subordinate)", SUBORDINATE_OFFSET),
}


def _center_folder(data_dir: Path, role: CenterRole) -> tuple[Path, str]:
    folder = data_dir / f"processing-{role}"
    return folder, f"sqlite:///{(folder / 'processing.db').resolve()}"


def _center(data_dir: Path, port_base: int, role: CenterRole, env: dict[str, str]) -> Program:
    """``osuite processing serve`` of the root or of the store's subordinate, with ``env``."""
    title, offset = CENTERS[role]
    folder, database_url = _center_folder(data_dir, role)
    port = port_base + offset
    return Program(
        name=f"processing-{role}",
        title=title,
        port=port,
        args=[
            "processing",
            "serve",
            "--role",
            role,
            "--host",
            HOST,
            "--port",
            str(port),
            "--data-dir",
            str(folder),
            "--database-url",
            database_url,
        ],
        log=data_dir / "logs" / f"processing-{role}.log",
        env=env,
    )


def _open_center(data_dir: Path, role: CenterRole, *, migrate: bool = True) -> Processing:
    """The center's database, created or upgraded, as ``osuite processing`` commands open it."""
    from osuite.processing.context import Processing, RoleMismatch
    from osuite.processing.settings import ProcessingSettings

    folder, database_url = _center_folder(data_dir, role)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DemoError(f"не могу создать / cannot create {folder}: {exc.strerror}") from None
    settings = ProcessingSettings(data_dir=folder, database_url=database_url, role=role)
    try:
        return Processing.open(settings, migrate=migrate)
    except RoleMismatch as exc:
        raise DemoError(f"{folder}: {exc}") from None


def _prepare_processing(data_dir: Path) -> Loyalty:
    """Create or upgrade both centers' databases. The first time, at the root: the program ``default``,
    the demo customers with their bonus cards and opening points, and the gift card; at the
    subordinate: the tills' key (kept in the marker, since a center shows a key only once). Each run:
    an administrator's key at the root and, while the subordinate is not enrolled, a one-time code for
    it. Every step looks before it acts, so a run stopped half-way is finished by the next."""
    import orjson
    from sqlalchemy import select

    from osuite.processing import access, link, tables

    marker = data_dir / LOYALTY_MARKER
    try:
        kept: dict[str, Any] = orjson.loads(marker.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        kept = {}
    numbers = [c.card for c in DEMO_CUSTOMERS] + [GIFT_CARD]
    root = _open_center(data_dir, "root")
    try:
        with root.db.read() as conn:
            c = tables.cards.c
            have = set(conn.execute(select(c.number).where(c.number.in_(numbers))).scalars())
        prepared_now = not kept or len(have) < len(numbers)
        if prepared_now:
            _say(
                "Готовлю процессинг: программу лояльности, покупателей и карты… / "
                "Preparing the processing center: the loyalty program, customers and cards…"
            )
            _load_loyalty(root)
        subordinate = _open_center(data_dir, "subordinate")
        try:
            with subordinate.db.read() as conn:
                joined = link.joined(conn)
            tills_key = _tills_key(subordinate, kept.get("tills_key"))
        finally:
            subordinate.db.dispose()
        if joined is not None and joined["root_id"] != root.center_id:
            folder, _ = _center_folder(data_dir, "subordinate")
            raise DemoError(
                f"{folder} подчинён другому главному центру; удалите эту папку, и демо подключит её заново.\n"
                f"{folder} follows another root center; delete that folder and the demo enrolls it again."
            )
        with root.write() as conn:
            admin = access.create_key(conn, root, name=f"demo {datetime.now():%Y-%m-%d %H:%M}")
            code = None if joined else access.issue_code(conn, root, name="Демо-магазин / demo store")["code"]
    finally:
        root.db.dispose()
    marker.write_bytes(orjson.dumps({"tills_key": tills_key}, option=orjson.OPT_INDENT_2))
    return Loyalty(prepared_now=prepared_now, admin_key=admin["token"], tills_key=tills_key, code=code)


def _load_loyalty(root: Processing) -> None:
    """The root's demo data: what is there already is left alone."""
    from sqlalchemy import select

    from osuite.processing import accounts, ledger, programs, tables
    from osuite.processing.wire import AdjustmentCreate, CardIssue, CustomerCreate

    actor = "osuite demo"
    programs.ensure_default(root)
    with root.write() as conn:
        current = programs.get(conn, programs.DEFAULT_PROGRAM)
        if current.settings != programs.settings_of(*programs.rules_of(LOYALTY_PROGRAM)):
            programs.save(
                conn,
                root,
                program_id=current.id,
                name=current.name,
                settings=LOYALTY_PROGRAM,
                create=False,
            )
        cu, ca = tables.customers.c, tables.cards.c
        for customer in DEMO_CUSTOMERS:
            if conn.execute(select(cu.id).where(cu.id == customer.id)).first() is None:
                accounts.create_customer(
                    conn, root, CustomerCreate(id=customer.id, name=customer.name, phone=customer.phone)
                )
            if conn.execute(select(ca.number).where(ca.number == customer.card)).first() is None:
                accounts.issue_card(
                    conn, root, CardIssue(number=customer.card, customer_id=customer.id), actor=actor
                )
        if conn.execute(select(ca.number).where(ca.number == GIFT_CARD)).first() is None:
            accounts.issue_card(
                conn, root, CardIssue(number=GIFT_CARD, type="gift", nominal=GIFT_NOMINAL), actor=actor
            )
    for customer in DEMO_CUSTOMERS:
        with root.db.read() as conn:
            account_id = ledger.card(conn, customer.card).account_id
        # The transaction id makes the opening points a one-time thing, however often this runs.
        body = AdjustmentCreate(
            amount=customer.points, reason="demo", actor=actor, transaction_id=f"demo-points-{customer.card}"
        )
        accounts.adjust_balance(root, account_id, body, actor=actor)
    root.publisher.drain(root)


def _tills_key(subordinate: Processing, token: str | None) -> str:
    """The tills' key at the subordinate: the kept one while the center still knows it, else a new one."""
    from sqlalchemy import select

    from osuite.core.security import token_digest
    from osuite.processing import access, tables

    if token:
        k = tables.api_keys.c
        with subordinate.db.read() as conn:
            known = conn.execute(
                select(k.id).where(k.token_digest == token_digest(token), k.revoked_at.is_(None))
            ).first()
        if known is not None:
            return token
    with subordinate.write() as conn:
        created: str = access.create_key(
            conn, subordinate, name="Кассы демо-магазина / demo tills", scope="pos"
        )["token"]
    return created


def _link_subordinate(data_dir: Path, root: Program, loyalty: Loyalty) -> None:
    """Enroll the subordinate with the running root the first time; later, follow the root to the port
    this run gave it."""
    from sqlalchemy import update

    from osuite.processing import link, tables
    from osuite.processing.domain.errors import DomainError

    subordinate = _open_center(data_dir, "subordinate", migrate=False)
    try:
        if loyalty.code is not None:
            try:
                link.enroll(subordinate, url=root.url, code=loyalty.code, name="Демо-магазин / demo store")
            except DomainError as exc:
                raise DemoError(
                    f"процессинг магазина не подключился / the store's center did not enroll: {exc}"
                ) from None
        else:
            with subordinate.write() as conn:
                conn.execute(
                    update(tables.upstream).where(tables.upstream.c.url != root.url).values(url=root.url)
                )
    finally:
        subordinate.db.dispose()


def _cards_served(center: Program, tills_key: str, timeout: float = STARTUP_SECONDS) -> list[DemoCard]:
    """Look every demo card up at the store's center with the tills' key, as a till does: proves the
    key, the API and the replication from the root all work. Waits for the cards to come down."""
    from osuite.processing.client import ProcessingClient, ProcessingError

    names = {c.card: c.name for c in DEMO_CUSTOMERS}
    cards: list[DemoCard] = []
    deadline = time.monotonic() + timeout
    with ProcessingClient(center.url, tills_key) as client:
        for number in [*names, GIFT_CARD]:
            while True:
                try:
                    found = client.lookup(number)
                    break
                except ProcessingError as exc:
                    # Not down yet from the root, or the center still starting: wait; anything else
                    # (a refused key, say) is an error at once.
                    if exc.kind not in ("card_not_found", "unreachable") or time.monotonic() > deadline:
                        raise DemoError(
                            f"{center.title}: карта / card {number} — {exc}\n{center.log_tail()}"
                        ) from None
                time.sleep(0.2)
            holder = found.customer.name if found.customer else names.get(number, "")
            cards.append(DemoCard(number, holder, found.account_type, found.balance.available))
    return cards


# --- the license server ------------------------------------------------------------------------------


def license_seats() -> dict[str, int]:
    """The seats the demo needs: a till more than it runs (for the POS its enrollment code is for),
    one of everything else."""
    return {
        "pos": len(TILLS) + 1,
        "dataserver": 1,
        "processing": 1,
        "processing_subordinate": 1,
        "scales": 1,
        "manager": 1,
    }


def _prepare_license(data_dir: Path) -> LicenseSetup:
    """The demo's vendor key pair (``vendor-keys/``; the private key only its owner may read, and
    never shown) and the demo license signed with it (``license/demo.lic``), each made the first time.
    The license is signed anew when it no longer verifies with the key, expires within a month or
    gives fewer seats than the demo needs."""
    from datetime import UTC, timedelta

    from osuite.core.ids import new_id
    from osuite.license import document

    keys = data_dir / "vendor-keys"
    private_path, public_path = keys / "license-private.pem", keys / "license-public.pem"
    license_file = data_dir / "license" / "demo.lic"
    try:
        keys.mkdir(parents=True, exist_ok=True)
        license_file.parent.mkdir(parents=True, exist_ok=True)
        if private_path.exists():
            private = document.load_private_key(private_path.read_bytes())
        else:
            private = document.new_private_key()
            fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(document.private_key_pem(private))
        public_pem = document.public_key_pem(private.public_key())
        if not public_path.exists() or public_path.read_bytes() != public_pem:
            public_path.write_bytes(public_pem)
        needed = license_seats()
        today = datetime.now(UTC).date()
        current: document.License | None = None
        with suppress(OSError, document.LicenseError):
            current = document.verify(license_file.read_bytes(), private.public_key())
        issued_now = (
            current is None
            or current.valid_until < today + timedelta(days=30)
            or any(current.seats_for(program) < n for program, n in needed.items())
        )
        if issued_now:
            _say("Выпускаю демо-лицензию… / Issuing the demo license…")
            signed = document.issue(
                private,
                license_id=new_id(),
                customer=LICENSE_CUSTOMER,
                seats=needed,
                valid_until=today + timedelta(days=LICENSE_DAYS),
                issued_at=datetime.now(UTC).replace(microsecond=0),
                product_lines=LICENSE_LINES,
                features=LICENSE_FEATURES,
            )
            license_file.write_bytes(signed)
            current = document.verify(signed, private.public_key())
    except OSError as exc:
        raise DemoError(f"демо-лицензия / the demo license: {exc}") from None
    except document.LicenseError as exc:
        raise DemoError(f"демо-лицензия / the demo license ({keys}): {exc}") from None
    assert current is not None
    return LicenseSetup(
        issued_now=issued_now,
        license_file=license_file,
        public_key=public_path,
        license_id=current.license_id,
        customer=current.customer,
        valid_until=current.valid_until.isoformat(),
        seats=dict(current.seats),
    )


def _license_server(data_dir: Path, port_base: int, licensing: LicenseSetup) -> Program:
    """``osuite license serve`` with the demo license; its leases in ``license/license.db``."""
    folder = licensing.license_file.parent
    port = port_base + LICENSE_OFFSET
    return Program(
        name="license",
        title=LICENSE_TITLE,
        port=port,
        args=[
            "license",
            "serve",
            "--license",
            str(licensing.license_file),
            "--public-key",
            str(licensing.public_key),
            "--host",
            HOST,
            "--port",
            str(port),
            "--data-dir",
            str(folder),
            "--database-url",
            f"sqlite:///{(folder / 'license.db').resolve()}",
        ],
        log=data_dir / "logs" / "license.log",
    )


def _seats_held(server: Program, seated: list[tuple[str, Path, Program]], *, check: bool) -> dict[str, int]:
    """The seats taken per program, as the license server lists them; with ``check``, every program
    of ``seated`` (its kind, its data folder with its machine id, the program) must hold one."""
    import httpx

    from osuite.license.client import MACHINE_ID_FILE

    try:
        answer = httpx.get(f"{server.url}/api/v1/license", timeout=10.0)
    except httpx.HTTPError as exc:
        raise DemoError(f"{server.title}: /api/v1/license — {exc}") from None
    if answer.status_code != 200:
        raise DemoError(f"{server.title}: /api/v1/license → {answer.status_code} {answer.text[:300]}")
    views = {view["program"]: view for view in answer.json()["programs"]}
    if check:
        missing = []
        for kind, folder, program in seated:
            try:
                machine = (folder / MACHINE_ID_FILE).read_text(encoding="ascii").strip()
            except OSError:
                machine = ""
            holders = {h["machine_id"] for h in views.get(kind, {}).get("holders", [])}
            if not machine or machine not in holders:
                missing.append(f"{program.title} ({kind})")
        if missing:
            raise DemoError(
                f"{server.title}: нет места по лицензии у / holding no seat: {', '.join(missing)}\n"
                f"{server.log_tail()}"
            )
    return {kind: int(view["used"]) for kind, view in views.items()}


MANAGER_TITLE = "Менеджер / Manager"


def _manager_folder(data_dir: Path) -> tuple[Path, str]:
    folder = data_dir / "manager"
    return folder, f"sqlite:///{(folder / 'manager.db').resolve()}"


def _manager(data_dir: Path, port_base: int, env: dict[str, str]) -> Program:
    """``osuite manager serve`` over every program of the demo (``env`` says where each is, and its key)."""
    folder, database_url = _manager_folder(data_dir)
    port = port_base + MANAGER_OFFSET
    return Program(
        name="manager",
        title=MANAGER_TITLE,
        port=port,
        args=[
            "manager",
            "serve",
            "--host",
            HOST,
            "--port",
            str(port),
            "--data-dir",
            str(folder),
            "--database-url",
            database_url,
        ],
        log=data_dir / "logs" / "manager.log",
        env=env,
    )


def _manager_lets_in(manager: Program) -> None:
    """The sample's administrator logs into the Manager with their password and sees every section."""
    import httpx

    with httpx.Client(base_url=manager.url, timeout=30) as client:
        login = client.post("/login", data={"login": "admin", "password": "admin-demo", "next": "/"})
        me = client.get("/api/v1/me")
    if login.status_code != 303 or me.status_code != 200:
        raise DemoError(
            f"администратор не вошёл в Менеджер / the administrator could not log into the Manager: "
            f"{login.status_code} {me.status_code} {me.text[:300]} (журнал / log: {manager.log})"
        )
    missing = {"terminals", "catalog", "sales", "loyalty", "scales", "people", "licenses"} - set(
        me.json()["sections"]
    )
    if missing:
        raise DemoError(
            f"в Менеджере нет разделов / the Manager lacks sections: {', '.join(sorted(missing))}"
        )


def _till_licensed(till: Program) -> None:
    """The till's /healthz says its license is ``ok``."""
    import httpx

    try:
        state = httpx.get(f"{till.url}/healthz", timeout=10.0).json().get("license")
    except (httpx.HTTPError, ValueError) as exc:
        raise DemoError(f"{till.title}: /healthz — {exc}") from None
    if not state or state.get("status") != "ok":
        raise DemoError(f"{till.title}: лицензия / license {state}\n{till.log_tail()}")


# --- the scale server and its scales ------------------------------------------------------------------

SCALES_TITLE = "Сервер весов / Scale server"
LABEL_GRAMS = 1234
"""The weight on the label the check sells: 1.234 kg."""
CHECK_PIN = "9999"
"""The senior cashier of the sample: may open and close a shift and cancel a receipt."""


def _scales_folder(data_dir: Path) -> tuple[Path, str]:
    folder = data_dir / "scales"
    return folder, f"sqlite:///{(folder / 'scales.db').resolve()}"


def _scale_folder(data_dir: Path, scale: DemoScale) -> Path:
    """Where an emulated scale keeps its PLU table."""
    return data_dir / f"scale-{scale.protocol}"


def _prepare_scales(data_dir: Path, port_base: int, ds_dir: Path, ds_database_url: str) -> ScaleSetup:
    """Create or upgrade the scale server's database. The first time: enroll it with the data server
    (a code of kind ``scales`` traded straight in the data server's database, which is not running
    yet), make its API key (kept in the marker: the server shows a key only once) and add the demo's
    scales with their categories. Each run: point it at this run's data server and scales' ports. Every
    step looks before it acts: a scale or rule the user changed stays as they left it, and a run
    stopped half-way is finished by the next."""
    import orjson
    from sqlalchemy import select, update

    import osuite
    from osuite.core.security import token_digest
    from osuite.dataserver import clients, sample_catalog
    from osuite.dataserver import tables as ds_tables
    from osuite.dataserver.context import DataServer
    from osuite.dataserver.settings import DataServerSettings
    from osuite.scales import service
    from osuite.scales import tables as st
    from osuite.scales.app import create_key, enroll, open_scales
    from osuite.scales.settings import ScalesSettings

    marker = data_dir / SCALES_MARKER
    try:
        kept: dict[str, Any] = orjson.loads(marker.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        kept = {}
    folder, database_url = _scales_folder(data_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DemoError(f"не могу создать / cannot create {folder}: {exc.strerror}") from None
    dataserver_url = f"http://{HOST}:{port_base + DATASERVER_OFFSET}"
    scales = open_scales(ScalesSettings(data_dir=folder, database_url=database_url))
    try:
        with scales.db.read() as conn:
            enrolled = conn.execute(select(st.enrollment)).mappings().first()
            key: str | None = kept.get("key")
            k = st.api_keys.c
            if (
                key
                and not conn.execute(
                    select(k.id).where(k.token_digest == token_digest(key), k.revoked_at.is_(None))
                ).first()
            ):
                key = None
            existing = {row["name"]: row for row in conn.execute(select(st.scales)).mappings()}
            have_rules = {row.scale_id for row in conn.execute(select(st.rules.c.scale_id))}
        prepared_now = not kept or enrolled is None or any(s.name not in existing for s in DEMO_SCALES)
        if prepared_now:
            _say("Готовлю сервер весов и весы… / Preparing the scale server and the scales…")
        ds = DataServer.open(DataServerSettings(data_dir=ds_dir, database_url=ds_database_url))
        try:
            with ds.db.write() as conn:
                c = ds_tables.clients.c
                known = enrolled is not None and (
                    conn.execute(
                        select(c.id).where(
                            c.token_digest == token_digest(enrolled["token"]), c.revoked_at.is_(None)
                        )
                    ).first()
                    is not None
                )
                joined = None
                if not known:  # never enrolled, or the data server's database was made anew
                    store = clients.find_store(conn, sample_catalog.STORE_CODE)
                    issued = clients.issue_enrollment_code(
                        conn, ds, store_id=store["id"], kind="scales", name="Весы демо-магазина / demo scales"
                    )
                    joined = clients.enroll(conn, code=issued["code"], version=osuite.__version__)
        finally:
            ds.db.dispose()
        if joined is not None:
            enroll(
                scales,
                client_id=joined["client_id"],
                store_id=joined["store_id"],
                name=joined["name"],
                server_url=dataserver_url,
                token=joined["token"],
            )
        elif enrolled is not None and enrolled["server_url"] != dataserver_url:  # another --port-base
            with scales.db.write() as conn:
                conn.execute(update(st.enrollment).values(server_url=dataserver_url))
        for n, demo_scale in enumerate(DEMO_SCALES):
            port = port_base + SCALE_EMULATOR_OFFSET + n
            row = existing.get(demo_scale.name)
            if row is None:
                values: dict[str, Any] = {
                    "name": demo_scale.name,
                    "department": demo_scale.department,
                    "model": f"{demo_scale.title}, эмулятор / emulator",
                    "protocol": demo_scale.protocol,
                    "host": HOST,
                    "port": port,
                    "scale_number": 1,
                    "password": "",
                    "enabled": True,
                    "barcode_template": "weight",
                    "label_format": 1,
                    "hotkeys": 0,
                }
                scale_id = service.save_scale(scales, values)["id"]
            else:
                scale_id = row["id"]
                if (row["host"], row["port"]) != (HOST, port):
                    kept_values = {name: row[name] for name in service.SCALE_FIELDS}
                    service.save_scale(scales, {**kept_values, "host": HOST, "port": port}, scale_id)
            if scale_id not in have_rules:
                service.set_rules(scales, scale_id, [("category", list(demo_scale.categories))])
        if key is None:
            key = create_key(scales, "osuite demo")
    finally:
        scales.db.dispose()
    marker.write_bytes(orjson.dumps({"key": key}, option=orjson.OPT_INDENT_2))
    return ScaleSetup(prepared_now=prepared_now, key=key)


def _scale_server(data_dir: Path, port_base: int, env: dict[str, str]) -> Program:
    """``osuite scales serve``: its web page and API; it takes the catalog from the data server."""
    folder, database_url = _scales_folder(data_dir)
    port = port_base + SCALES_OFFSET
    return Program(
        name="scales",
        title=SCALES_TITLE,
        port=port,
        args=[
            "scales",
            "serve",
            "--host",
            HOST,
            "--port",
            str(port),
            "--data-dir",
            str(folder),
            "--database-url",
            database_url,
        ],
        log=data_dir / "logs" / "scales.log",
        env=env,
    )


def _scale_emulators(data_dir: Path, port_base: int) -> list[Program]:
    """``osuite scales emulate`` for each demo scale, speaking its protocol on its port."""
    programs = []
    for n, scale in enumerate(DEMO_SCALES):
        port = port_base + SCALE_EMULATOR_OFFSET + n
        programs.append(
            Program(
                name=f"scale-{scale.protocol}",
                title=f"Весы / scale {scale.name} ({scale.title})",
                port=port,
                args=[
                    "scales",
                    "emulate",
                    "--protocol",
                    scale.protocol,
                    "--host",
                    HOST,
                    "--port",
                    str(port),
                    "--data-dir",
                    str(_scale_folder(data_dir, scale)),
                ],
                log=data_dir / "logs" / f"scale-{scale.protocol}.log",
                health=None,
                udp=scale.udp,
            )
        )
    return programs


def _scales_loaded(server: Program, key: str, timeout: float = STARTUP_SECONDS) -> list[dict[str, Any]]:
    """The scales as the scale server reports them, once every demo scale holds its PLUs: its last
    upload finished without an error and nothing is left to send."""
    import httpx

    names = {scale.name for scale in DEMO_SCALES}
    deadline = time.monotonic() + timeout
    views: list[dict[str, Any]] = []
    while True:
        try:
            answer = httpx.get(
                f"{server.url}/api/v1/scales", headers={"Authorization": f"Bearer {key}"}, timeout=5.0
            )
            if answer.status_code != 200:
                raise DemoError(f"{server.title}: /api/v1/scales → {answer.status_code} {answer.text[:300]}")
            views = answer.json()
        except httpx.HTTPError:
            pass
        ours = [view for view in views if view["name"] in names]
        if len(ours) == len(names) and all(_loaded(view) for view in ours):
            return views
        if time.monotonic() > deadline:
            states = "\n".join(f"    {view['name']}: {_scale_state(view)}" for view in ours)
            raise DemoError(
                f"{server.title}: весы не загрузились за {timeout:.0f} с / the scales were not loaded "
                f"within {timeout:.0f} s:\n{states}\n{server.log_tail()}"
            )
        time.sleep(0.3)


def _loaded(view: dict[str, Any]) -> bool:
    last = view["last_upload"]
    return bool(
        view["plus_loaded"] > 0
        and last
        and last["finished_at"]
        and not last["error"]
        and not view["state"]["pending"]
    )


def _scale_state(view: dict[str, Any]) -> str:
    state, last = view["state"], view["last_upload"]
    said = "на связи / online" if state["online"] else "не отвечают / not answering"
    if state["busy"]:
        said = "заняты / busy"
    if state["message"]:
        said += f" ({state['message']})"
    error = f", ошибка / error: {last['error']}" if last and last["error"] else ""
    return f"{said}, PLU: {view['plus_loaded']}{error}"


def _label_sells(till: Program, data_dir: Path, timeout: float = STARTUP_SECONDS) -> str:
    """A label the first scale would print for 1.234 kg of its first PLU is scanned at ``till``: the
    line must come out at that weight and the scale's price. The receipt is then cancelled, and a shift
    the check opened is closed again, so the till is left as it was. Not checked (and said so) while
    the till has a receipt open or a shift that is over."""
    import httpx

    from osuite.devices.labelscale import PluMemory

    scale = DEMO_SCALES[0]
    memory = PluMemory(_scale_folder(data_dir, scale))  # the emulator's journal, read back
    try:
        table = memory.table()
        if not table:
            raise DemoError(f"{scale.name}: в весах нет PLU / the scale holds no PLU")
        number = min(table)
        plu = table[number]
        label = memory.label(number, grams=LABEL_GRAMS)
    finally:
        memory.close()
    weight = Decimal(LABEL_GRAMS) / 1000

    def fail(what: str) -> DemoError:
        return DemoError(f"{till.title}: этикетка / label {label} ({scale.name}, PLU {number}): {what}")

    with httpx.Client(base_url=f"{till.url}/api/v1", timeout=30.0) as http:

        def call(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
            answer = http.request(method, path, json=body)
            if answer.status_code >= 400:
                raise fail(f"{method} {path} → {answer.status_code} {answer.text[:300]}")
            return answer.json() if answer.content else None

        http.headers["Authorization"] = f"Bearer {call('POST', '/session', {'pin': CHECK_PIN})['token']}"
        try:
            shift = call("GET", "/shift")
            if call("GET", "/receipt") is not None or (shift is not None and shift["expired"]):
                return (
                    "не проверена: на кассе открыт чек или смена старше 24 часов / not checked: the till "
                    "has a receipt open or a shift over 24 hours old"
                )
            line = _sell_label(http, call, fail, label, open_shift=shift is None, timeout=timeout)
        finally:
            call("DELETE", "/session")
    if Decimal(line["quantity"]) != weight or line["price"] != plu.price:
        raise fail(
            f"продана как / sold as {line['quantity']} × {format_money(line['price'])}, "
            f"ждали / expected {weight} × {format_money(plu.price)}"
        )
    return (
        f"{label} → {line['name']}: {weight} кг / kg × {format_money(line['price'])} ₽ = "
        f"{format_money(line['amount'])} ₽ ({till.title}; чек отменён / receipt cancelled)"
    )


def _sell_label(
    http: Any, call: Any, fail: Any, label: str, *, open_shift: bool, timeout: float
) -> dict[str, Any]:
    """Scan ``label`` at the till (the product may still be on its way there) and cancel the receipt;
    with ``open_shift``, in a shift opened for it and closed after. The receipt's line."""
    if open_shift:
        call("POST", "/shift/open", {})
    try:
        deadline = time.monotonic() + timeout
        while True:
            answer = http.post("/receipt/items", json={"code": label})
            if answer.status_code != 404 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        if answer.status_code != 200:
            raise fail(f"{answer.status_code} {answer.text[:300]}")
        line: dict[str, Any] = answer.json()["lines"][-1]
        return line
    finally:
        if call("GET", "/receipt") is not None:
            call("POST", "/receipt/cancel", {})
        if open_shift:
            call("POST", "/shift/close", {})


def _till(
    data_dir: Path,
    port_base: int,
    n: int,
    dataserver: Program,
    prepared: Prepared,
    processing: dict[str, str],
) -> list[Program]:
    """Till ``n``: its emulated registrar, printer and card terminal, then the POS, enrolled with the
    data server the first time (the enrollment stays in the till's own database) and pointed at the
    store's processing center and the license server by ``processing`` (its settings as environment
    variables)."""
    folder = data_dir / f"pos-{n + 1}"
    logs = data_dir / "logs"
    printer = port_base + PRINTER_OFFSET + n
    printer_control = port_base + PRINTER_CONTROL_OFFSET + n
    registrar = port_base + REGISTRAR_OFFSET + n
    card = port_base + CARD_OFFSET + n
    pos = port_base + POS_OFFSET + n
    for taken in (printer, printer_control, registrar, card, pos):
        _require_free(taken)
    _enroll(folder, dataserver, TILLS[n], prepared)
    name = TILLS[n]
    return [
        Program(
            name=f"printer-{n + 1}",
            title=f"Принтер чеков / receipt printer ({name})",
            port=printer,
            args=[
                "devices",
                "emulate",
                "printer",
                "--port",
                str(printer),
                "--data-dir",
                str(folder / "printer"),
                "--control-port",
                str(printer_control),
            ],
            log=logs / f"printer-{n + 1}.log",
            health=None,
        ),
        Program(
            name=f"registrar-{n + 1}",
            title=f"Фискальный регистратор / fiscal registrar ({name})",
            port=registrar,
            args=[
                "devices",
                "emulate",
                "registrar",
                "--port",
                str(registrar),
                "--data-dir",
                str(folder / "registrar"),
                "--printer",
                f"{HOST}:{printer}",
            ],
            log=logs / f"registrar-{n + 1}.log",
        ),
        Program(
            name=f"card-{n + 1}",
            title=f"Банковский терминал / card terminal ({name})",
            port=card,
            args=["devices", "emulate", "card", "--port", str(card), "--data-dir", str(folder / "card")],
            log=logs / f"card-{n + 1}.log",
        ),
        Program(
            name=f"pos-{n + 1}",
            title=f"{name} / POS {n + 1}",
            port=pos,
            args=[
                "pos",
                "serve",
                "--host",
                HOST,
                "--port",
                str(pos),
                "--data-dir",
                str(folder),
                "--database-url",
                f"sqlite:///{(folder / 'pos.db').resolve()}",
                "--registrar",
                f"http://{HOST}:{registrar}",
                "--card-terminal",
                f"http://{HOST}:{card}",
            ],
            log=logs / f"pos-{n + 1}.log",
            env=processing,
        ),
    ]


def _enroll(folder: Path, dataserver: Program, name: str, prepared: Prepared) -> None:
    if (folder / "enrolled").exists():
        return
    from osuite.dataserver.client import DataServerClient

    issued = DataServerClient(dataserver.url, prepared.api_key).issue_enrollment_code(
        prepared.store["id"], kind="pos", name=name
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "osuite",
            "pos",
            "enroll",
            dataserver.url,
            issued.code,
            "--name",
            name,
            "--data-dir",
            str(folder),
            "--database-url",
            f"sqlite:///{(folder / 'pos.db').resolve()}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise DemoError(f"{name}: не подключилась / could not enroll: {done.stderr.strip()}")
    (folder / "enrolled").write_text(done.stdout, encoding="utf-8")


def _catalog_reached(till: Program, timeout: float = STARTUP_SECONDS) -> None:
    """A cashier can log in on the till's screen and gets the sale screen: the users (and with them
    the catalog's first pages) reached the till, and the screen works."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with httpx.Client(base_url=till.url, timeout=5.0, follow_redirects=True) as browser:
                if 'id="scan"' in browser.post("/login", data={"pin": "1111"}).text:
                    return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise DemoError(f"{till.title}: каталог не дошёл / the catalog did not arrive:\n{till.log_tail()}")


def _catalog_served(dataserver: Program, api_key: str) -> str:
    """Ask the running server for a product the way the Manager would: proves the key, the API and
    the sample all work together, not merely that the process is up."""
    import httpx

    try:
        answer = httpx.get(
            f"{dataserver.url}/api/v1/products",
            params={"limit": 1},
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=10.0,
        )
    except httpx.HTTPError as exc:
        raise DemoError(f"{dataserver.title}: /api/v1/products — {exc}") from None
    if answer.status_code != 200:
        raise DemoError(f"{dataserver.title}: /api/v1/products → {answer.status_code} {answer.text[:300]}")
    items = answer.json().get("items") or []
    if not items:
        raise DemoError(f"{dataserver.title}: каталог пуст / the catalog is empty")
    return str(items[0]["name"])


def _watch(programs: list[Program]) -> int:
    """Wait for Ctrl-C; a program that dies meanwhile ends the demo with its log's last lines."""
    while True:
        for program in programs:
            code = program.exited()
            if code is not None:
                typer.echo(
                    f"error: {program.title} завершился с кодом {code} / exited with code {code}:\n"
                    f"{program.log_tail()}",
                    err=True,
                )
                return 1
        time.sleep(0.5)


def summary(
    data_dir: Path,
    dataserver: Program,
    prepared: Prepared,
    tills: list[Program],
    centers: tuple[Program, Program],
    loyalty: Loyalty,
    scale_part: tuple[Program, list[Program], ScaleSetup],
    license_part: tuple[Program, LicenseSetup],
    manager: Program,
) -> str:
    """What a person needs to start using the demo store, in Russian and English."""
    store = prepared.store
    key = prepared.api_key
    data_state = "загружены сейчас / loaded now" if prepared.loaded_now else "прежние / reused"
    people = []
    for user in prepared.users:
        role = ROLE_NAMES.get(user["role"], user["role"])
        secret = (
            f"PIN {user['pin']}"
            if user["pin"]
            else f"логин / login {user['login']}, пароль / password {user['password']}"
        )
        people.append(f"    {user['name']:<16} {secret:<10}  {role}")
    root, store_center = centers
    loyalty_state = "подготовлены сейчас / prepared now" if loyalty.prepared_now else "прежние / reused"
    cards = [
        f"    {card.number}  подарочная карта / gift card: {format_money(card.available)} ₽ "
        f"(номинал / nominal {format_money(GIFT_NOMINAL)} ₽)"
        if card.type == "gift"
        else f"    {card.number}  {card.holder:<17} {format_money(card.available):>8} баллов / points"
        for card in loyalty.cards
    ]
    tills_key = loyalty.tills_key
    lookup = f"{store_center.url}/api/v1/transactions/lookup"
    scale_server, emulated, scale_setup = scale_part
    scales_state = "подготовлены сейчас / prepared now" if scale_setup.prepared_now else "прежние / reused"
    views = {view["name"]: view for view in scale_setup.scales}
    scale_lines = []
    for scale, emulator in zip(DEMO_SCALES, emulated, strict=True):
        view = views.get(scale.name)
        held = f"{view['plus_loaded']} PLU" if view else ""
        where = f"{HOST}:{emulator.port}{' UDP' if scale.udp else ' TCP'}"
        scale_lines.append(f"    {scale.name:<15} {scale.title:<26} {where:<20} {held}")
    others = [view for view in scale_setup.scales if view["name"] not in {s.name for s in DEMO_SCALES}]
    scale_lines += [
        f"    {view['name']:<15} {view['protocol']:<26} {view['host']}:{view['port']:<10} "
        f"{view['plus_loaded']} PLU"
        for view in others
    ]
    scales_key = scale_setup.key
    license_server, licensing = license_part
    license_state = "выпущена сейчас / issued now" if licensing.issued_now else "прежняя / reused"
    seats_used = ", ".join(
        f"{kind} {licensing.used.get(kind, 0)}/{seats}" for kind, seats in licensing.seats.items()
    )
    lines = [
        "",
        "══ O·S suite — демо-магазин работает / the demo store is running ══",
        "",
        f"  Магазин / store:     {store['code']} — {store['name']}, {store['address']}",
        f"  Каталог / catalog:   {prepared.products} товаров / products, "
        f"{prepared.categories} категорий / categories",
        f"  Данные / data:       {data_dir} ({data_state})",
        "",
        f"  {license_server.title}:  {license_server.url}",
        f"    Лицензия / license:            {licensing.license_id} — {licensing.customer}, действует до / "
        f"valid until {licensing.valid_until} ({license_state})",
        f"    Места заняты / seats used:     {seats_used}",
        f"    Места, держатели / seats, holders:  {license_server.url}/api/v1/license",
        f"    API, документация / API docs:  {license_server.url}/docs",
        f"    Журнал / log:                  {license_server.log}",
        f"    Ключ поставщика демо / the demo vendor's key:  {licensing.public_key} (закрытый ключ рядом "
        "не показывается / the private key beside it is never shown)",
        "",
        f"  {manager.title}:  {manager.url}/  (вход / log in: admin / admin-demo, manager / manager-demo, "
        "auditor / auditor-demo)",
        f"    Журнал / log:                  {manager.log}",
        "",
        f"  {dataserver.title}:  {dataserver.url}",
        f"    API, документация / API docs:  {dataserver.url}/docs",
        f"    Проверка / health check:       {dataserver.url}/healthz",
        f"    Журнал / log:                  {dataserver.log}",
        "",
        "  Ключ API администратора / administrator's API key:",
        f"    {key}",
        f'    curl -H "Authorization: Bearer {key}" "{dataserver.url}/api/v1/products?limit=5"',
        "",
        *[
            line
            for till in tills
            for line in (
                f"  {till.title}:  {till.url}/  (экран кассира / cashier's screen, PIN 1111)",
                f"    Дисплей покупателя / customer display:  {till.url}/customer",
                f"    API, документация / API docs:  {till.url}/docs  (вход / log in: POST /api/v1/session "
                '{"pin": "1111"})',
                f"    Журнал / log:                  {till.log}",
            )
        ],
        "  Эмулированные устройства / emulated devices: журналы в / logs in "
        f"{data_dir / 'logs'}, чеки / receipts in {data_dir}/pos-N/printer",
        "",
        *[
            line
            for center in centers
            for line in (
                f"  {center.title}:  {center.url}",
                f"    API, документация / API docs:  {center.url}/docs",
                f"    Проверка / health check:       {center.url}/healthz",
                f"    Журнал / log:                  {center.log}",
            )
        ],
        "",
        "  Ключ касс в процессинге магазина / the tills' key at the store's processing center (scope pos):",
        f"    {tills_key}",
        f'    curl -H "Authorization: Bearer {tills_key}" -H "Content-Type: application/json" '
        f'-d \'{{"card": "{DEMO_CUSTOMERS[0].card}"}}\' {lookup}',
        f"  Ключ администратора процессинга / the processing administrator's key ({root.url}):",
        f"    {loyalty.admin_key}",
        "",
        f"  Карты / cards ({loyalty_state}), программа / program «default»:",
        "    5 % покупки возвращается баллами, баллы оплачивают до половины чека; скидка 3 % от 1000 ₽ "
        "покупок, 5 % от 5000 ₽",
        "    5 % of a purchase comes back as points, which pay up to half a receipt; 3 % off from 1,000 ₽ "
        "of purchases, 5 % from 5,000 ₽",
        *cards,
        "",
        f"  {scale_server.title}:  {scale_server.url}/  (вход по ключу / sign in with the key)",
        f"    API, документация / API docs:  {scale_server.url}/docs",
        f"    Проверка / health check:       {scale_server.url}/healthz",
        f"    Журнал / log:                  {scale_server.log}",
        "  Ключ сервера весов / the scale server's API key:",
        f"    {scales_key}",
        f'    curl -H "Authorization: Bearer {scales_key}" {scale_server.url}/api/v1/scales',
        f"  Весы / scales ({scales_state}), эмуляторы / emulated, шаблон этикетки / label template «weight»:",
        *scale_lines,
        f"    Журналы / logs: {data_dir / 'logs'}/scale-*.log, память весов / the scales' memory: "
        f"{data_dir}/scale-*/plus.jsonl",
        *([f"    Этикетка на кассе / a label at the till: {scale_setup.label}"] if scale_setup.label else []),
        "",
        f"  Код подключения ещё одной кассы / another POS's enrollment code:  {prepared.enrollment_code}",
        f"    одноразовый, действует до / one-time, valid until {prepared.code_expires:%Y-%m-%d %H:%M} UTC",
        "",
        "  Пользователи / users:",
        *people,
        "",
        "  Ctrl-C останавливает всё / Ctrl-C stops everything",
        "",
    ]
    return "\n".join(lines)
