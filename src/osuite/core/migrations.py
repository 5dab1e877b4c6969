"""Alembic migrations per program, applied by ``serve`` at start and by ``osuite <program> migrate``.

Each program keeps its scripts in ``osuite/<program>/migrations`` with an ``env.py`` that calls
:func:`run_env`; no ``alembic.ini`` is needed.
"""

from __future__ import annotations

from importlib import resources

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData

from osuite.core.db import Database


def alembic_config(db: Database, package: str) -> Config:
    """An Alembic config for ``package``'s migrations against ``db``."""
    config = Config()
    config.set_main_option("script_location", str(resources.files(package) / "migrations"))
    config.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    config.attributes["database"] = db
    return config


def upgrade(db: Database, package: str, revision: str = "head") -> None:
    """Bring ``db`` to ``revision`` (the newest by default); safe to run on every start."""
    command.upgrade(alembic_config(db, package), revision)


def run_env(metadata: MetaData) -> None:
    """The body of every program's ``env.py``: run migrations online on the program's database."""
    db: Database | None = context.config.attributes.get("database")
    owned = db is None
    if db is None:
        db = Database(context.config.get_main_option("sqlalchemy.url") or "")
    try:
        with db.engine.connect() as connection:
            context.configure(connection=connection, target_metadata=metadata, render_as_batch=db.is_sqlite)
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
    finally:
        if owned:
            db.dispose()
