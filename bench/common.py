"""What the benchmarks share: fresh databases, a data server process, and printing a result."""

from __future__ import annotations

import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import httpx
import psycopg

PG_URL = os.environ.get("OSUITE_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def pg_available() -> bool:
    try:
        psycopg.connect(PG_URL, connect_timeout=3).close()
    except psycopg.Error:
        return False
    return True


@contextmanager
def fresh_database(kind: str, folder: Path, name: str) -> Iterator[str]:
    """A new SQLite file, or a new PostgreSQL schema dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / (name + '.db')}"
        return
    schema = f"bench_{name}_{secrets.token_hex(3)}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        separator = "&" if "?" in PG_URL else "?"
        yield f"{PG_URL}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@contextmanager
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="osuite-bench-") as folder:
        yield Path(folder)


@contextmanager
def dataserver(folder: Path, database_url: str, port: int, workers: int = 1) -> Iterator[str]:
    """`osuite dataserver serve` as a child process, the way a store runs it."""
    log = (folder / f"dataserver-{port}.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "osuite",
            "dataserver",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(folder),
            "--database-url",
            database_url,
            "--config",
            str(_quiet_config(folder)),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError("the data server did not start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def _quiet_config(folder: Path) -> Path:
    path = folder / "bench.toml"
    path.write_text('log_level = "warning"\n')
    return path


def machine() -> str:
    cpus = os.cpu_count()
    arch = platform.processor() or platform.machine()
    return f"{platform.node()} · {arch} · {cpus} cores · Python {platform.python_version()}"


def report(title: str, figure: float, baseline: float, unit: str, *, lower_is_better: bool = False) -> float:
    ratio = (figure / baseline) if lower_is_better else (baseline / figure)
    print(f"{title}: {figure:,.1f} {unit}; bare baseline {baseline:,.1f} {unit}; ratio {ratio:.2f}")
    return ratio
