"""One database API for the embedded SQLite default and for PostgreSQL, chosen by a URL.

Every use case runs in one transaction: ``with db.write() as conn`` for changes, ``db.read()`` for
queries. On SQLite a write transaction starts with ``BEGIN IMMEDIATE`` so that two writers queue on the
busy timeout instead of failing half-way with "database is locked"; the file is in WAL mode (readers
never wait for the writer) with foreign keys on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Date,
    DateTime,
    Engine,
    Float,
    MetaData,
    Numeric,
    Table,
    create_engine,
    event,
)
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.pool import NullPool, QueuePool
from sqlalchemy.types import TypeDecorator, TypeEngine

AFTER_COMMIT = "osuite_after_commit"


class Database:
    """An engine plus the transaction discipline every program follows."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = normalize_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        if self.is_sqlite:
            self.engine = _sqlite_engine(self.url)
        else:
            self.engine = create_engine(
                self.url, pool_size=pool_size, max_overflow=pool_size * 2, pool_pre_ping=True
            )

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction: committed when the block ends, rolled back if it raises.

        Callbacks registered with :func:`after_commit` run once the commit is durable.
        """
        with self.engine.connect() as plain:
            conn = plain.execution_options(osuite_immediate=True)
            try:
                with conn.begin():
                    yield conn
            finally:
                # conn.info lives as long as the pooled connection: never leave hooks for the next user.
                callbacks: list[Callable[[], None]] = conn.info.pop(AFTER_COMMIT, [])
        for callback in callbacks:
            callback()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction with a consistent view."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()


def after_commit(conn: Connection, callback: Callable[[], None]) -> None:
    """Run ``callback`` after the transaction of ``conn`` commits (not at all if it rolls back)."""
    conn.info.setdefault(AFTER_COMMIT, []).append(callback)


def insert_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert many rows with one driver-level ``executemany``, for the hot bulk paths (document intake,
    catalog import): SQLAlchemy's per-row parameter processing costs more than the database's work.

    Every row must have the same keys. Values are converted the way SQLAlchemy stores them on SQLite
    (and aware datetimes normalized to UTC, which SQLAlchemy does not do there); PostgreSQL takes them
    as they are.
    """
    _execute_many(conn, table, rows, ())


def upsert_rows(
    conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], key_columns: Sequence[str]
) -> None:
    """Like :func:`insert_rows`, but a row whose key exists replaces it (``ON CONFLICT … DO UPDATE``,
    which SQLite and PostgreSQL both speak)."""
    _execute_many(conn, table, rows, tuple(key_columns))


def _execute_many(
    conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], key_columns: tuple[str, ...]
) -> None:
    if not rows:
        return
    columns = tuple(rows[0].keys())
    sql = _insert_sql(conn.dialect, table, columns, key_columns)
    values = itemgetter(*columns) if len(columns) > 1 else (lambda row: (row[columns[0]],))
    params: list[tuple[Any, ...]] = [values(row) for row in rows]
    if conn.dialect.name == "sqlite":
        # Convert only the columns that need it; most values go to the driver as they are.
        converters = [(i, _sqlite_converter(table.c[name].type)) for i, name in enumerate(columns)]
        needed = [(i, convert) for i, convert in converters if convert is not _same]
        if needed:
            converted = []
            for param in params:
                fixed = list(param)
                for i, convert in needed:
                    fixed[i] = convert(fixed[i])
                converted.append(tuple(fixed))
            params = converted
    conn.exec_driver_sql(sql, params)


_insert_sql_cache: dict[tuple[str, str, tuple[str, ...], tuple[str, ...]], str] = {}


def _insert_sql(
    dialect: Dialect, table: Table, columns: tuple[str, ...], key_columns: tuple[str, ...]
) -> str:
    cache_key = (dialect.name, table.name, columns, key_columns)
    sql = _insert_sql_cache.get(cache_key)
    if sql is None:
        quote = dialect.identifier_preparer.quote
        marker = "?" if dialect.name == "sqlite" else "%s"
        sql = (
            f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
            f"VALUES ({', '.join(marker for _ in columns)})"
        )
        if key_columns:
            updates = [c for c in columns if c not in key_columns]
            action = (
                "DO UPDATE SET " + ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in updates)
                if updates
                else "DO NOTHING"
            )
            sql += f" ON CONFLICT ({', '.join(quote(c) for c in key_columns)}) {action}"
        _insert_sql_cache[cache_key] = sql
    return sql


def _sqlite_converter(column_type: TypeEngine[Any]) -> Callable[[Any], Any]:
    if isinstance(column_type, DateTime):
        return _sqlite_datetime
    if isinstance(column_type, Date):
        return _sqlite_date
    if isinstance(column_type, Numeric) and not isinstance(column_type, Float):
        return _sqlite_number
    return _same


def _sqlite_datetime(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def _sqlite_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _sqlite_number(value: Decimal | int | None) -> float | int | None:
    return value if value is None or isinstance(value, int) else float(value)


def _same(value: Any) -> Any:
    return value


def normalize_url(url: str) -> str:
    """Accept the URLs people write (``postgresql://…``) and pick the drivers we ship (psycopg 3)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername not in ("postgresql+psycopg", "sqlite", "sqlite+pysqlite"):
        raise ValueError(f"unsupported database URL {url!r}: use sqlite:///FILE or postgresql://…")
    return parsed.render_as_string(hide_password=False)


def _sqlite_engine(url: str) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # Pooled connections: closing the last connection to a WAL database checkpoints it (an fsync), so a
    # connection per transaction would pay that on every commit. A pooled connection is used by one
    # thread at a time, so sharing it across threads is safe.
    in_memory = not database or database == ":memory:"
    engine = create_engine(
        url,
        poolclass=NullPool if in_memory else QueuePool,
        connect_args={"check_same_thread": False, "timeout": 30},
        **({} if in_memory else {"pool_size": 8, "max_overflow": 24}),
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("osuite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def named_metadata() -> MetaData:
    """Table metadata whose constraints and indexes get predictable names, so a migration written today
    can name them tomorrow on SQLite and PostgreSQL alike."""
    return MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class UtcDateTime(TypeDecorator[datetime]):
    """A moment stored in UTC and always read back with its offset: SQLite keeps no offset, so its
    moments would otherwise come back naive and could not be compared with aware ones."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"{value!r} has no UTC offset")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
