"""The migrations build exactly the schema the code describes, on SQLite and on PostgreSQL, and running
them again changes nothing."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from osuite.core.db import Database
from osuite.core.migrations import upgrade
from osuite.license.tables import metadata


def test_migrations_match_the_tables_and_are_idempotent(db_url: str) -> None:
    db = Database(db_url)
    upgrade(db, "osuite.license")
    upgrade(db, "osuite.license")  # every serve does this
    with db.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    db.dispose()
    assert differences == []
