"""The Manager's settings (a TOML file of ``name = value`` lines, or ``OSUITE_MANAGER_…`` variables).

The Manager keeps no store data: it shows and changes what the other programs keep, each through its
published client. A program whose URL is left empty is not installed here, and its section is not shown.
"""

from __future__ import annotations

from typing import ClassVar

from osuite.core.settings import ProgramSettings


class ManagerSettings(ProgramSettings):
    program: ClassVar[str] = "manager"
    default_port: ClassVar[int] = 8704

    dataserver_url: str = "http://127.0.0.1:8701"
    """The store's (or head office's) data server: terminals, catalog, people, sales, and who may log in."""
    dataserver_key: str = ""
    """An API key of the data server (`osuite dataserver apikey manager`); the Manager acts with it on
    behalf of the person logged in, whose role decides what they may do."""
    processing_url: str = ""
    """A processing center (`osuite processing serve`); empty: no Loyalty section."""
    processing_key: str = ""
    """An administrator's API key of that center (`osuite processing key manager`)."""
    scales_url: str = ""
    """The scale server (`osuite scales serve`); empty: no Scales section."""
    scales_key: str = ""
    """An API key of the scale server (`osuite scales key manager`)."""
    session_hours: float = 12.0
    """How long a login lasts without being used."""
    timeout_seconds: float = 10.0
    """How long to wait for another program's answer before saying it does not answer."""
