"""Alembic's environment for the license server's database."""

from osuite.core.migrations import run_env
from osuite.license.tables import metadata

run_env(metadata)
