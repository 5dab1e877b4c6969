"""What the POS asks of a checkout scale: the current stable weight."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Protocol


class ScaleErrorCode(StrEnum):
    UNREACHABLE = "unreachable"
    UNSTABLE = "unstable"  # the weight is still settling: ask again
    OVERLOAD = "overload"
    EMPTY = "empty"  # nothing on the platform (zero or negative weight)


class ScaleError(Exception):
    def __init__(self, code: ScaleErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class WeightScale(Protocol):
    def weight(self) -> Decimal:
        """The stable net weight in kg with 3 decimal places; raises :class:`ScaleError` otherwise."""
        ...

    def close(self) -> None: ...
