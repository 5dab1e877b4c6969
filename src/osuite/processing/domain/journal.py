"""An account is an append-only journal of movements; every balance is derived from it, never stored as
the truth.

Points (and a gift card's money) are ``int`` minor units. A movement is written once, where it happened,
with a UUIDv7 made there, and never changes; a correction is a new movement. What each kind means, and
the sign of its ``amount``:

=================  ======  =====================================================================
kind               amount  meaning
=================  ======  =====================================================================
``accrual``        > 0     points earned on a receipt; makes a *lot*
``gift_load``      > 0     a gift card's nominal loaded; makes a lot
``refund``         > 0     points paid for goods that came back, given back; makes a lot
``adjustment``     ≠ 0     an operator's correction with a ``reason`` and the ``actor``; a credit
                           makes a lot, a debit is taken like a redemption
``redemption``     < 0     points spent (``refers_to`` the hold it commits, if any)
``reversal``       < 0     points of an accrual taken back by a return (``refers_to`` the accrual)
``expiry``         < 0     what was left of a lot when it expired (``refers_to`` the lot); derived
``hold``           > 0     points reserved for an open receipt until ``expires_at``
``hold_release``   = 0     a hold given up (``refers_to`` the hold)
``grant``          > 0     spending rights the root lends a subordinate (``holder``) until
                           ``expires_at`` (see :mod:`~osuite.processing.domain.allowance`)
``grant_release``  ≥ 0     the holder gives a grant back, saying how much of it it spent
=================  ======  =====================================================================

A lot is the credit of one movement (its id is the lot's id): it is *pending* until ``activates_at``
(the movement's time when missing), *active* from then on, and whatever is left of it expires at
``expires_at`` (never, when missing).

:func:`derive` answers an account's state from any set of its movements. It replays them in the order
of ``(occurred_at, id)`` — so the same set gives the same state at every center, whatever order the
movements arrived in, and a movement given twice counts once — with, at each moment, the lots that
expire first (then those that activate), then the movements:

- a debit (redemption, debit adjustment) takes from the active lots that expire first (never-expiring
  lots last; then by activation, then id). A reversal first takes what is left of its own accrual's lot,
  pending or active, then like a redemption. What no active lot can give becomes a debt
  (``overdrawn``) that the next points to become active pay first. The rules that write movements
  never let a spend do that (:mod:`~osuite.processing.domain.allowance`); a return that takes back
  points which another center let the customer spend while the two were apart can, and the replay
  must have an answer for any set of movements anyway.
- an expiry takes everything left of its lot at ``expires_at``. Expiries are *consequences*, not
  causes: the replay computes them (``AccountState.expiries``), each with an id derived from its lot's
  (:func:`expiry_id`), so two centers that write the expiry of one lot write one movement, and it
  ignores the expiry movements it is given — their amounts may be stale, written before a movement that
  happened earlier (a subordinate's spend made while cut off) arrived.
- holds and grants reserve without moving points. A hold is live until it is released, committed (a
  redemption that ``refers_to`` it) or its ``expires_at`` passes.

Lots activate and expire up to ``as_of``; every movement given counts, even one stamped later (a
center whose clock runs ahead). Balances at ``as_of``: ``active`` (net of any debt), ``pending``,
``held`` (live holds) and ``available = active − held`` (never shown below zero).
"""

from __future__ import annotations

import heapq
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from osuite.core.i18n import N_
from osuite.core.money import MAX_MONEY, format_money
from osuite.processing.domain.checks import check_moment, check_text
from osuite.processing.domain.errors import ConflictingMovement, InvalidInput, Phrase


class Kind(StrEnum):
    ACCRUAL = "accrual"
    GIFT_LOAD = "gift_load"
    REFUND = "refund"
    ADJUSTMENT = "adjustment"
    REDEMPTION = "redemption"
    REVERSAL = "reversal"
    EXPIRY = "expiry"
    HOLD = "hold"
    HOLD_RELEASE = "hold_release"
    GRANT = "grant"
    GRANT_RELEASE = "grant_release"


CREDITS = frozenset({Kind.ACCRUAL, Kind.GIFT_LOAD, Kind.REFUND})
_NEGATIVE = frozenset({Kind.REDEMPTION, Kind.REVERSAL, Kind.EXPIRY})
_POSITIVE = CREDITS | {Kind.HOLD, Kind.GRANT}
_NEEDS_REFERENCE = frozenset({Kind.REFUND, Kind.REVERSAL, Kind.EXPIRY, Kind.HOLD_RELEASE, Kind.GRANT_RELEASE})
_NO_REFERENCE = frozenset({Kind.ACCRUAL, Kind.GIFT_LOAD, Kind.HOLD, Kind.GRANT})
_LAPSING = frozenset({Kind.HOLD, Kind.GRANT})

