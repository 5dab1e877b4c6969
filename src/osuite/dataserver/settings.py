"""The data server's settings (``[dataserver]`` TOML file or ``OSUITE_DATASERVER_…`` variables)."""

from __future__ import annotations

from typing import ClassVar

from osuite.core.settings import ProgramSettings


class DataServerSettings(ProgramSettings):
    program: ClassVar[str] = "dataserver"
    default_port: ClassVar[int] = 8701

    offline_after_seconds: int = 90
    """A client with no heartbeat for this long is shown offline."""
    tombstone_retention_days: int = 30
    """Deletes are kept this long; a client offline for longer reloads a snapshot when it returns."""
    enrollment_code_hours: int = 72
    """How long a one-time enrollment code stays valid."""
    upstream_sync: bool = True
    """When enrolled with an HQ data server, pull its reference data and forward documents to it."""
