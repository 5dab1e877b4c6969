"""What a subordinate may spend of an account while it cannot reach the root: allowances in escrow.

The root owns every account's right to spend. It lends a subordinate a slice of it as a *grant* (a
``grant`` movement recorded at the root, naming the subordinate as ``holder``, with an ``expires_at``);
the subordinate spends (redeems, holds) only within its grants, and gives each back when it is done or
the grant has expired (a ``grant_release`` movement saying how much of it the holder spent). The
holder's spends reach the root through the sync engine like any movement, in any order, any time later.

**The invariant.** For each account, at the root, at every moment:

    root's own live holds + Σ over subordinates of what their grants may still take  ≤  active points

where what a subordinate's grants may still take is their amounts (for a grant given back: what the
holder said it spent of it) less the holder's spends the root has already seen
(:func:`reserved`). The root checks it before every spend, hold and grant of its own
(:func:`root_spendable`, :func:`grant`), and a subordinate never spends beyond its unspent, unexpired
grants less its own live holds (:func:`spendable_at`).

**Why partitioned centers together never spend more than the balance.** Every spend is either the
root's own, made against points that no grant reserves, or a subordinate's, made within a grant whose
whole amount the root has kept reserved since it made it. A grant keeps being reserved after it
expires and until its holder gives it back, because a cut-off holder's spends may still be on their
way; so nothing the root frees can also be spent by a subordinate, and the sum of what all centers can
spend, whichever of them are cut off, is at most the points the root knows of — which are at most the
points credited. Expiry cannot break this: a grant expires no later than any lot it is cut from
(the root's active lots in the order spends consume them, earliest expiry first, after what is held or
reserved already), so everything a subordinate spends of it is spent while those points are still
alive; when its spends arrive late, the journal replays them at the time they happened, earliest-expiring
points first, and an expiry takes only what is left. The price of safety is that points lent to a
subordinate stay out of the others' reach until it has spent them or given them back.

**Accruals at a subordinate** are not spendable there until the root has them: they go up with the
sync, and the root lends them out like any other points. (Spending them at once would be safe only if
the subordinate knew which of its credits the root had not counted yet; the activation delay of most
programs makes the wait moot, and gift cards sold at a cut-off store wait for the link.)

**Holds and commits.** A hold at a subordinate lasts no longer than grants that cover it
(``until``), so its commit finds them still usable; a commit is checked with its own hold let go
(``releasing``). Every spend is also checked against the account as the center's own journal shows it
(:mod:`~osuite.processing.domain.transactions`), which is never less safe.

**Returns are not spending.** A reversal (a return taking back its accrual) is not bounded by
allowances: it takes what the recording center sees. If another center let the customer spend those
very points while the two were apart, the merged journal leaves the account owing them (a debt the next
points pay) — the one way an account goes below zero, and not through anything spent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from osuite.core.i18n import N_
from osuite.processing.domain.checks import check_moment, check_points, check_text
from osuite.processing.domain.errors import InvalidInput, OverAllowance, Phrase
from osuite.processing.domain.journal import AccountState, GrantState, Kind, Movement
from osuite.processing.domain.transactions import Made

DEFAULT_GRANT_DURATION = timedelta(hours=24)

_SPENDS = frozenset({Kind.REDEMPTION, Kind.ADJUSTMENT, Kind.HOLD, Kind.HOLD_RELEASE})


def spends_of(movements: Iterable[Movement], center: str) -> tuple[Movement, ...]:
    """The movements by which ``center`` spends or reserves points: its redemptions, debit adjustments,
    holds and their releases."""
    return tuple(
        m
        for m in movements
        if m.origin == center and m.kind in _SPENDS and not (m.kind == Kind.ADJUSTMENT and m.amount > 0)
    )


def _permanent(spends: Iterable[Movement]) -> list[Movement]:
    return sorted(
        (m for m in spends if m.kind in (Kind.REDEMPTION, Kind.ADJUSTMENT) and m.amount < 0),
        key=lambda m: (m.occurred_at, m.id),
    )


@dataclass(frozen=True)
class Attribution:
    """Which grant each of a holder's spends came out of: ``used`` by grant id, and ``beyond`` what no
    grant covered (a holder that broke the rules)."""

    used: dict[str, int] = field(default_factory=dict)
    beyond: int = 0


def attribute(grants: Sequence[GrantState], spends: Iterable[Movement]) -> Attribution:
    """A holder's spends, in the order they happened, each out of the grants usable at that moment that
    expire first. The same movements give the same answer at the root and at the holder."""
    usable = sorted(grants, key=lambda g: (g.expires_at, g.id))
    used = {g.id: 0 for g in usable}
    beyond = 0
    for spend in _permanent(spends):
        amount = -spend.amount
        for g in usable:
            if amount == 0:
                break
            if g.usable_at(spend.occurred_at):
                part = min(amount, g.amount - used[g.id])
                used[g.id] += part
                amount -= part
        beyond += amount
    return Attribution(used=used, beyond=beyond)


def _live_holds(spends: Iterable[Movement], now: datetime, releasing: str | None = None) -> int:
    spends = list(spends)
    closed = {
        m.refers_to
        for m in spends
        if m.kind in (Kind.HOLD_RELEASE, Kind.REDEMPTION) and m.refers_to is not None
    }
    return sum(
        m.amount
        for m in spends
        if m.kind == Kind.HOLD
        and m.id not in closed
        and m.id != releasing
        and m.expires_at is not None
        and now < m.expires_at
    )


def spendable_at(
    subordinate: str,
    grants: Sequence[GrantState],
    spends: Iterable[Movement],
    now: datetime,
    *,
    until: datetime | None = None,
    releasing: str | None = None,
) -> int:
    """What ``subordinate`` may spend of the account at ``now``: what its grants usable now (and, with
    ``until``, still usable until then — for a hold that lasts so long) have not given yet, less its
    live holds but ``releasing`` (the hold a commit closes). ``spends`` are its own
    (:func:`spends_of`)."""
    check_moment(now, Phrase(N_("The time of the spend")))
    mine = [g for g in grants if g.holder == subordinate]
    spends = [m for m in spends if m.origin == subordinate]
    attribution = attribute(mine, spends)
    unspent = sum(
        g.amount - attribution.used[g.id]
        for g in mine
        if g.usable_at(now) and (until is None or until <= g.expires_at)
    )
    return max(0, unspent - _live_holds(spends, now, releasing) - attribution.beyond)


def subordinate_spendable(
    state: AccountState,
    subordinate: str,
    now: datetime,
    *,
    until: datetime | None = None,
    releasing: str | None = None,
) -> int:
    """:func:`spendable_at` with the grants and spends a subordinate's own journal holds."""
    spends = spends_of(state.movements, subordinate)
    return spendable_at(subordinate, state.grants, spends, now, until=until, releasing=releasing)


