"""What the money rules refuse, each with a message a cashier can read and act on.

The service layer shows ``str(error)`` as it is (and maps it to a problem detail over HTTP), so every
message names the line, the amounts and what would be allowed instead.
"""

from __future__ import annotations


class DomainError(Exception):
    """A request the POS's rules refuse; nothing has changed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DomainError):
    """A quantity, price or discount that cannot be what the caller says (negative, too precise …)."""


class ReturnTooLarge(DomainError):
    """A return asking back more of a line than its sale left to return."""

    def __init__(
        self, *, line_no: int, sold: str, already_returned: str, requested: str, remaining: str
    ) -> None:
        super().__init__(
            f"Line {line_no}: {sold} sold, {already_returned} already returned, {requested} requested;"
            f" at most {remaining} can be returned"
        )
        self.line_no = line_no


class RefundTooLarge(DomainError):
    """A refund larger than what the original payments can still give back."""


class NotEnoughCash(DomainError):
    """Cash asked out of the drawer that the drawer does not hold."""


class Overpayment(DomainError):
    """A non-cash payment above what is still due: only cash can be more, the rest is change."""
