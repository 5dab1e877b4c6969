"""What the processing center refuses beyond the loyalty rules (an unknown card, a receipt accrued
twice …), and how every refusal becomes problem details: a ``type`` per refusal that a POS can act on,
the English ``detail``, and the message's ``template`` and ``params`` so a screen can show it in its
user's language."""

from __future__ import annotations

from typing import Any

from osuite.core.http import Problem
from osuite.core.i18n import N_
from osuite.processing.domain.errors import (
    CardBlocked,
    CardLost,
    CommitOverHold,
    ConflictingMovement,
    ConflictingRetry,
    DomainError,
    HoldClosed,
    HoldExpired,
    HoldNotFound,
    InsufficientBalance,
    InvalidInput,
    OverAllowance,
    OverCap,
    ReturnTooLarge,
)


class Refused(DomainError):
    """A request the center will not carry out; nothing has changed."""

    status = 409
    kind = "refused"


class NotFound(Refused):
    status = 404
    kind = "not_found"


class CardNotFound(NotFound):
    kind = "card_not_found"

    def __init__(self, *, number: str) -> None:
        super().__init__(N_("There is no card {number}"), number=number)


class AccountNotFound(NotFound):
    kind = "account_not_found"

    def __init__(self, *, account_id: str) -> None:
        super().__init__(N_("There is no account {account_id}"), account_id=account_id)


class CustomerNotFound(NotFound):
    kind = "customer_not_found"

    def __init__(self, *, customer_id: str) -> None:
        super().__init__(N_("There is no customer {customer_id}"), customer_id=customer_id)


class ProgramNotFound(NotFound):
    kind = "program_not_found"

    def __init__(self, *, program_id: str) -> None:
        super().__init__(N_("There is no loyalty program {program_id}"), program_id=program_id)


class SaleNotFound(NotFound):
    kind = "sale_not_found"

    def __init__(self, *, receipt_id: str) -> None:
        super().__init__(
            N_("No sale with receipt {receipt_id} was accrued to this card's account"), receipt_id=receipt_id
        )


class AlreadyExists(Refused):
    kind = "already_exists"


class AlreadyAccrued(Refused):
    """A receipt earns once: a second accrual of it (under another transaction id) is refused."""

    kind = "already_accrued"

    def __init__(self, *, receipt_id: str, transaction_id: str) -> None:
        super().__init__(
            N_("Receipt {receipt_id} was already accrued by transaction {transaction_id}"),
            receipt_id=receipt_id,
            transaction_id=transaction_id,
        )


class WrongAccountType(Refused):
    kind = "wrong_account_type"


class NotHere(Refused):
    """Something only the root (or only a subordinate) does."""

    kind = "wrong_center"


_KINDS: list[tuple[type[DomainError], int, str]] = [
    (ConflictingRetry, 409, "conflicting_retry"),
    (ConflictingMovement, 409, "conflicting_movement"),
    (CardBlocked, 409, "card_blocked"),
    (CardLost, 409, "card_lost"),
    (OverAllowance, 409, "over_allowance"),
    (InsufficientBalance, 409, "insufficient_balance"),
    (OverCap, 409, "over_cap"),
    (HoldNotFound, 404, "hold_not_found"),
    (HoldClosed, 409, "hold_closed"),
    (HoldExpired, 409, "hold_expired"),
    (CommitOverHold, 409, "commit_over_hold"),
    (ReturnTooLarge, 409, "return_too_large"),
    (InvalidInput, 422, "invalid_input"),
]


def status_and_kind(error: DomainError) -> tuple[int, str]:
    if isinstance(error, Refused):
        return error.status, error.kind
    for cls, status, kind in _KINDS:
        if isinstance(error, cls):
            return status, kind
    return 409, "refused"


def problem_of(error: DomainError) -> Problem:
    """The problem details of a refusal."""
    status, kind = status_and_kind(error)
    title = kind.replace("_", " ").capitalize()
    return Problem(
        status,
        title,
        error.message,
        type_=kind,
        template=error.template,
        params={name: _plain(value) for name, value in error.params.items()},
    )


def _plain(value: Any) -> Any:
    """A message's value as JSON: a phrase as its template and values, numbers as they are."""
    template, params = getattr(value, "template", None), getattr(value, "params", None)
    if isinstance(template, str) and isinstance(params, dict):
        return {"template": template, "params": {k: _plain(v) for k, v in params.items()}}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
