"""The database kernel: SQLite pragmas, write transactions, after-commit hooks, and the raw bulk insert
reading back exactly like SQLAlchemy's own insert."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    MetaData,
    Numeric,
    String,
    Table,
    insert,
    select,
)

from osuite.core.db import Database, after_commit, insert_rows, normalize_url
from tests.support.databases import fresh_database

meta = MetaData()
things = Table(
    "things",
    meta,
    Column("id", String(36), primary_key=True),
    Column("amount", BigInteger),
    Column("qty", Numeric(12, 3)),
    Column("at", DateTime(timezone=True)),
    Column("day", Date),
    Column("ok", Boolean),
)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    with fresh_database(tmp_path) as url:
        database = Database(url)
        meta.create_all(database.engine)
        yield database
        database.dispose()


def test_raw_bulk_insert_reads_back_like_sqlalchemy_insert(db: Database) -> None:
    moscow = timezone(timedelta(hours=3))
    row = {
        "amount": 123456789012,
        "qty": Decimal("1.500"),
        "at": datetime(2026, 3, 1, 12, 30, 15, 250000, tzinfo=moscow),
        "day": date(2026, 3, 1),
        "ok": True,
    }
    empty = {"amount": None, "qty": None, "at": None, "day": None, "ok": None}
    with db.write() as conn:
        insert_rows(conn, things, [{"id": "raw", **row}, {"id": "raw-null", **empty}])
        conn.execute(insert(things), [{"id": "orm", **row, "at": row["at"].astimezone(UTC)}])
    with db.read() as conn:
        got = {r.id: r for r in conn.execute(select(things))}
    raw, orm = got["raw"], got["orm"]
    assert (raw.amount, raw.qty, raw.day, raw.ok) == (orm.amount, orm.qty, orm.day, orm.ok)
    assert raw.qty == Decimal("1.500")
    # Stored as the same instant: UTC on SQLite (which keeps no offset), aware on PostgreSQL.
    assert raw.at.replace(tzinfo=None) == orm.at.replace(tzinfo=None)
    assert raw.at.replace(tzinfo=raw.at.tzinfo or UTC) == row["at"]
    assert tuple(got["raw-null"])[1:] == (None, None, None, None, None)


def test_a_failed_write_commits_nothing_and_skips_after_commit_hooks(db: Database) -> None:
    ran: list[str] = []
    with pytest.raises(RuntimeError), db.write() as conn:
        conn.execute(insert(things).values(id="lost"))
        after_commit(conn, lambda: ran.append("hook"))
        raise RuntimeError("boom")
    with db.write() as conn:
        conn.execute(insert(things).values(id="kept"))
        after_commit(conn, lambda: ran.append("hook"))
    with db.read() as conn:
        assert list(conn.execute(select(things.c.id)).scalars()) == ["kept"]
    assert ran == ["hook"]


def test_sqlite_files_are_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    with db.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    db.dispose()


def test_database_urls_people_write_are_accepted_and_others_refused() -> None:
    assert normalize_url("postgresql://u@h/db").startswith("postgresql+psycopg://")
    assert normalize_url("sqlite:///var/x.db") == "sqlite:///var/x.db"
    with pytest.raises(ValueError, match="unsupported database URL"):
        normalize_url("mysql://u@h/db")