_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://osuite.invalid/processing/movements")


def expiry_id(lot_id: str) -> str:
    """The id of the expiry of lot ``lot_id``: the same at every center that computes it."""
    return str(uuid.uuid5(_NAMESPACE, f"expiry/{lot_id}"))


@dataclass(frozen=True)
class Movement:
    """One entry of an account's journal; see the module's table for what each kind carries.

    ``origin`` names the center that recorded it; ``receipt_id`` and ``transaction_id`` (the id the POS
    gave its call) tie it to the sale. Plain values only, so a service stores it as a row and syncs it
    as a document (:meth:`to_json`, :meth:`from_json`).
    """

    id: str
    account_id: str
    kind: Kind
    amount: int
    occurred_at: datetime
    origin: str
    activates_at: datetime | None = None
    expires_at: datetime | None = None
    refers_to: str | None = None
    receipt_id: str | None = None
    transaction_id: str | None = None
    holder: str | None = None
    reason: str | None = None
    actor: str | None = None

    def __post_init__(self) -> None:
        try:
            kind = Kind(self.kind)
        except ValueError:
            raise InvalidInput(N_("{kind} is not a kind of movement"), kind=repr(self.kind)) from None
        object.__setattr__(self, "kind", kind)
        check_text(self.id, Phrase(N_("A movement's id")))
        check_text(self.account_id, Phrase(N_("The account of movement {id}"), id=self.id))
        check_text(self.origin, Phrase(N_("The center that recorded movement {id}"), id=self.id))
        check_moment(self.occurred_at, Phrase(N_("The time of movement {id}"), id=self.id))
        self._check_amount(kind)
        self._check_times(kind)
        self._check_references(kind)

    def _check_amount(self, kind: Kind) -> None:
        amount = self.amount
        if isinstance(amount, bool) or not isinstance(amount, int) or abs(amount) > MAX_MONEY:
            raise InvalidInput(
                N_("The amount {amount} of movement {id} is not a whole number of points"),
                amount=repr(amount),
                id=self.id,
            )
        wrong = (
            (kind in _POSITIVE and amount <= 0)
            or (kind in _NEGATIVE and amount >= 0)
            or (kind == Kind.ADJUSTMENT and amount == 0)
            or (kind == Kind.HOLD_RELEASE and amount != 0)
            or (kind == Kind.GRANT_RELEASE and amount < 0)
        )
        if wrong:
            raise InvalidInput(
                N_("A {kind} movement cannot have the amount {amount}"),
                kind=kind.value,
                amount=format_money(amount),
            )

    def _check_times(self, kind: Kind) -> None:
        for name in ("activates_at", "expires_at"):
            moment = getattr(self, name)
            if moment is not None:
                check_moment(moment, Phrase(N_("The {field} of movement {id}"), field=name, id=self.id))
        if self.makes_lot:
            if self.activates_at is not None and self.activates_at < self.occurred_at:
                raise InvalidInput(
                    N_("A lot cannot activate at {activates_at}, before it was credited at {occurred_at}"),
                    activates_at=self.activates_at.isoformat(),
                    occurred_at=self.occurred_at.isoformat(),
                )
            if self.expires_at is not None and self.expires_at <= self.lot_activates_at:
                raise InvalidInput(
                    N_("A lot cannot expire at {expires_at}, not after it activates at {activates_at}"),
                    expires_at=self.expires_at.isoformat(),
                    activates_at=self.lot_activates_at.isoformat(),
                )
            return
        if self.activates_at is not None:
            raise InvalidInput(N_("A {kind} movement has no {field}"), kind=kind.value, field="activates_at")
        if kind in _LAPSING:
            if self.expires_at is None or self.expires_at <= self.occurred_at:
                raise InvalidInput(
                    N_("A {kind} movement needs {field} after the time it is made"),
                    kind=kind.value,
                    field="expires_at",
                )
        elif self.expires_at is not None:
            raise InvalidInput(N_("A {kind} movement has no {field}"), kind=kind.value, field="expires_at")

    def _check_references(self, kind: Kind) -> None:
        if kind in _NEEDS_REFERENCE and not self.refers_to:
            raise InvalidInput(N_("A {kind} movement needs {field}"), kind=kind.value, field="refers_to")
        if kind in _NO_REFERENCE and self.refers_to is not None:
            raise InvalidInput(N_("A {kind} movement has no {field}"), kind=kind.value, field="refers_to")
        if kind == Kind.GRANT:
            check_text(self.holder, Phrase(N_("The subordinate holding grant {id}"), id=self.id))
        elif self.holder is not None:
            raise InvalidInput(N_("A {kind} movement has no {field}"), kind=kind.value, field="holder")
        if kind == Kind.ADJUSTMENT:
            check_text(self.reason, Phrase(N_("The reason for adjustment {id}"), id=self.id))
            check_text(self.actor, Phrase(N_("Who made adjustment {id}"), id=self.id))

    @property
    def makes_lot(self) -> bool:
        return self.kind in CREDITS or (self.kind == Kind.ADJUSTMENT and self.amount > 0)

    @property
    def lot_activates_at(self) -> datetime:
        return self.activates_at or self.occurred_at

    def to_json(self) -> dict[str, Any]:
        """A JSON object of plain values (times as ISO 8601 with their offset); every field, ``None`` as
        ``null``."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = value.isoformat() if isinstance(value, datetime) else value
        out["kind"] = self.kind.value
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Movement:
        """The movement :meth:`to_json` wrote; refuses an object that is not one (unknown or missing
        fields, wrong types, naive times)."""
        if not isinstance(data, Mapping):
            raise InvalidInput(N_("A movement must be a JSON object, not {value}"), value=repr(data)[:80])
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise InvalidInput(N_("A movement has no field {field}"), field=unknown[0])
        values: dict[str, Any] = {}
        for name in names:
            value = data.get(name)
            if name in _TIMES and value is not None:
                value = _moment(name, value)
            elif name == "amount":
                pass  # checked by the constructor
            elif value is not None and not isinstance(value, str):
                raise InvalidInput(
                    N_("A movement's {field} must be text, not {value}"), field=name, value=repr(value)
                )
            values[name] = value
        for name in _REQUIRED:
            if values.get(name) is None:
                raise InvalidInput(N_("A movement needs {field}"), field=name)
        return cls(**values)


_TIMES = frozenset({"occurred_at", "activates_at", "expires_at"})
_REQUIRED = ("id", "account_id", "kind", "amount", "occurred_at", "origin")


def _moment(name: str, value: object) -> datetime:
    if not isinstance(value, str):
        raise InvalidInput(
            N_("A movement's {field} must be a time, not {value}"), field=name, value=repr(value)
        )
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            N_("A movement's {field} {value} is not a time"), field=name, value=repr(value)
        ) from None
    return check_moment(moment, Phrase(N_("A movement's {field}"), field=name))


# --- derived state ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lot:
    """The credit of one movement and what is left of it."""

    id: str
    kind: Kind
    amount: int
    occurred_at: datetime
    activates_at: datetime
    expires_at: datetime | None
    origin: str
    remaining: int
    expired: int

    def active_at(self, moment: datetime) -> bool:
        return self.activates_at <= moment and (self.expires_at is None or moment < self.expires_at)


@dataclass(frozen=True)
class Hold:
    """A hold and how it ended: ``closed_by`` the release or the commit (then ``committed`` > 0)."""

    id: str
    amount: int
    placed_at: datetime
    expires_at: datetime
    origin: str
    receipt_id: str | None
    transaction_id: str | None
    closed_by: str | None = None
    closed_at: datetime | None = None
    committed: int = 0

    def live_at(self, moment: datetime) -> bool:
        return moment < self.expires_at and (self.closed_at is None or moment < self.closed_at)


@dataclass(frozen=True)
class GrantState:
    """A grant the root made to ``holder``, and its release: ``settled`` is what the holder said it spent
    of it."""

    id: str
    holder: str
    amount: int
    granted_at: datetime
    expires_at: datetime
    origin: str
    released_at: datetime | None = None
    settled: int | None = None

    def usable_at(self, moment: datetime) -> bool:
        return self.granted_at <= moment < self.expires_at and (
            self.released_at is None or moment < self.released_at
        )


@dataclass(frozen=True)
class AccountState:
    """An account as its movements make it at ``as_of``. ``credited`` and ``spent`` are totals over the
    account's life (points ever credited; points ever spent by redemptions and debit adjustments)."""

    account_id: str
    as_of: datetime
    active: int
    pending: int
    held: int
    overdrawn: int
    credited: int
    spent: int
    lots: tuple[Lot, ...] = ()
    holds: tuple[Hold, ...] = ()
    grants: tuple[GrantState, ...] = ()
    expiries: tuple[Movement, ...] = ()
    movements: tuple[Movement, ...] = field(default=(), repr=False)

    @property
    def available(self) -> int:
        return max(0, self.active - self.held)

    def active_at(self, moment: datetime) -> int:
        """Active points at ``moment`` (at or after ``as_of``); lots that expire in between drop out."""
        return sum(lot.remaining for lot in self.lots if lot.active_at(moment)) - self.overdrawn

    def held_at(self, moment: datetime, *, origin: str | None = None) -> int:
        """Points held at ``moment`` (at or after ``as_of``), by holds placed at ``origin`` when given."""
        return sum(
            h.amount for h in self.holds if h.live_at(moment) and (origin is None or h.origin == origin)
        )

    def available_at(self, moment: datetime) -> int:
        return max(0, self.active_at(moment) - self.held_at(moment))

    def lot(self, lot_id: str) -> Lot | None:
        return next((lot for lot in self.lots if lot.id == lot_id), None)

    def hold(self, hold_id: str) -> Hold | None:
        return next((h for h in self.holds if h.id == hold_id), None)


