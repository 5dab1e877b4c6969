"""The scale server's settings (``[scales]`` TOML file or ``OSUITE_SCALES_…`` variables).

Which data server it belongs to is not a setting: ``osuite scales enroll`` records it in its database.
"""

from __future__ import annotations

from typing import ClassVar

from osuite.core.settings import ProgramSettings


class ScalesSettings(ProgramSettings):
    program: ClassVar[str] = "scales"
    default_port: ClassVar[int] = 8703

    upload_workers: int = 8
    """How many scales are loaded at the same time."""
    batch_size: int = 200
    """PLUs sent to a scale in one go (a driver may split further)."""
    poll_seconds: float = 30.0
    """How often each scale is asked how it is."""
    retry_max_seconds: float = 300.0
    """The longest wait before trying a scale that failed again (the wait doubles from a second)."""
    heartbeat_seconds: float = 30.0
    """How often the scale server tells its data server how the scales are."""
    long_poll_seconds: float = 25.0
    """How long one pull for catalog changes waits for news at the data server."""
    device_timeout_seconds: float = 3.0
    """How long to wait for a scale's answer."""
