"""Alembic's environment for the Manager's database (its sessions and the log of what people did)."""

from osuite.core.migrations import run_env
from osuite.manager.tables import metadata

run_env(metadata)