def _edf(lot: _Box) -> tuple[bool, datetime, datetime, str]:
    m = lot.movement
    never = m.expires_at is None
    return (never, m.expires_at or m.occurred_at, m.lot_activates_at, m.id)


class _Box:
    """A lot while the journal is replayed."""

    __slots__ = ("active", "ended", "expired", "movement", "remaining")

    def __init__(self, movement: Movement) -> None:
        self.movement = movement
        self.remaining = movement.amount
        self.expired = 0
        self.active = False
        self.ended = False


class _Replay:
    def __init__(self, account_id: str) -> None:
        self.account_id = account_id
        self.boxes: dict[str, _Box] = {}
        self.spendable: dict[str, _Box] = {}  # active, not expired, something left: what a debit takes from
        self.queue: list[tuple[tuple[bool, datetime, datetime, str], str]] = []  # the same, expiring first
        self.debt = 0
        self.expiries: list[Movement] = []

    def activate(self, box: _Box) -> None:
        box.active = True
        if box.remaining and not box.ended:
            self.spendable[box.movement.id] = box
            heapq.heappush(self.queue, (_edf(box), box.movement.id))
        self.pay_debt()

    def draw(self, box: _Box, amount: int) -> int:
        part = min(amount, box.remaining)
        box.remaining -= part
        if not box.remaining:
            self.spendable.pop(box.movement.id, None)
        return amount - part

    def take(self, amount: int, *, first: str | None = None) -> None:
        own = self.boxes.get(first) if first is not None else None
        if own is not None and not own.ended:
            amount = self.draw(own, amount)
        while amount and self.queue:
            box = self.spendable.get(self.queue[0][1])
            if box is None:  # drawn empty or expired since it was queued
                heapq.heappop(self.queue)
                continue
            amount = self.draw(box, amount)
        self.debt += amount

    def pay_debt(self) -> None:
        if self.debt:
            debt, self.debt = self.debt, 0
            self.take(debt)

    def expire(self, box: _Box) -> None:
        lot = box.movement
        box.expired, box.remaining, box.ended = box.remaining, 0, True
        self.spendable.pop(lot.id, None)
        if box.expired and lot.expires_at is not None:
            self.expiries.append(
                Movement(
                    id=expiry_id(lot.id),
                    account_id=self.account_id,
                    kind=Kind.EXPIRY,
                    amount=-box.expired,
                    occurred_at=lot.expires_at,
                    origin=lot.origin,
                    refers_to=lot.id,
                )
            )

    def apply(self, m: Movement) -> None:
        if m.makes_lot:
            box = self.boxes[m.id] = _Box(m)
            if m.lot_activates_at <= m.occurred_at:
                self.activate(box)
        elif m.kind in (Kind.REDEMPTION, Kind.ADJUSTMENT):
            self.take(-m.amount)
        elif m.kind == Kind.REVERSAL:
            self.take(-m.amount, first=m.refers_to)


