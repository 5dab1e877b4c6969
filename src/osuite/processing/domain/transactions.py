"""The POS's transactions with a processing center: retries that never apply twice, holds, and the
movements each operation writes.

**Idempotency.** Every call from a POS carries a transaction id made at the POS. The center keeps each
request it carried out (its operation and a fingerprint of its contents) with the answer it gave. A call
whose id is new is carried out; one whose id is known is compared with what was stored
(:func:`same_request`): the same request gets the stored answer again, whatever happened since; a
different request under a known id is refused (:class:`~osuite.processing.domain.errors.ConflictingRetry`),
since the POS must have reused an id by mistake and either answer could be wrong.

**Holds.** A hold reserves points for an open receipt: it counts against what can be spent until it
expires, is committed or is released. A commit spends at most what the hold reserved (the rest is let
go with it); a release, or the hold's expiry, lets all of it go. A hold that expired cannot be
committed: the POS places a new one.

**What may be spent.** Every operation that takes points (a redemption, a hold, a commit, a debit
adjustment) is checked against ``spendable``: what this center may spend of the account — at the root
:func:`~osuite.processing.domain.allowance.root_spendable`, at a subordinate
:func:`~osuite.processing.domain.allowance.spendable_at` — or, when ``None``, the account's available
points. Operations refused change nothing: they raise, and no movement is made.

**Returns.** A return takes back the accrual's share (:func:`reverse_accrual`) and gives back the points
that paid (:func:`give_back`); see :func:`~osuite.processing.domain.rules.return_effects`. Taking back
never leaves the account below zero here: it takes what is left of the accrual's lot (pending or not),
then the account's other available points, and what it cannot take is reported as ``unrecovered``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from osuite.core.i18n import N_
from osuite.processing.domain.checks import check_moment, check_points, check_text
from osuite.processing.domain.errors import (
    CommitOverHold,
    ConflictingRetry,
    HoldClosed,
    HoldExpired,
    HoldNotFound,
    InsufficientBalance,
    InvalidInput,
    Phrase,
)
from osuite.processing.domain.journal import AccountState, Hold, Kind, Movement
from osuite.processing.domain.rules import (
    Accrual,
    GiftCardTerms,
    Payment,
    Program,
    ReceiptLine,
    accrual,
)

# --- idempotency --------------------------------------------------------------------------------------


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.utcoffset() is not None else value.isoformat()
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    raise TypeError(f"{type(value).__name__} is not part of a request")


def fingerprint(operation: str, contents: Mapping[str, Any]) -> str:
    """A hash of a request that is the same for the same request however its keys are ordered."""
    text = json.dumps(
        {"operation": operation, "contents": contents}, sort_keys=True, separators=(",", ":"), default=_plain
    )
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Request:
    """A call from the POS: its ``transaction_id``, the ``operation`` (``hold``, ``commit``, ``accrue`` …)
    and its ``contents`` (the account, amounts, lines … as JSON values)."""

    transaction_id: str
    operation: str
    contents: Mapping[str, Any]

    def __post_init__(self) -> None:
        check_text(self.transaction_id, Phrase(N_("A transaction's id")))
        check_text(self.operation, Phrase(N_("A transaction's operation")))

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.operation, self.contents)


@dataclass(frozen=True)
class StoredRequest:
    """A request carried out, as the center keeps it: its id, operation, fingerprint and answer."""

    transaction_id: str
    operation: str
    fingerprint: str
    answer: Mapping[str, Any]

    @classmethod
    def of(cls, request: Request, answer: Mapping[str, Any]) -> StoredRequest:
        return cls(request.transaction_id, request.operation, request.fingerprint, answer)


def same_request(stored: StoredRequest, new: Request) -> bool:
    """``True`` when ``new`` repeats ``stored`` (then answer ``stored.answer`` again and do nothing);
    refuses a different request under the same transaction id."""
    if stored.transaction_id != new.transaction_id:
        raise InvalidInput(
            N_("The transaction {stored} is not {new}"), stored=stored.transaction_id, new=new.transaction_id
        )
    if stored.operation != new.operation or stored.fingerprint != new.fingerprint:
        raise ConflictingRetry(transaction_id=new.transaction_id)
    return True


def replay(stored: StoredRequest | None, new: Request) -> Mapping[str, Any] | None:
    """The answer to give again when ``new`` was carried out before, ``None`` when it is new."""
    if stored is None:
        return None
    same_request(stored, new)
    return stored.answer


# --- what may be spent --------------------------------------------------------------------------------


def _bound(
    state: AccountState, now: datetime, spendable: int | None, *, releasing: Hold | None = None
) -> int:
    held = state.held_at(now) - (releasing.amount if releasing is not None else 0)
    available = max(0, state.active_at(now) - held)
    if spendable is None:
        return available
    return min(available, check_points(spendable, Phrase(N_("What this center may spend"))))


def _check_spend(amount: int, bound: int) -> None:
    if amount > bound:
        raise InsufficientBalance(requested=amount, available=bound)


@dataclass(frozen=True)
class Made:
    """Where and when a movement is made, and the ids it carries: the movement's own ``id`` (a UUIDv7
    the caller makes), the ``origin`` center, ``now``, and the POS's transaction and receipt."""

    id: str
    origin: str
    now: datetime
    transaction_id: str | None = None
    receipt_id: str | None = None

    def __post_init__(self) -> None:
        check_moment(self.now, Phrase(N_("The time of the operation")))

    def movement(self, account_id: str, kind: Kind, amount: int, **more: Any) -> Movement:
        return Movement(
            id=self.id,
            account_id=account_id,
            kind=kind,
            amount=amount,
            occurred_at=self.now,
            origin=self.origin,
            transaction_id=self.transaction_id,
            receipt_id=self.receipt_id,
            **more,
        )


