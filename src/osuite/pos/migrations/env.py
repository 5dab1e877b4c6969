"""Alembic's environment for the POS's database."""

from osuite.core.migrations import run_env
from osuite.pos.tables import metadata

run_env(metadata)