def check_allowed(amount: int, allowed: int) -> int:
    """``amount`` itself when a subordinate may spend it; the refusal that says how much it may."""
    if amount > allowed:
        raise OverAllowance(requested=amount, allowed=allowed)
    return amount


def reserved(state: AccountState, grants: Sequence[GrantState] | None = None) -> int:
    """What the root must keep for its subordinates: for each holder, what its grants may still take
    (their amounts, or what it said it spent of those it gave back) less its spends seen so far."""
    grants = state.grants if grants is None else grants
    total = 0
    for holder in sorted({g.holder for g in grants}):
        theirs = [g for g in grants if g.holder == holder]
        bound = sum(g.amount if g.settled is None else min(g.settled, g.amount) for g in theirs)
        seen = sum(attribute(theirs, spends_of(state.movements, holder)).used.values())
        total += max(0, bound - seen)
    return total


def root_spendable(
    state: AccountState,
    now: datetime,
    *,
    root: str,
    grants: Sequence[GrantState] | None = None,
    releasing: str | None = None,
) -> int:
    """What the root may spend, hold or lend of the account at ``now``: its active points less its own
    live holds (but ``releasing``, the hold a commit closes) and what it keeps for its subordinates."""
    check_moment(now, Phrase(N_("The time of the spend")))
    held = sum(h.amount for h in state.holds if h.origin == root and h.id != releasing and h.live_at(now))
    return max(0, state.active_at(now) - held - reserved(state, grants))


