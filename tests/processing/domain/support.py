"""Small helpers for the processing domain's tests: a clock and movements with readable ids."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from osuite.processing.domain.journal import Kind, Movement

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ACCOUNT = "acc-1"
ROOT = "root"

_ids = itertools.count(1)


def at(days: float = 0, hours: float = 0) -> datetime:
    return T0 + timedelta(days=days, hours=hours)


def next_id(prefix: str = "m") -> str:
    return f"{prefix}{next(_ids):06d}"


def mv(kind: Kind | str, amount: int, when: datetime, **more: Any) -> Movement:
    more.setdefault("id", next_id())
    more.setdefault("account_id", ACCOUNT)
    more.setdefault("origin", ROOT)
    return Movement(kind=Kind(kind), amount=amount, occurred_at=when, **more)


def credit(
    amount: int, when: datetime, *, active_in: float = 0, expires_in: float | None = None, **more: Any
) -> Movement:
    """An accrual at ``when``, active ``active_in`` days later, expiring ``expires_in`` days after that."""
    activates = when + timedelta(days=active_in)
    expires = None if expires_in is None else activates + timedelta(days=expires_in)
    return mv(Kind.ACCRUAL, amount, when, activates_at=activates, expires_at=expires, **more)
