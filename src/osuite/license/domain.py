"""The seat rules in plain Python: who holds a seat, what a refusal says, which leases a smaller license
takes back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

LISTED_HOLDERS = 20
"""A refusal's message names this many holders at most (the problem's ``holders`` lists them all)."""


@dataclass(frozen=True)
class Holder:
    lease_id: str
    program: str
    machine_id: str
    name: str
    address: str
    since: datetime
    renewed_at: datetime
    expires_at: datetime


def moment(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


def no_seat_message(program: str, limit: int, holders: Sequence[Holder], lease_minutes: float) -> str:
    """What a program over the limit is told: the limit, and who holds the seats since when."""
    named = ", ".join(
        f"{h.name} (machine {h.machine_id}, since {moment(h.since)})" for h in holders[:LISTED_HOLDERS]
    )
    more = f" and {len(holders) - LISTED_HOLDERS} more" if len(holders) > LISTED_HOLDERS else ""
    seats = "seat" if limit == 1 else "seats"
    return (
        f"all {limit} {seats} for {program} of the license are taken, by {named}{more}. A seat is freed "
        f"when one of them stops (or has not renewed its lease for {lease_minutes:g} minutes)"
    )


def to_revoke(holders: Sequence[Holder], seats: int) -> list[Holder]:
    """The leases over ``seats`` when a license with fewer seats is loaded: the newest go, the machines
    that held their seats longest keep them."""
    by_age = sorted(holders, key=lambda h: (h.since, h.lease_id))
    return by_age[seats:]
