"""``osuite demo`` as a newcomer runs it: a real process that starts the programs (the license server
with its demo license, the data server, the processing centers, the tills, the scale server and its
emulated scales), prints where to look, reuses its data the second time, refuses a busy port (a UDP
one too), and stops everything on Ctrl-C."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest

from osuite.demo import (
    DEMO_CUSTOMERS,
    DEMO_SCALES,
    GIFT_CARD,
    LICENSE_OFFSET,
    MANAGER_OFFSET,
    PROCESSING_OFFSET,
    SCALE_EMULATOR_OFFSET,
    SCALES_OFFSET,
    SUBORDINATE_OFFSET,
    license_seats,
    ports,
    udp_ports,
)

pytestmark = pytest.mark.e2e

CODE = re.compile(r"enrollment code:\s+([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})")
KEY = re.compile(r"API key:\n\s+(\S+)")
TILLS_KEY = re.compile(r"the tills' key at the store's processing center \(scope pos\):\n\s+(\S+)")
SCALES_KEY = re.compile(r"the scale server's API key:\n\s+(\S+)")
LICENSE = re.compile(r"license:\s+(\S+) — Демо-магазин, действует до / valid until (\d{4}-\d\d-\d\d)")
SEATS = re.compile(r"seats used:\s+(.+)")
LABEL = re.compile(r"a label at the till: (\d{13}) → .+: 1\.234 кг / kg × ")
CARDS = [
    "7770000000012  Смирнова Ольга      300.00 баллов / points",
    "7770000000029  Кузнецов Дмитрий   1000.00 баллов / points",
    "7770000000036  Попова Елена       2500.00 баллов / points",
    "7779000000015  подарочная карта / gift card: 3000.00 ₽",
]


def _port_base() -> int:
    """A base for which every port the demo uses is free right now, below the range the system hands
    out to outgoing connections (which other tests open by the thousand)."""
    while True:
        base = random.randrange(20_000, 30_000)
        if all(_free(port) for port in ports(base)) and all(_free(p, udp=True) for p in udp_ports(base)):
            return base


def _free(port: int, *, udp: bool = False) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM) as probe:
        if not udp:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _demo(data_dir: Path, port_base: int, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "osuite",
            "demo",
            "--data-dir",
            str(data_dir),
            "--port-base",
            str(port_base),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def test_check_starts_everything_prints_the_summary_and_a_second_run_reuses_the_data(tmp_path: Path) -> None:
    data_dir = tmp_path / "var" / "demo"  # nothing exists yet, as on a fresh clone
    base = _port_base()
    url = f"http://127.0.0.1:{base + 1}"
    root = f"http://127.0.0.1:{base + PROCESSING_OFFSET}"
    store_center = f"http://127.0.0.1:{base + SUBORDINATE_OFFSET}"
    scales = f"http://127.0.0.1:{base + SCALES_OFFSET}"
    licenses = f"http://127.0.0.1:{base + LICENSE_OFFSET}"
    manager = f"http://127.0.0.1:{base + MANAGER_OFFSET}"

    first = _demo(data_dir, base, "--check")
    assert first.returncode == 0, first.stdout + first.stderr
    out = first.stdout
    for text in (
        f"{url}/docs",
        f"{url}/healthz",
        f"{root}/docs",
        f"{store_center}/docs",
        *CARDS,
        "подготовлены сейчас / prepared now",
        "PIN 1111",
        "PIN 2222",
        "PIN 9999",
        "Иванова Анна",
        "admin-demo",
        "Ctrl-C останавливает всё / Ctrl-C stops everything",
        "3000 товаров / products",
        "загружены сейчас / loaded now",
        "Check passed",
        f"{scales}/  (вход по ключу / sign in with the key)",
        f"{scales}/docs",
        f"{scales}/healthz",
        "Весы / scales (подготовлены сейчас / prepared now)",
        f"License server:  {licenses}",
        f"{licenses}/api/v1/license",
        "выпущена сейчас / issued now",
        "every program holds its license seat",
        f"Manager:  {manager}/  (вход / log in: admin / admin-demo, manager / manager-demo",
        "the administrator logs into the Manager",
    ):
        assert text in out, f"{text!r} not in:\n{out}"
    for n, scale in enumerate(DEMO_SCALES):  # each with its protocol, port and the PLUs it holds
        where = f"127.0.0.1:{base + SCALE_EMULATOR_OFFSET + n} {'UDP' if scale.udp else 'TCP'}"
        held = re.search(rf"{scale.name}\s+{re.escape(scale.title)}\s+{where}\s+(\d+) PLU", out)
        assert held and int(held.group(1)) > 0, out
    assert LABEL.search(out), out  # a label of the first scale sold at a till
    # The demo license: a year, the seats the demo needs, each program holding its own; no private key.
    license_ = LICENSE.search(out)
    assert license_, out
    assert (date.fromisoformat(license_.group(2)) - datetime.now(UTC).date()).days in range(364, 367)
    seats_used = SEATS.search(out)
    assert seats_used, out
    held = dict(item.split() for item in seats_used.group(1).split(", "))
    assert held == {
        kind: f"{1 if kind != 'pos' else 2}/{seats}" for kind, seats in license_seats().items()
    }, held
    assert license_seats()["pos"] == 3
    private = data_dir / "vendor-keys" / "license-private.pem"
    assert private.stat().st_mode & 0o777 == 0o600
    assert private.read_text().splitlines()[1] not in first.stdout + first.stderr
    assert "PRIVATE KEY" not in first.stdout + first.stderr
    assert (data_dir / "license" / "demo.lic").is_file() and (data_dir / "logs" / "license.log").is_file()
    with sqlite3.connect(data_dir / "license" / "license.db") as db:  # every seat given back at the stop
        assert db.execute("SELECT count(*) FROM leases").fetchone() == (0,)
    code = CODE.search(out)
    key = KEY.search(out)
    assert code and key, out
    assert json.loads((data_dir / "demo.json").read_text())["sample"]["products"] == 3000
    assert (data_dir / "dataserver" / "dataserver.db").is_file()
    for role in ("root", "subordinate"):
        assert (data_dir / f"processing-{role}" / "processing.db").is_file()
        assert (data_dir / "logs" / f"processing-{role}.log").is_file()
    assert (data_dir / "scales" / "scales.db").is_file()
    for scale in DEMO_SCALES:
        assert (data_dir / f"scale-{scale.protocol}" / "plus.jsonl").stat().st_size > 0
        assert (data_dir / "logs" / f"scale-{scale.protocol}.log").is_file()
    with sqlite3.connect(data_dir / "dataserver" / "dataserver.db") as db:
        methods = dict(db.execute("SELECT code, method FROM payment_types"))
    assert methods == {"cash": "cash", "card": "card", "bonus": "bonus", "gift": "gift"}
    tills_key = TILLS_KEY.search(out)
    scales_key = SCALES_KEY.search(out)
    assert tills_key and scales_key, out
    assert json.loads((data_dir / "scales.json").read_text())["key"] == scales_key.group(1)
    assert [c.card for c in DEMO_CUSTOMERS] + [GIFT_CARD] == [line.split()[0] for line in CARDS]
    assert (data_dir / "manager" / "manager.db").is_file()
    for stopped in (url, root, store_center, scales, licenses, manager):
        assert not _answers(f"{stopped}/healthz")

    second = _demo(data_dir, base, "--check")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "прежние / reused" in second.stdout and "Загружаю" not in second.stdout
    assert "Готовлю процессинг" not in second.stdout and "подготовлены сейчас" not in second.stdout
    assert "3000 товаров / products" in second.stdout
    for card in CARDS:  # the opening points were given once
        assert card in second.stdout, second.stdout
    again_tills_key = TILLS_KEY.search(second.stdout)
    assert again_tills_key and again_tills_key.group(1) == tills_key.group(1)  # the tills keep theirs
    again_code, again_key = CODE.search(second.stdout), KEY.search(second.stdout)
    assert again_code and again_key
    assert again_key.group(1) != key.group(1) and again_code.group(1) != code.group(1)
    assert "Готовлю сервер весов" not in second.stdout and "Весы / scales (прежние / reused)" in second.stdout
    again_scales_key = SCALES_KEY.search(second.stdout)
    assert again_scales_key and again_scales_key.group(1) == scales_key.group(1)  # the key is kept
    assert LABEL.search(second.stdout), second.stdout
    again_license = LICENSE.search(second.stdout)  # the key and the license are reused
    assert again_license and again_license.groups() == license_.groups(), second.stdout
    assert "Выпускаю демо-лицензию" not in second.stdout and "прежняя / reused" in second.stdout
    with sqlite3.connect(data_dir / "dataserver" / "dataserver.db") as db:  # enrolled once
        assert db.execute("SELECT count(*) FROM clients WHERE kind = 'scales'").fetchone() == (1,)
    with sqlite3.connect(data_dir / "scales" / "scales.db") as db:
        assert db.execute("SELECT count(*) FROM scales").fetchone() == (len(DEMO_SCALES),)


@contextmanager
def _holding(kind: socket.SocketKind, offset: int) -> Iterator[tuple[int, int]]:
    """A port base where every port of the demo is free but its port ``offset``, held by this test (TCP
    or UDP): the demo must name that one."""
    base = _port_base()
    with socket.socket(socket.AF_INET, kind) as holder:
        holder.bind(("127.0.0.1", base + offset))
        if kind == socket.SOCK_STREAM:
            holder.listen()
        yield base + offset, base


def test_a_busy_port_is_named_and_nothing_is_created(tmp_path: Path) -> None:
    with _holding(socket.SOCK_STREAM, 1) as (busy, base):
        done = _demo(tmp_path / "demo", base, "--check")
    assert done.returncode != 0
    assert f"port {busy}" in done.stderr and "busy" in done.stderr, done.stderr
    assert "--port-base" in done.stderr
    assert not (tmp_path / "demo").exists()


def test_a_busy_processing_port_is_named_too(tmp_path: Path) -> None:
    with _holding(socket.SOCK_STREAM, SUBORDINATE_OFFSET) as (busy, base):
        done = _demo(tmp_path / "demo", base, "--check")
    assert done.returncode != 0
    assert f"port {busy}" in done.stderr and "busy" in done.stderr, done.stderr
    assert not (tmp_path / "demo").exists()


def test_a_busy_udp_port_of_the_shtrih_scale_is_named_too(tmp_path: Path) -> None:
    shtrih = [n for n, scale in enumerate(DEMO_SCALES) if scale.udp]
    with _holding(socket.SOCK_DGRAM, SCALE_EMULATOR_OFFSET + shtrih[0]) as (busy, base):
        done = _demo(tmp_path / "demo", base, "--check")
    assert done.returncode != 0
    assert f"port {busy} (UDP)" in done.stderr and "busy" in done.stderr, done.stderr
    assert not (tmp_path / "demo").exists()


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_stops_every_program_and_exits_0(tmp_path: Path, how: signal.Signals) -> None:
    base = _port_base()
    offsets = (LICENSE_OFFSET, 1, PROCESSING_OFFSET, SCALES_OFFSET, SUBORDINATE_OFFSET)
    urls = [f"http://127.0.0.1:{base + offset}" for offset in offsets]
    log = (tmp_path / "demo.out").open("w")
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "osuite",
            "demo",
            "--data-dir",
            str(tmp_path / "demo"),
            "--port-base",
            str(base),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 180
        while "Ctrl-C stops everything" not in (tmp_path / "demo.out").read_text():
            assert demo.poll() is None, (tmp_path / "demo.out").read_text()
            assert time.monotonic() < deadline, "the demo did not come up"
            time.sleep(0.2)
        assert all(_answers(f"{url}/healthz") for url in urls)
        demo.send_signal(how)
        assert demo.wait(timeout=60) == 0
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
        log.close()
    output = (tmp_path / "demo.out").read_text()
    assert "Все программы остановлены / every program has stopped" in output, output
    assert not any(_answers(f"{url}/healthz") for url in urls)
