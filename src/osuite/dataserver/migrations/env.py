"""Alembic environment of the data server (see osuite.core.migrations)."""

from osuite.core.migrations import run_env
from osuite.dataserver.tables import metadata

run_env(metadata)
