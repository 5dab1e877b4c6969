"""Databases for tests: a fresh SQLite file, or a fresh PostgreSQL schema when OSUITE_TEST_PG_URL is set."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import psycopg

PG_URL = os.environ.get("OSUITE_TEST_PG_URL", "")


@contextmanager
def fresh_database(directory: Path, name: str = "test") -> Iterator[str]:
    """A database URL nobody else uses; dropped afterwards."""
    if not PG_URL:
        yield f"sqlite:///{directory / (name + '.db')}"
        return
    schema = f"t_{name}_{secrets.token_hex(4)}".lower()
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
