"""What the POS asks of a bank card terminal: the driver interface and its data.

Like the registrar, every operation carries a ``key`` made by the POS (the payment's id): repeating an
operation with a key the terminal already holds answers the first outcome, and ``find`` tells a POS that
lost the answer (a timeout, a crash) whether the money moved.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, Protocol

CardOperation = Literal["pay", "refund", "cancel"]


class CardErrorCode(StrEnum):
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"  # no answer in time: the outcome is unknown until ``find`` says
    BUSY = "busy"
    INVALID = "invalid"  # refused before reaching the bank: bad amount, unknown original …


class CardTerminalError(Exception):
    """The terminal could not give an outcome; ``message`` is for the cashier."""

    def __init__(self, code: CardErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class CardResult:
    key: str
    operation: CardOperation
    approved: bool
    amount: int  # kopecks
    # The bank's answer as the terminal shows it, e.g. "ОДОБРЕНО" / "ОТКАЗ: недостаточно средств".
    message: str
    rrn: str = ""  # retrieval reference number, needed to refund or cancel
    auth_code: str = ""
    card_mask: str = ""  # e.g. "**** 1234"
    slip: tuple[str, ...] = ()  # the lines to print for the customer


class CardTerminal(Protocol):
    """A card terminal driver. Methods raise :class:`CardTerminalError` when there is no outcome; a
    decline is an outcome (``approved`` False), not an error."""

    def pay(self, key: str, amount: int) -> CardResult: ...

    def refund(self, key: str, amount: int, original_rrn: str) -> CardResult: ...

    def cancel(self, key: str, original_rrn: str, amount: int) -> CardResult:
        """Void a payment of the same day (before the terminal's settlement)."""
        ...

    def find(self, key: str) -> CardResult | None: ...

    def close(self) -> None: ...
