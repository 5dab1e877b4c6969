"""Alembic environment of the processing center (see osuite.core.migrations)."""

from osuite.core.migrations import run_env
from osuite.processing.tables import metadata

run_env(metadata)