_EXPIRE, _ACTIVATE, _MOVE = 0, 1, 2


def distinct(movements: Iterable[Movement]) -> dict[str, Movement]:
    """The movements by id, each once; expiries are left out (they are derived). Two different
    movements with one id are refused."""
    seen: dict[str, Movement] = {}
    for m in movements:
        if m.kind == Kind.EXPIRY:
            continue
        known = seen.setdefault(m.id, m)
        if known is not m and known != m:
            raise ConflictingMovement(movement_id=m.id)
    return seen


def derive(movements: Iterable[Movement], *, as_of: datetime, account_id: str | None = None) -> AccountState:
    """The state at ``as_of`` of the account these movements belong to (all to one account: to
    ``account_id`` when given). See the module's docstring for the rules."""
    check_moment(as_of, Phrase(N_("The time of the balance")))
    by_id = distinct(movements)
    accounts = {m.account_id for m in by_id.values()} | ({account_id} if account_id is not None else set())
    if len(accounts) > 1:
        raise InvalidInput(
            N_("Movements of several accounts cannot make one balance: {accounts}"),
            accounts=", ".join(sorted(accounts)),
        )
    account = accounts.pop() if accounts else ""
    ordered = sorted(by_id.values(), key=lambda m: (m.occurred_at, m.id))

    events: list[tuple[datetime, int, str, Movement]] = []
    for m in ordered:
        events.append((m.occurred_at, _MOVE, m.id, m))
        if m.makes_lot:
            if m.occurred_at < m.lot_activates_at <= as_of:
                events.append((m.lot_activates_at, _ACTIVATE, m.id, m))
            if m.expires_at is not None and m.expires_at <= as_of:
                events.append((m.expires_at, _EXPIRE, m.id, m))
    events.sort(key=lambda e: (e[0], e[1], e[2]))

    replay = _Replay(account)
    for _, phase, movement_id, m in events:
        if phase == _MOVE:
            replay.apply(m)
        elif phase == _ACTIVATE:
            replay.activate(replay.boxes[movement_id])
        else:
            replay.expire(replay.boxes[movement_id])

    lots = tuple(
        Lot(
            id=b.movement.id,
            kind=b.movement.kind,
            amount=b.movement.amount,
            occurred_at=b.movement.occurred_at,
            activates_at=b.movement.lot_activates_at,
            expires_at=b.movement.expires_at,
            origin=b.movement.origin,
            remaining=b.remaining,
            expired=b.expired,
        )
        for b in replay.boxes.values()
    )
    holds = _holds(ordered)
    return AccountState(
        account_id=account,
        as_of=as_of,
        active=sum(lot.remaining for lot in lots if lot.active_at(as_of)) - replay.debt,
        pending=sum(lot.remaining for lot in lots if lot.activates_at > as_of),
        held=sum(h.amount for h in holds if h.live_at(as_of)),
        overdrawn=replay.debt,
        credited=sum(lot.amount for lot in lots),
        spent=sum(
            -m.amount
            for m in ordered
            if m.kind == Kind.REDEMPTION or (m.kind == Kind.ADJUSTMENT and m.amount < 0)
        ),
        lots=lots,
        holds=holds,
        grants=_grants(ordered),
        expiries=tuple(replay.expiries),
        movements=tuple(sorted([*ordered, *replay.expiries], key=lambda m: (m.occurred_at, m.id))),
    )