# --- holds --------------------------------------------------------------------------------------------


def place_hold(
    state: AccountState, *, amount: int, expires_at: datetime, made: Made, spendable: int | None = None
) -> Movement:
    """A hold of ``amount`` points until ``expires_at``; refuses more than may be spent."""
    check_points(amount, Phrase(N_("The points to hold")), positive=True)
    check_moment(expires_at, Phrase(N_("The end of the hold")))
    if expires_at <= made.now:
        raise InvalidInput(N_("A hold must last beyond the moment it is placed"))
    _check_spend(amount, _bound(state, made.now, spendable))
    return made.movement(state.account_id, Kind.HOLD, amount, expires_at=expires_at)


def _open_hold(state: AccountState, hold_id: str, now: datetime) -> Hold:
    hold = state.hold(hold_id)
    if hold is None:
        raise HoldNotFound(hold_id=hold_id)
    if hold.closed_by is not None:
        raise HoldClosed(hold_id=hold_id)
    if now >= hold.expires_at:
        raise HoldExpired(hold_id=hold_id, expired_at=hold.expires_at)
    return hold


def commit_hold(
    state: AccountState, *, hold_id: str, amount: int, made: Made, spendable: int | None = None
) -> Movement:
    """The redemption that spends ``amount`` of the hold (at most what it reserved) and closes it.

    ``spendable`` is what the center may spend with this hold let go (``releasing=hold_id`` in
    :mod:`~osuite.processing.domain.allowance`): points that expired while the hold was open, or that
    were lent out since, are not there to spend even though the hold reserved them.
    """
    check_points(amount, Phrase(N_("The points to spend")), positive=True)
    hold = _open_hold(state, hold_id, made.now)
    if amount > hold.amount:
        raise CommitOverHold(amount=amount, held=hold.amount)
    _check_spend(amount, _bound(state, made.now, spendable, releasing=hold))
    return made.movement(state.account_id, Kind.REDEMPTION, -amount, refers_to=hold.id)


def release_hold(state: AccountState, *, hold_id: str, made: Made) -> Movement:
    """The release of a hold (cancel at the POS); a hold that has expired may still be released."""
    hold = state.hold(hold_id)
    if hold is None:
        raise HoldNotFound(hold_id=hold_id)
    if hold.closed_by is not None:
        raise HoldClosed(hold_id=hold_id)
    return made.movement(state.account_id, Kind.HOLD_RELEASE, 0, refers_to=hold.id)


