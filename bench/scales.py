"""Loading label scales: seconds for the scale server to upload ``--plus`` PLUs to each of ``--scales``
emulated CAS CL scales, beside the bare socket send of the very same bytes in the same run.

    python -m bench.scales [--plus 10000] [--scales 20]

The scales are CAS CL emulators (TCP, the real frames, every checksum checked, a ``G`` answer per PLU)
in a child process of their own, so the scale server and the scales do not share one interpreter. The
scale server is the real one in this process (:mod:`osuite.scales.service` through the uploader, on a
SQLite file): it works out what each scale should hold from the catalog replica and its rules, gives
out PLU numbers, sends through the CAS driver (one connection per scale, frames pipelined) with every
scale loaded at once, and records per PLU what each scale answered.

The baseline sends the same frames (built beforehand by the same codec) to the same scales, one raw
socket per scale, all scales at once, and reads the answers; nothing else. The ratio is what the scale
server adds to the wire: deciding, encoding, recording.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import orjson
from sqlalchemy import insert

from bench.common import machine, report, workdir
from osuite.core.barcodes import DEFAULT_TEMPLATES
from osuite.devices import cas_codec
from osuite.scales import domain, service
from osuite.scales import tables as t
from osuite.scales.app import enroll, open_scales
from osuite.scales.settings import ScalesSettings
from osuite.scales.uploader import Uploader

GOAL_RATIO = 2.0
ANSWER = 17  # bytes of a CAS ``G`` answer
STORE = "S1"
WEIGHT = DEFAULT_TEMPLATES[0]
LABEL_FORMAT = 1
"""The scales' label format: the baseline's frames carry it too, so both send the very same bytes."""


def serve_emulators(count: int) -> None:
    """In the child: ``count`` CAS emulators; their ports on stdout; run until stdin closes."""
    from osuite.devices.cas_emulator import start_cas_emulator

    running = [start_cas_emulator("127.0.0.1", 0, capacity=100_000) for _ in range(count)]
    print(json.dumps([r.port for r in running]), flush=True)
    sys.stdin.read()
    for scale in running:
        scale.stop()


def products(count: int) -> list[domain.Product]:
    return [
        domain.Product(
            id=f"p{i:05d}",
            article=f"{i:05d}",
            name=f"Товар весовой номер {i} высшего сорта",
            weighted=True,
            category_path=("all",),
            price=10_000 + i,
        )
        for i in range(1, count + 1)
    ]


def seed(scales: service.Scales, goods: list[domain.Product], ports: list[int]) -> None:
    enroll(
        scales, client_id="bench", store_id=STORE, name="bench", server_url="http://127.0.0.1:9", token="-"
    )
    with scales.db.write() as conn:
        conn.execute(
            insert(t.barcode_templates).values(
                id=WEIGHT.name, template=orjson.dumps(WEIGHT.model_dump()).decode()
            )
        )
        conn.execute(insert(t.categories).values(id="all", name="Весовой товар", parent_id=None))
        conn.execute(
            insert(t.products),
            [
                {
                    "id": p.id,
                    "article": p.article,
                    "name": p.name,
                    "unit": "kg",
                    "weighted": True,
                    "category_id": "all",
                    "active": True,
                }
                for p in goods
            ],
        )
        conn.execute(
            insert(t.prices), [{"store_id": STORE, "product_id": p.id, "price": p.price} for p in goods]
        )
    for n, port in enumerate(ports, start=1):
        view = service.save_scale(
            scales,
            {
                "name": f"Весы {n}",
                "department": "",
                "model": "CL5000",
                "protocol": "cas",
                "host": "127.0.0.1",
                "port": port,
                "scale_number": 1,
                "password": "",
                "enabled": True,
                "barcode_template": WEIGHT.name,
                "label_format": LABEL_FORMAT,
                "hotkeys": 0,
            },
        )
        service.set_rules(scales, view["id"], [("category", ["all"])])


def bare(ports: list[int], payload: bytes, answers: int) -> float:
    """Seconds to send ``payload`` to every scale at once and read its ``answers`` answers."""

    def one(port: int) -> None:
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            expected = answers * ANSWER
            got = 0

            def read() -> None:
                nonlocal got
                while got < expected:
                    chunk = sock.recv(1 << 16)
                    if not chunk:
                        raise ConnectionError("the scale hung up")
                    got += len(chunk)

            reader = threading.Thread(target=read)
            reader.start()
            sock.sendall(payload)
            reader.join()
            if got != expected:
                raise RuntimeError(f"{got} bytes of answers, {expected} expected")

    started = time.perf_counter()
    with ThreadPoolExecutor(len(ports)) as pool:
        list(pool.map(one, ports))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plus", type=int, default=10_000)
    parser.add_argument("--scales", type=int, default=20)
    parser.add_argument("--serve-emulators", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_emulators:
        serve_emulators(args.serve_emulators)
        return
    print(f"# bench.scales on {machine()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.scales", "--serve-emulators", str(args.scales)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        ports: list[int] = json.loads(child.stdout.readline())
        goods = products(args.plus)
        frames = b"".join(
            cas_codec.plu_frame(domain.plu_of(p, n, int(p.article), label_format=LABEL_FORMAT), address=1)[0]
            for n, p in enumerate(goods, start=1)
        )
        bare_seconds = bare(ports, frames, len(goods))
        with workdir() as folder:
            run(folder, ports, goods, bare_seconds)
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=30)


def run(folder: Path, ports: list[int], goods: list[domain.Product], bare_seconds: float) -> None:
    settings = ScalesSettings(
        data_dir=folder,
        database_url=f"sqlite:///{folder / 'scales.db'}",
        upload_workers=len(ports),
        batch_size=1000,
    )
    scales = service.Scales(
        settings=settings, db=open_scales(settings).db, open_driver=open_scales(settings).open_driver
    )
    seed(scales, goods, ports)
    uploader = Uploader(scales)
    started = time.perf_counter()
    assert len(uploader.start_due()) == len(ports)
    for future in list(uploader.busy.values()):
        result = future.result()
        assert isinstance(result, service.UploadResult) and result.error is None, result
        assert result.written == len(goods), result
    seconds = time.perf_counter() - started
    uploader.pool.shutdown()
    total = len(goods) * len(ports)
    print(f"{len(goods):,} PLUs to each of {len(ports)} CAS scales at once ({total:,} PLUs)")
    ratio = report("upload through the scale server", seconds, bare_seconds, "s", lower_is_better=True)
    print(
        f"  {total / seconds:,.0f} PLUs/s through the scale server; {total / bare_seconds:,.0f} PLUs/s bare"
    )
    print(f"goal ratio ≤ {GOAL_RATIO:g}: {'met' if ratio <= GOAL_RATIO else 'NOT met'} (ratio {ratio:.2f})")


if __name__ == "__main__":
    main()