@dataclass(frozen=True)
class GrantDecision:
    """What the root lends: ``amount`` (perhaps less than asked, perhaps 0) until ``expires_at``, and the
    ``movement`` to record (none when nothing is lent)."""

    amount: int
    expires_at: datetime | None
    movement: Movement | None


def grant(
    root_state: AccountState,
    outstanding_grants: Sequence[GrantState],
    subordinate: str,
    requested: int,
    now: datetime,
    *,
    made: Made,
    duration: timedelta = DEFAULT_GRANT_DURATION,
) -> GrantDecision:
    """Lend ``subordinate`` up to ``requested`` points of the account for at most ``duration``.

    ``outstanding_grants`` are the grants the root has made of the account (normally
    ``root_state.grants``). The grant is what the root may still spend, at most; it expires after
    ``duration`` or when the first of the lots it is cut from expires, whichever comes first; ``made``
    names the root (its ``origin``) and the grant's id.
    """
    check_text(subordinate, Phrase(N_("The subordinate to lend to")))
    check_points(requested, Phrase(N_("The points asked for")))
    check_moment(now, Phrase(N_("The time of the grant")))
    if subordinate == made.origin:
        raise InvalidInput(N_("The root cannot lend points to itself"))
    if duration <= timedelta(0):
        raise InvalidInput(N_("A grant must last some time"))
    root = made.origin
    amount = min(requested, root_spendable(root_state, now, root=root, grants=outstanding_grants))
    if amount == 0:
        return GrantDecision(amount=0, expires_at=None, movement=None)
    skip = (
        root_state.overdrawn + root_state.held_at(now, origin=root) + reserved(root_state, outstanding_grants)
    )
    expires_at = now + duration
    need = amount
    lots = sorted(
        (lot for lot in root_state.lots if lot.active_at(now) and lot.remaining > 0),
        key=lambda lot: (lot.expires_at is None, lot.expires_at or lot.occurred_at, lot.activates_at, lot.id),
    )
    for lot in lots:
        if need == 0:
            break
        passed = min(skip, lot.remaining)
        skip -= passed
        part = min(need, lot.remaining - passed)
        if part and lot.expires_at is not None:
            expires_at = min(expires_at, lot.expires_at)
        need -= part
    movement = Movement(
        id=made.id,
        account_id=root_state.account_id,
        kind=Kind.GRANT,
        amount=amount,
        occurred_at=now,
        origin=root,
        holder=subordinate,
        expires_at=expires_at,
        transaction_id=made.transaction_id,
    )
    return GrantDecision(amount=amount, expires_at=expires_at, movement=movement)


def settle(state: AccountState, grant_id: str, *, made: Made) -> Movement:
    """The holder gives grant ``grant_id`` back, saying how much of it it spent (from its own journal,
    ``state``). ``made.origin`` must be the holder; before the grant expires it may give it back only
    with no hold open."""
    target = next((g for g in state.grants if g.id == grant_id), None)
    if target is None:
        raise InvalidInput(N_("There is no grant {grant_id} on this account"), grant_id=grant_id)
    if target.holder != made.origin:
        raise InvalidInput(
            N_("Only {holder}, which holds grant {grant_id}, can give it back"),
            holder=target.holder,
            grant_id=grant_id,
        )
    if target.released_at is not None:
        raise InvalidInput(N_("Grant {grant_id} was given back already"), grant_id=grant_id)
    spends = spends_of(state.movements, made.origin)
    if made.now < target.expires_at and _live_holds(spends, made.now):
        raise InvalidInput(
            N_("Grant {grant_id} cannot be given back while holds are open"), grant_id=grant_id
        )
    # As the root will see it once the release arrives: nothing at or after this moment comes out of it.
    mine = [
        replace(g, released_at=made.now) if g.id == grant_id else g
        for g in state.grants
        if g.holder == made.origin
    ]
    return Movement(
        id=made.id,
        account_id=state.account_id,
        kind=Kind.GRANT_RELEASE,
        amount=attribute(mine, spends).used[grant_id],
        occurred_at=made.now,
        origin=made.origin,
        refers_to=grant_id,
        transaction_id=made.transaction_id,
    )
