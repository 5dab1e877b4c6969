"""The processing center's settings (TOML file or ``OSUITE_PROCESSING_…`` variables)."""

from __future__ import annotations

from typing import ClassVar, Literal

from osuite.core.settings import ProgramSettings

Role = Literal["root", "subordinate"]


class ProcessingSettings(ProgramSettings):
    program: ClassVar[str] = "processing"
    default_port: ClassVar[int] = 8702

    role: Role | None = None
    """``root`` (exactly one in a network: it owns every account's right to spend) or ``subordinate``
    (serves its stores, replicates with the root, spends within what the root lends it). A database
    keeps the role it was first started with; left out, the center is what its database says (a new
    one: a root)."""
    hold_minutes: int = 15
    """How long a hold lasts when the POS does not say."""
    max_hold_minutes: int = 24 * 60
    """The longest hold a POS may ask for."""
    grant_hours: int = 24
    """At the root: how long an allowance lent to a subordinate lasts when it does not say."""
    enrollment_code_hours: int = 72
    """At the root: how long a one-time enrollment code for a subordinate stays valid."""
    upstream_sync: bool = True
    """At a subordinate enrolled with a root: pull the root's changes and send this center's movements."""
    cached_accounts: int = 200_000
    """How many accounts' journals are kept in memory (each read once, then kept up to date)."""
