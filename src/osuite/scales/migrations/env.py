"""Alembic's environment for the scale server's database."""

from osuite.core.migrations import run_env
from osuite.scales.tables import metadata

run_env(metadata)
