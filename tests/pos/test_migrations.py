"""The POS's migrations build exactly the schema its tables describe, and running them again changes
nothing (every `serve` runs them)."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from osuite.core.db import Database
from osuite.core.migrations import upgrade
from osuite.pos.tables import metadata


def test_migrations_match_the_tables_and_are_idempotent(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'pos.db'}")
    upgrade(db, "osuite.pos")
    upgrade(db, "osuite.pos")
    with db.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    db.dispose()
    assert differences == []
