"""What the loyalty rules refuse, each with a message a cashier or an operator can read and act on.

Every message names the account's numbers, what was asked and what would be allowed instead. It is
written in English with its values named and marked with :func:`~osuite.core.i18n.N_`, so a screen can
show it in its user's language: the service layer passes ``template`` and ``params`` on (``message``,
and ``str(error)``, are the English text). Points are shown like money (minor units, two places).
"""

from __future__ import annotations

from datetime import datetime

from osuite.core.i18n import N_
from osuite.core.money import format_money


def _filled(template: str, params: dict[str, object]) -> str:
    return template.format(**params) if params else template


class Phrase:
    """Words that go inside a message, translated with it (``"The amount of the hold"``): an English
    template with named values like a message's. As a value it reads as its English text; a renderer
    that knows phrases translates it first."""

    __slots__ = ("params", "template")

    def __init__(self, template: str, /, **params: object) -> None:
        self.template = template
        self.params = params

    def __str__(self) -> str:
        return _filled(self.template, self.params)

    def __repr__(self) -> str:
        return f"Phrase({str(self)!r})"


class DomainError(Exception):
    """A request the loyalty rules refuse; nothing has changed."""

    def __init__(self, message: str, /, **params: object) -> None:
        self.template = message
        self.params = params
        self.message = _filled(message, params)
        super().__init__(self.message)


class InvalidInput(DomainError):
    """An amount, a time or a movement that cannot be what the caller says (negative, naive, unknown …)."""


class ConflictingMovement(DomainError):
    """Two different movements carry the same id: a movement is written once and never changes."""

    def __init__(self, *, movement_id: str) -> None:
        super().__init__(
            N_("Two different movements carry the id {movement_id}; a movement never changes once written"),
            movement_id=movement_id,
        )
        self.movement_id = movement_id


class InsufficientBalance(DomainError):
    """Points asked for (spent, held, taken back) that the account, or this center, cannot give."""

    def __init__(self, *, requested: int, available: int) -> None:
        super().__init__(
            N_("{requested} points were asked for, but only {available} are available"),
            requested=format_money(requested),
            available=format_money(available),
        )
        self.requested = requested
        self.available = available


class OverAllowance(DomainError):
    """A subordinate asked to spend more of an account than the root has allowed it."""

    def __init__(self, *, requested: int, allowed: int) -> None:
        super().__init__(
            N_(
                "{requested} points were asked for, but this center may spend only {allowed} of the"
                " account until the root center allows more"
            ),
            requested=format_money(requested),
            allowed=format_money(allowed),
        )
        self.requested = requested
        self.allowed = allowed


class OverCap(DomainError):
    """Points asked to pay more of a receipt than the program lets points pay."""

    def __init__(self, *, requested: int, cap: int) -> None:
        super().__init__(
            N_("Points can pay at most {cap} of this receipt, not {requested}"),
            cap=format_money(cap),
            requested=format_money(requested),
        )
        self.requested = requested
        self.cap = cap


class CardBlocked(DomainError):
    """A card its holder or the store has blocked."""

    def __init__(self, *, number: str) -> None:
        super().__init__(N_("Card {number} is blocked"), number=number)
        self.number = number


class CardLost(DomainError):
    """A card reported lost; its account lives on under the card that replaced it, if any."""

    def __init__(self, *, number: str, replaced_by: str | None) -> None:
        if replaced_by is None:
            super().__init__(N_("Card {number} was reported lost"), number=number)
        else:
            super().__init__(
                N_("Card {number} was reported lost and replaced by card {replaced_by}"),
                number=number,
                replaced_by=replaced_by,
            )
        self.number = number
        self.replaced_by = replaced_by


class HoldNotFound(DomainError):
    def __init__(self, *, hold_id: str) -> None:
        super().__init__(N_("There is no hold {hold_id} on this account"), hold_id=hold_id)
        self.hold_id = hold_id


class HoldClosed(DomainError):
    """A hold already committed or released: it reserves nothing any more."""

    def __init__(self, *, hold_id: str) -> None:
        super().__init__(N_("The hold {hold_id} is already committed or released"), hold_id=hold_id)
        self.hold_id = hold_id


class HoldExpired(DomainError):
    def __init__(self, *, hold_id: str, expired_at: datetime) -> None:
        super().__init__(
            N_("The hold {hold_id} expired at {expired_at}; place a new one"),
            hold_id=hold_id,
            expired_at=expired_at.isoformat(timespec="seconds"),
        )
        self.hold_id = hold_id


class CommitOverHold(DomainError):
    """A commit spending more than its hold reserved."""

    def __init__(self, *, amount: int, held: int) -> None:
        super().__init__(
            N_("{amount} points cannot be spent from a hold of {held}"),
            amount=format_money(amount),
            held=format_money(held),
        )


class ConflictingRetry(DomainError):
    """A transaction id seen before, now with different contents: a retry must repeat the request."""

    def __init__(self, *, transaction_id: str) -> None:
        super().__init__(
            N_(
                "The transaction {transaction_id} was already carried out with different contents;"
                " a retry must repeat the same request, a new request needs a new id"
            ),
            transaction_id=transaction_id,
        )
        self.transaction_id = transaction_id


class ReturnTooLarge(DomainError):
    """A return asking back more of a line than its sale left to return."""

    def __init__(self, *, line_no: int, sold: str, already_returned: str, requested: str) -> None:
        super().__init__(
            N_("Line {line_no}: {sold} sold, {already_returned} already returned, {requested} requested"),
            line_no=line_no,
            sold=sold,
            already_returned=already_returned,
            requested=requested,
        )
        self.line_no = line_no
