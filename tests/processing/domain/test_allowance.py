"""Offline allowances: what the root lends its subordinates, what each may spend, and why together they
never spend more than an account has — checked on random histories of a root and three subordinates
with partitions, heals and a running clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial

import pytest
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from osuite.processing.domain.allowance import (
    attribute,
    check_allowed,
    grant,
    reserved,
    root_spendable,
    settle,
    spends_of,
    subordinate_spendable,
)
from osuite.processing.domain.errors import DomainError, InvalidInput, OverAllowance
from osuite.processing.domain.journal import AccountState, Kind, Movement, derive
from osuite.processing.domain.rules import Payment, Program, ReceiptLine
from osuite.processing.domain.transactions import (
    Made,
    accrue,
    commit_hold,
    place_hold,
    redeem,
    release_hold,
)
from tests.processing.domain.support import ACCOUNT, ROOT, at, credit, mv, next_id

SUB = "sub-1"


def made(origin: str, when: datetime) -> Made:
    return Made(id=next_id("a"), origin=origin, now=when)


def state_of(movements: list[Movement], when: datetime) -> AccountState:
    return derive(movements, as_of=when, account_id=ACCOUNT)


# --- examples -----------------------------------------------------------------------------------------


def test_the_root_lends_what_it_may_spend_at_most() -> None:
    journal = [credit(1_000, at(0))]
    state = state_of(journal, at(1))
    decision = grant(state, state.grants, SUB, 600, at(1), made=made(ROOT, at(1)))
    assert (decision.amount, decision.expires_at) == (600, at(1) + timedelta(hours=24))
    assert decision.movement is not None
    assert (decision.movement.kind, decision.movement.holder, decision.movement.origin) == (
        Kind.GRANT,
        SUB,
        ROOT,
    )
    journal.append(decision.movement)
    state = state_of(journal, at(1))
    assert root_spendable(state, at(1), root=ROOT) == 400
    second = grant(state, state.grants, "sub-2", 600, at(1), made=made(ROOT, at(1)))
    assert second.amount == 400
    journal.append(second.movement)  # type: ignore[arg-type]
    state = state_of(journal, at(1))
    nothing = grant(state, state.grants, "sub-3", 1, at(1), made=made(ROOT, at(1)))
    assert (nothing.amount, nothing.movement) == (0, None)


def test_a_grant_expires_no_later_than_the_points_it_is_cut_from() -> None:
    soon = credit(300, at(0), expires_in=1, id="soon")
    later = credit(1_000, at(0), expires_in=30, id="later")
    state = state_of([soon, later], at(0, hours=12))
    first = grant(state, state.grants, SUB, 200, at(0, hours=12), made=made(ROOT, at(0, hours=12)))
    assert first.expires_at == at(1)  # cut from the lot that expires first
    assert first.movement is not None
    state = state_of([soon, later, first.movement], at(0, hours=12))
    second = grant(state, state.grants, "sub-2", 200, at(0, hours=12), made=made(ROOT, at(0, hours=12)))
    assert second.expires_at == at(1)  # 100 of the soon lot is left, then the later one
    third = grant(state, state.grants, "sub-2", 100, at(0, hours=12), made=made(ROOT, at(0, hours=12)))
    assert third.expires_at == at(1)
    long = grant(
        state,
        state.grants,
        "sub-2",
        200,
        at(0, hours=12),
        made=made(ROOT, at(0, hours=12)),
        duration=timedelta(days=3),
    )
    assert long.expires_at == at(1)
    state = state_of([soon, later, first.movement, third.movement], at(0, hours=12))  # type: ignore[list-item]
    fourth = grant(
        state,
        state.grants,
        "sub-3",
        500,
        at(0, hours=12),
        made=made(ROOT, at(0, hours=12)),
        duration=timedelta(days=3),
    )
    assert fourth.expires_at == at(0, hours=12) + timedelta(days=3)  # the soon lot is all lent out


def test_a_grant_outliving_its_points_would_let_two_cut_off_subordinates_overspend() -> None:
    # Two lots: A expires on day 1, B on day 30. The root lends A to sub-1 and B to sub-2; both lose
    # the link. Sub-2 spends B on day 2. Had sub-1's grant outlived A, sub-1 — which still sees B — could
    # spend it too on day 3, and the account would owe 1.00.
    a = credit(100, at(0), expires_in=1, id="lot-a")
    b = credit(100, at(0), expires_in=30, id="lot-b")
    journal = [a, b]
    g1 = grant(
        state_of(journal, at(0)), (), SUB, 100, at(0), made=made(ROOT, at(0)), duration=timedelta(days=5)
    )
    assert g1.expires_at == at(1)
    journal.append(g1.movement)  # type: ignore[arg-type]
    g2 = grant(
        state_of(journal, at(0)),
        state_of(journal, at(0)).grants,
        "sub-2",
        100,
        at(0),
        made=made(ROOT, at(0)),
        duration=timedelta(days=5),
    )
    assert g2.expires_at == at(5)
    journal.append(g2.movement)  # type: ignore[arg-type]
    sub2 = [*journal, redeem(state_of(journal, at(2)), amount=100, made=made("sub-2", at(2)), spendable=100)]
    assert subordinate_spendable(state_of(journal, at(3)), SUB, at(3)) == 0
    assert state_of(sub2, at(3)).overdrawn == 0


def test_a_subordinate_spends_only_within_its_unspent_grants_less_its_holds() -> None:
    lot = credit(1_000, at(0))
    lent = grant(state_of([lot], at(1)), (), SUB, 500, at(1), made=made(ROOT, at(1))).movement
    assert lent is not None
    journal = [lot, lent]
    assert subordinate_spendable(state_of(journal, at(1)), SUB, at(1)) == 500
    journal.append(redeem(state_of(journal, at(1)), amount=200, made=made(SUB, at(1)), spendable=500))
    hold = place_hold(state_of(journal, at(1)), amount=100, expires_at=at(1, hours=1), made=made(SUB, at(1)))
    journal.append(hold)
    state = state_of(journal, at(1))
    assert subordinate_spendable(state, SUB, at(1)) == 200
    assert subordinate_spendable(state, SUB, at(1), releasing=hold.id) == 300
    assert subordinate_spendable(state, "sub-2", at(1)) == 0  # grants are not shared
    assert subordinate_spendable(state, SUB, at(2)) == 0  # the grant has expired
    with pytest.raises(OverAllowance, match=r"this center may spend only 2\.00 of the account"):
        check_allowed(300, subordinate_spendable(state, SUB, at(1)))


def test_a_hold_at_a_subordinate_may_last_only_as_long_as_grants_that_cover_it() -> None:
    lot = credit(1_000, at(0))
    short = grant(
        state_of([lot], at(1)), (), SUB, 300, at(1), made=made(ROOT, at(1)), duration=timedelta(hours=1)
    )
    journal = [lot, short.movement]
    state = state_of(journal, at(1))  # type: ignore[arg-type]
    assert subordinate_spendable(state, SUB, at(1), until=at(1, hours=1)) == 300
    assert subordinate_spendable(state, SUB, at(1), until=at(1, hours=2)) == 0


def test_the_root_keeps_a_grant_reserved_after_it_expires_until_its_holder_gives_it_back() -> None:
    lot = credit(1_000, at(0))
    lent = grant(state_of([lot], at(1)), (), SUB, 500, at(1), made=made(ROOT, at(1))).movement
    assert lent is not None
    spend = mv(Kind.REDEMPTION, -200, at(1, hours=2), origin=SUB)
    at_root = state_of([lot, lent], at(3))  # the spend has not arrived
    assert reserved(at_root) == 500
    assert root_spendable(at_root, at(3), root=ROOT) == 500
    at_sub = state_of([lot, lent, spend], at(3))
    release = settle(at_sub, lent.id, made=made(SUB, at(3)))
    assert (release.kind, release.amount, release.refers_to) == (Kind.GRANT_RELEASE, 200, lent.id)
    # The release arrives before the spend: 2.00 is still on its way.
    early = state_of([lot, lent, release], at(3))
    assert (reserved(early), root_spendable(early, at(3), root=ROOT)) == (200, 800)
    everything = state_of([lot, lent, release, spend], at(3))
    assert (reserved(everything), root_spendable(everything, at(3), root=ROOT)) == (0, 800)


def test_only_the_holder_gives_a_grant_back_and_not_while_it_holds_points() -> None:
    lot = credit(1_000, at(0))
    lent = grant(state_of([lot], at(1)), (), SUB, 500, at(1), made=made(ROOT, at(1))).movement
    assert lent is not None
    hold = mv(Kind.HOLD, 100, at(1), origin=SUB, expires_at=at(1, hours=1))
    state = state_of([lot, lent, hold], at(1))
    with pytest.raises(InvalidInput, match="Only sub-1, which holds grant"):
        settle(state, lent.id, made=made("sub-2", at(1)))
    with pytest.raises(InvalidInput, match="while holds are open"):
        settle(state, lent.id, made=made(SUB, at(1)))
    release = settle(state_of([lot, lent, hold], at(1, hours=1)), lent.id, made=made(SUB, at(1, hours=1)))
    assert release.amount == 0
    with pytest.raises(InvalidInput, match="given back already"):
        settle(state_of([lot, lent, hold, release], at(2)), lent.id, made=made(SUB, at(2)))


def test_the_root_lends_nothing_to_itself() -> None:
    state = state_of([credit(1_000, at(0))], at(1))
    with pytest.raises(InvalidInput, match="cannot lend points to itself"):
        grant(state, (), ROOT, 10, at(1), made=made(ROOT, at(1)))


def test_a_holders_spends_come_out_of_the_grants_that_expire_first() -> None:
    lot = credit(10_000, at(0))
    g1 = mv(Kind.GRANT, 300, at(1), holder=SUB, expires_at=at(3))
    g2 = mv(Kind.GRANT, 300, at(1), holder=SUB, expires_at=at(2))
    spends = [
        mv(Kind.REDEMPTION, -400, at(1, hours=1), origin=SUB),
        mv(Kind.REDEMPTION, -100, at(2), origin=SUB),
    ]
    state = state_of([lot, g1, g2, *spends], at(2))
    assert attribute(state.grants, spends_of(state.movements, SUB)).used == {g2.id: 300, g1.id: 200}


# --- a root, three subordinates, partitions and heals -------------------------------------------------

CENTERS = (ROOT, "sub-1", "sub-2", "sub-3")
SUBS = CENTERS[1:]
SHARES = st.integers(1, 130)  # a percent of what the center may spend: now and then more than it may
HOURS = st.integers(1, 72)  # how long a grant is asked for
FIRST = st.sampled_from(["nothing", "ask the root", "ask, then lose the link"])  # before a subordinate spends


class Network(RuleBasedStateMachine):
    """Each center keeps its own journal of the account. A subordinate cut off from the root uses only
    what it holds; a sync exchanges the journals of a subordinate and the root (what the others did
    reaches it through the root)."""

    def __init__(self) -> None:
        super().__init__()
        self.now = at(0)
        self.journals: dict[str, dict[str, Movement]] = {c: {} for c in CENTERS}
        self.connected = dict.fromkeys(SUBS, True)
        self.created: set[str] = set()
        self.program = Program(accrual_percent=Decimal(10), expiry_days=2)

    @initialize(
        delay=st.sampled_from([0, 1]), opening=st.lists(st.integers(1, 10_000), min_size=1, max_size=3)
    )
    def open_account(self, delay: int, opening: list[int]) -> None:
        """The program, and points the account already had (active, expiring at different times)."""
        self.program = Program(accrual_percent=Decimal(10), activation_days=delay, expiry_days=2)
        for n, amount in enumerate(opening):
            self.record(
                ROOT, mv(Kind.ACCRUAL, amount, self.now, expires_at=self.now + timedelta(hours=12 * (n + 1)))
            )

    # -- helpers --

    def state(self, center: str) -> AccountState:
        return derive(self.journals[center].values(), as_of=self.now, account_id=ACCOUNT)

    def record(self, center: str, movement: Movement) -> None:
        assert movement.id not in self.journals[center]
        self.journals[center][movement.id] = movement
        self.created.add(movement.id)

    def spendable(self, center: str, *, until: datetime | None = None, releasing: str | None = None) -> int:
        state = self.state(center)
        if center == ROOT:
            return root_spendable(state, self.now, root=ROOT, releasing=releasing)
        return subordinate_spendable(state, center, self.now, until=until, releasing=releasing)

    def exchange(self, sub: str) -> None:
        for one, other in ((sub, ROOT), (ROOT, sub)):
            for movement_id, movement in self.journals[one].items():
                self.journals[other].setdefault(movement_id, movement)  # stored once by id

    def attempt(self, center: str, make: Callable[[], Movement]) -> None:
        before = dict(self.journals[center])
        where = "root" if center == ROOT else "sub" + (" (cut off)" if not self.connected[center] else "")
        try:
            movement = make()
        except DomainError as refusal:
            event(f"{where}: {type(refusal).__name__}")
            assert self.journals[center] == before
            return
        event(f"{where}: {movement.kind.value}")
        self.record(center, movement)

    # -- operations --

    @rule(center=st.sampled_from(CENTERS), amount=st.integers(1, 5_000))
    def sell(self, center: str, amount: int) -> None:
        _, movement = accrue(
            self.program,
            account_id=ACCOUNT,
            lines=[ReceiptLine(1, "goods", amount * 10)],
            payments=[Payment("card", amount * 10)],
            made=Made(id=next_id("s"), origin=center, now=self.now),
        )
        assert movement is not None
        self.record(center, movement)

    def ask_root(self, sub: str, share: int, hours: int) -> None:
        """A connected subordinate asks the root to lend it ``share`` % of what the root may lend."""
        if not self.connected[sub]:
            return
        state = self.state(ROOT)
        requested = self.spendable(ROOT) * share // 100
        decision = grant(
            state,
            state.grants,
            sub,
            requested,
            self.now,
            made=made(ROOT, self.now),
            duration=timedelta(hours=hours),
        )
        assert decision.amount <= requested
        event(f"grant: {'none' if not decision.amount else 'less' if decision.amount < requested else 'all'}")
        if decision.movement is not None:
            self.record(ROOT, decision.movement)
        self.exchange(sub)

    def prepare(self, center: str, first: str, share: int, hours: int) -> None:
        if center != ROOT and first != "nothing":
            self.ask_root(center, share, hours)
            if first == "ask, then lose the link":
                self.connected[center] = False

    @rule(center=st.sampled_from(CENTERS), share=SHARES, first=FIRST, hours=HOURS)
    def spend(self, center: str, share: int, first: str, hours: int) -> None:
        self.prepare(center, first, share, hours)
        bound = self.spendable(center)
        amount = max(1, bound * share // 100)
        self.attempt(
            center,
            lambda: redeem(self.state(center), amount=amount, made=made(center, self.now), spendable=bound),
        )

    @rule(
        center=st.sampled_from(CENTERS),
        share=SHARES,
        ask=st.booleans(),
        hours=HOURS,
        lasts=st.integers(1, 12),
    )
    def hold(self, center: str, share: int, ask: bool, hours: int, lasts: int) -> None:
        if ask and center != ROOT:
            self.ask_root(center, share, hours)
        until = self.now + timedelta(hours=lasts)
        bound = self.spendable(center, until=until)
        amount = max(1, bound * share // 100)
        self.attempt(
            center,
            lambda: place_hold(
                self.state(center),
                amount=amount,
                expires_at=until,
                made=made(center, self.now),
                spendable=bound,
            ),
        )

    @rule(center=st.sampled_from(CENTERS), pick=st.integers(0, 10), share=SHARES)
    def commit(self, center: str, pick: int, share: int) -> None:
        state = self.state(center)
        holds = [h for h in state.holds if h.origin == center and h.live_at(self.now)]
        if not holds:
            return
        hold = holds[pick % len(holds)]
        bound = self.spendable(center, releasing=hold.id)
        spend = max(1, hold.amount * min(share, 100) // 100)
        self.attempt(
            center,
            lambda: commit_hold(
                state, hold_id=hold.id, amount=spend, made=made(center, self.now), spendable=bound
            ),
        )

    @rule(center=st.sampled_from(CENTERS), pick=st.integers(0, 10))
    def cancel(self, center: str, pick: int) -> None:
        state = self.state(center)
        holds = [h for h in state.holds if h.origin == center and h.closed_by is None]
        if holds:
            self.record(
                center, release_hold(state, hold_id=holds[pick % len(holds)].id, made=made(center, self.now))
            )

    @rule(sub=st.sampled_from(SUBS), share=SHARES, hours=HOURS)
    def lend(self, sub: str, share: int, hours: int) -> None:
        self.ask_root(sub, share, hours)

    @rule(sub=st.sampled_from(SUBS), early=st.booleans())
    def give_back(self, sub: str, early: bool) -> None:
        state = self.state(sub)
        for g in state.grants:
            if g.holder == sub and g.released_at is None and (early or self.now >= g.expires_at):
                self.attempt(sub, partial(self.settle, sub, g.id))

    def settle(self, sub: str, grant_id: str) -> Movement:
        return settle(self.state(sub), grant_id, made=made(sub, self.now))

    @rule(center=st.sampled_from(CENTERS))
    def write_expiries(self, center: str) -> None:
        """A center stores the expiries it derived (a record, perhaps stale later)."""
        for expiry in self.state(center).expiries:
            self.journals[center].setdefault(expiry.id, expiry)

    @rule(hours=st.integers(1, 30))
    def wait(self, hours: int) -> None:
        self.now += timedelta(hours=hours)

    @rule(sub=st.sampled_from(SUBS), up=st.booleans())
    def link(self, sub: str, up: bool) -> None:
        self.connected[sub] = up
        event("cut" if not up else "healed")

    @rule(sub=st.sampled_from(SUBS))
    def sync(self, sub: str) -> None:
        if self.connected[sub]:
            self.exchange(sub)

    @rule()
    def heal_everything(self) -> None:
        self.final_exchange()

    # -- what must hold --

    @invariant()
    def nobody_spends_more_than_the_account_has(self) -> None:
        everything: dict[str, Movement] = {}
        for journal in self.journals.values():
            everything.update((i, m) for i, m in journal.items() if m.kind != Kind.EXPIRY)
        truth = derive(everything.values(), as_of=self.now, account_id=ACCOUNT)
        assert truth.overdrawn == 0, "the centers together spent points the account did not have"
        assert truth.spent <= truth.credited
        for center in CENTERS:
            assert self.state(center).overdrawn == 0

    def final_exchange(self) -> None:
        for sub in SUBS:
            self.connected[sub] = True
            self.exchange(sub)
        for sub in SUBS:
            self.exchange(sub)
        ids = {c: set(self.journals[c]) for c in CENTERS}
        assert all(ids[c] == ids[ROOT] for c in CENTERS), "a center misses movements after the final sync"
        assert self.created <= ids[ROOT], "a movement was lost"
        states = [self.state(c) for c in CENTERS]
        assert all(s == states[0] for s in states), "centers derive different balances"
        assert len({m.id for m in states[0].movements}) == len(states[0].movements)
        created = [m for m in states[0].movements if m.kind != Kind.EXPIRY]
        assert {m.id for m in created} == self.created, "a movement was lost or invented"

    def teardown(self) -> None:
        self.final_exchange()


Network.TestCase.settings = settings(max_examples=200, stateful_step_count=60, deadline=None)
test_a_root_and_three_subordinates_never_spend_more_than_an_account_has = Network.TestCase
