"""The POS's settings (``[pos]`` TOML file or ``OSUITE_POS_…`` variables).

Which data server it belongs to is not a setting: ``osuite pos enroll`` records it in the POS's own
database, with the token the data server gave, so a POS cannot be pointed at a stranger by a typo.
"""

from __future__ import annotations

from typing import ClassVar

from osuite.core.settings import ProgramSettings


class PosSettings(ProgramSettings):
    program: ClassVar[str] = "pos"
    default_port: ClassVar[int] = 8710

    registrar_url: str = "http://127.0.0.1:16732"
    """The fiscal registrar's ATOL web server (or `osuite devices emulate registrar`)."""
    card_terminal_url: str = ""
    """The bank card terminal; empty when the till takes no cards."""
    scale_address: str = ""
    """host:port of a Massa-K checkout scale (protocol 100); empty when weights are typed."""
    device_timeout_seconds: float = 10.0
    """How long to wait for the registrar or the scale before telling the cashier."""
    card_timeout_seconds: float = 90.0
    """How long a card payment may take (the customer types the PIN)."""
    heartbeat_seconds: float = 30.0
    """How often the POS tells its data server how it is."""
    long_poll_seconds: float = 25.0
    """How long one pull for reference data waits for news at the data server."""
    processing_url: str = ""
    """The loyalty processing center the till asks about cards (its subordinate center, usually); empty
    when the store has no loyalty program."""
    processing_key: str = ""
    """An API key of scope ``pos`` made at that center (`osuite processing key --scope pos`)."""
    processing_timeout_seconds: float = 5.0
    """How long to wait for the processing center before the sale goes on without it."""
    points_hold_minutes: int = 60
    """How long points reserved by a payment stay reserved for the receipt at the processing center."""
