"""``osuite demo``: a whole demo store on this machine, so someone who has never seen the suite can
open its pages a minute after cloning.

The demo is only an orchestrator: it prepares each program's data the first time, starts every
program as its own child process (exactly as a store would run them), checks they answer, prints
where to look, and stops them all on Ctrl-C. Today it runs the data server and two POS terminals, each
with its emulated fiscal registrar, receipt printer and card terminal; scales and the other programs
join as they land. The demo always uses SQLite files under its data directory, whatever database a
developer's environment points the programs at.
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
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer

HOST = "127.0.0.1"
DEFAULT_DATA_DIR = Path("var") / "demo"
DEFAULT_PORT_BASE = 8700
DATASERVER_OFFSET = 1
"""Each program keeps its usual port relative to the base: the data server's 8701 is base + 1."""
POS_OFFSET = 10
"""The tills: 8710, 8711 …"""
REGISTRAR_OFFSET, PRINTER_OFFSET, PRINTER_CONTROL_OFFSET, CARD_OFFSET = 50, 60, 65, 70
"""Each till's emulated devices: registrar 8750…, printer 8760… (its paper and cover 8765…), card
terminal 8770…"""
TILLS = ("Касса 1", "Касса 2")


def ports(port_base: int) -> list[int]:
    """Every port the demo listens on for ``port_base``."""
    offsets = [DATASERVER_OFFSET]
    for n in range(len(TILLS)):
        offsets += [
            o + n for o in (POS_OFFSET, REGISTRAR_OFFSET, PRINTER_OFFSET, PRINTER_CONTROL_OFFSET, CARD_OFFSET)
        ]
    return [port_base + o for o in offsets]


STARTUP_SECONDS = 60.0
STOP_SECONDS = 15.0
MARKER = "demo.json"
"""Written once the sample is loaded: a later ``osuite demo`` reuses the data instead of reloading."""

ROLE_NAMES = {
    "cashier": "Кассир / cashier",
    "senior-cashier": "Старший кассир / senior cashier",
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
    """Where it answers when ready; None for a device that speaks no HTTP (the printer's raw TCP)."""
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            # A session of its own: Ctrl-C in the terminal reaches only the demo, which then stops its
            # children in order instead of them all getting the signal at once.
            self.process = subprocess.Popen(
                [sys.executable, "-m", "osuite", *self.args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
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

    def stop(self) -> None:
        """SIGTERM, which uvicorn answers with a graceful shutdown; SIGKILL only if that hangs."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
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
            help="Start everything, check that it answers and serves the catalog, print the summary, "
            "stop and exit (for tests and CI)",
        ),
    ] = False,
) -> None:
    """Run a whole demo store on this machine with sample data; Ctrl-C stops it.

    The first run loads a sample catalog (products, prices, cashiers with PINs); later runs reuse it.
    Each run prints the addresses to open, a fresh administrator's API key and a one-time code to enroll
    a POS.
    """
    raise typer.Exit(run(data_dir, port_base=port_base, check=check))


def run(data_dir: Path, *, port_base: int = DEFAULT_PORT_BASE, check: bool = False) -> int:
    """The demo from start to stop; the exit code (0 also when stopped with Ctrl-C or SIGTERM)."""
    port = port_base + DATASERVER_OFFSET
    programs: list[Program] = []
    with _stop_on_signals():
        try:
            _require_free(port)
            ds_dir = data_dir / "dataserver"
            database_url = f"sqlite:///{(ds_dir / 'dataserver.db').resolve()}"
            prepared = _prepare_dataserver(data_dir, ds_dir, database_url)
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
            )
            programs.append(dataserver)
            _say("Запускаю программы… / Starting the programs…")
            dataserver.start()
            dataserver.wait_healthy()
            tills = [_till(data_dir, port_base, n, dataserver, prepared) for n in range(len(TILLS))]
            for devices_and_pos in tills:
                programs.extend(devices_and_pos)
            for program in programs[1:]:
                program.start()
            for program in programs[1:]:
                program.wait_healthy()
            served = _catalog_served(dataserver, prepared.api_key)
            poses = [group[-1] for group in tills]
            for till in poses:
                _catalog_reached(till)
            _say(summary(data_dir, dataserver, prepared, poses))
            if check:
                _say(
                    f"Проверка пройдена: /healthz отвечает, каталог отдаётся ({served}) и дошёл до касс. "
                    f"Останавливаю.\nCheck passed: /healthz answers, the catalog is served ({served}) and "
                    "reached the tills. Stopping."
                )
                return 0
            return _watch(programs)
        except _Stop:
            _say("\nОстанавливаю… / Stopping…")
            return 0
        except DemoError as exc:
            typer.echo(f"error: {exc}", err=True)
            return 1
        finally:
            _ignore_signals()  # a second Ctrl-C must not cut the shutdown short
            for program in reversed(programs):
                program.stop()
            if programs:
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


def _require_free(port: int) -> None:
    """Refuse at once, before any data is touched, when another process holds the port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As uvicorn binds: a port left in TIME_WAIT by the previous demo is free for it too.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as exc:
            reason = (
                "занят / is busy" if exc.errno == errno.EADDRINUSE else f"недоступен / unavailable: {exc}"
            )
            raise DemoError(
                f"порт / port {port} {reason}.\n"
                f"Остановите программу, которая его занимает (может быть, уже запущенное демо), или выберите "
                f"другие порты: osuite demo --port-base N (сервер данных получит N+{DATASERVER_OFFSET}).\n"
                f"Stop whatever holds it (perhaps a demo already running) or choose other ports: "
                f"osuite demo --port-base N (the data server gets N+{DATASERVER_OFFSET})."
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


def _till(data_dir: Path, port_base: int, n: int, dataserver: Program, prepared: Prepared) -> list[Program]:
    """Till ``n``: its emulated registrar, printer and card terminal, then the POS, enrolled with the
    data server the first time (the enrollment stays in the till's own database)."""
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


def summary(data_dir: Path, dataserver: Program, prepared: Prepared, tills: list[Program]) -> str:
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
    lines = [
        "",
        "══ O·S suite — демо-магазин работает / the demo store is running ══",
        "",
        f"  Магазин / store:     {store['code']} — {store['name']}, {store['address']}",
        f"  Каталог / catalog:   {prepared.products} товаров / products, "
        f"{prepared.categories} категорий / categories",
        f"  Данные / data:       {data_dir} ({data_state})",
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