# --- spending, earning, returns, corrections ----------------------------------------------------------


def redeem(state: AccountState, *, amount: int, made: Made, spendable: int | None = None) -> Movement:
    """A redemption of ``amount`` points without a hold."""
    check_points(amount, Phrase(N_("The points to spend")), positive=True)
    _check_spend(amount, _bound(state, made.now, spendable))
    return made.movement(state.account_id, Kind.REDEMPTION, -amount)


def accrue(
    program: Program,
    *,
    account_id: str,
    lines: Sequence[ReceiptLine],
    payments: Sequence[Payment],
    made: Made,
) -> tuple[Accrual, Movement | None]:
    """The receipt's accrual by line, and the movement that credits it (none when it earns nothing)."""
    earned = accrual(program, lines, payments)
    if not earned.total:
        return earned, None
    activates_at, expires_at = program.lot_times(made.now)
    return earned, made.movement(
        account_id, Kind.ACCRUAL, earned.total, activates_at=activates_at, expires_at=expires_at
    )


@dataclass(frozen=True)
class Reversal:
    """What a return takes back: the ``movement`` (none when nothing can be taken) and what could not be
    taken because the points were spent or expired already (``unrecovered``)."""

    movement: Movement | None
    unrecovered: int


def reverse_accrual(
    state: AccountState, *, accrual_id: str, due: int, made: Made, spendable: int | None = None
) -> Reversal:
    """Take back ``due`` points of the accrual ``accrual_id``: what is left of its lot (pending or
    active), then other points that may be spent; never more than there is."""
    check_points(due, Phrase(N_("The points to take back")))
    lot = state.lot(accrual_id)
    if lot is None or lot.kind != Kind.ACCRUAL:
        raise InvalidInput(N_("There is no accrual {accrual_id} on this account"), accrual_id=accrual_id)
    pending_part = lot.remaining if lot.activates_at > made.now and lot.remaining else 0
    can_take = pending_part + _bound(state, made.now, spendable)
    taken = min(due, can_take)
    if not taken:
        return Reversal(movement=None, unrecovered=due)
    return Reversal(
        movement=made.movement(state.account_id, Kind.REVERSAL, -taken, refers_to=accrual_id),
        unrecovered=due - taken,
    )


def give_back(program: Program, *, account_id: str, redemption_id: str, amount: int, made: Made) -> Movement:
    """A refund of ``amount`` points that paid for returned goods: a new lot, active at once, expiring
    like freshly active points of the program."""
    check_points(amount, Phrase(N_("The points to give back")), positive=True)
    expires_at = None if program.expiry_days is None else made.now + timedelta(days=program.expiry_days)
    return made.movement(account_id, Kind.REFUND, amount, refers_to=redemption_id, expires_at=expires_at)


def adjust(
    state: AccountState,
    *,
    amount: int,
    reason: str,
    actor: str,
    made: Made,
    expires_at: datetime | None = None,
    spendable: int | None = None,
) -> Movement:
    """An operator's correction: a credit (a lot active at once, expiring at ``expires_at`` or never)
    or a debit, which may not take more than may be spent. ``reason`` and ``actor`` are required."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0:
        raise InvalidInput(
            N_("An adjustment must add or take some points, not {amount}"), amount=repr(amount)
        )
    check_text(reason, Phrase(N_("The reason for the adjustment")))
    check_text(actor, Phrase(N_("Who makes the adjustment")))
    if amount < 0:
        if expires_at is not None:
            raise InvalidInput(N_("Points taken away do not expire"))
        _check_spend(-amount, _bound(state, made.now, spendable))
    return made.movement(
        state.account_id, Kind.ADJUSTMENT, amount, reason=reason, actor=actor, expires_at=expires_at
    )


def load_gift_card(terms: GiftCardTerms, *, account_id: str, made: Made) -> Movement:
    """The gift card's nominal, loaded at once, valid for the terms' days."""
    return made.movement(account_id, Kind.GIFT_LOAD, terms.nominal, expires_at=terms.expires_at(made.now))