def _holds(ordered: list[Movement]) -> tuple[Hold, ...]:
    holds = {
        m.id: Hold(
            id=m.id,
            amount=m.amount,
            placed_at=m.occurred_at,
            expires_at=m.expires_at or m.occurred_at,
            origin=m.origin,
            receipt_id=m.receipt_id,
            transaction_id=m.transaction_id,
        )
        for m in ordered
        if m.kind == Kind.HOLD
    }
    for m in ordered:  # in order, so the first to close a hold is the one that counts
        if m.kind not in (Kind.HOLD_RELEASE, Kind.REDEMPTION) or m.refers_to not in holds:
            continue
        hold = holds[m.refers_to]
        if hold.closed_by is None:
            holds[m.refers_to] = replace(
                hold, closed_by=m.id, closed_at=m.occurred_at, committed=max(0, -m.amount)
            )
    return tuple(holds.values())


def _grants(ordered: list[Movement]) -> tuple[GrantState, ...]:
    grants = {
        m.id: GrantState(
            id=m.id,
            holder=m.holder or "",
            amount=m.amount,
            granted_at=m.occurred_at,
            expires_at=m.expires_at or m.occurred_at,
            origin=m.origin,
        )
        for m in ordered
        if m.kind == Kind.GRANT
    }
    for m in ordered:
        if m.kind != Kind.GRANT_RELEASE or m.refers_to not in grants:
            continue
        grant = grants[m.refers_to]
        if grant.released_at is None:
            grants[m.refers_to] = replace(grant, released_at=m.occurred_at, settled=m.amount)
    return tuple(grants.values())
