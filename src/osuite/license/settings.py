"""The license server's settings (``[license]`` TOML file or ``OSUITE_LICENSE_…`` variables).

There is no built-in vendor key: the public key that checks the license file is always configured, so
a customer of another vendor key verifies against that key; with none configured the server refuses
to start and says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field

from osuite.core.settings import ProgramSettings


class LicenseSettings(ProgramSettings):
    program: ClassVar[str] = "license"
    default_port: ClassVar[int] = 8700

    license_file: Path | None = None
    """The signed license file the vendor issued."""
    public_key_file: Path | None = None
    """The vendor's public key (PEM) that checks the license file's signature."""
    lease_minutes: float = Field(default=10.0, gt=0, le=24 * 60)
    """How long a seat stays taken without a heartbeat; programs renew it about every third of that."""
