"""The POS's transactions: retries, holds, and the movements each operation writes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from osuite.processing.domain.errors import (
    CommitOverHold,
    ConflictingRetry,
    DomainError,
    HoldClosed,
    HoldExpired,
    HoldNotFound,
    InsufficientBalance,
    InvalidInput,
)
from osuite.processing.domain.journal import AccountState, Kind, Movement, derive
from osuite.processing.domain.rules import GiftCardTerms, Payment, Program, ReceiptLine
from osuite.processing.domain.transactions import (
    Made,
    Request,
    StoredRequest,
    accrue,
    adjust,
    commit_hold,
    give_back,
    load_gift_card,
    place_hold,
    redeem,
    release_hold,
    replay,
    reverse_accrual,
    same_request,
)
from tests.processing.domain.support import ACCOUNT, ROOT, at, credit, next_id

PROGRAM = Program(accrual_percent=Decimal(5), activation_days=14, expiry_days=180)


def made(when: datetime, **more: str) -> Made:
    return Made(id=next_id("t"), origin=ROOT, now=when, **more)


def state_of(*movements: Movement, when: datetime) -> AccountState:
    return derive(movements, as_of=when, account_id=ACCOUNT)


# --- retries ------------------------------------------------------------------------------------------


def test_a_retry_of_the_same_request_gets_the_stored_answer() -> None:
    first = Request("tx-1", "hold", {"account": ACCOUNT, "amount": 500, "receipt": "r-1"})
    stored = StoredRequest.of(first, {"hold_id": "h-1", "amount": 500})
    again = Request("tx-1", "hold", {"receipt": "r-1", "amount": 500, "account": ACCOUNT})  # keys reordered
    assert same_request(stored, again)
    assert replay(stored, again) == {"hold_id": "h-1", "amount": 500}
    assert replay(None, again) is None


def test_a_different_request_under_a_known_id_is_refused() -> None:
    stored = StoredRequest.of(Request("tx-1", "hold", {"amount": 500}), {"hold_id": "h-1"})
    with pytest.raises(ConflictingRetry, match="transaction tx-1 was already carried out with different"):
        same_request(stored, Request("tx-1", "hold", {"amount": 501}))
    with pytest.raises(ConflictingRetry):
        same_request(stored, Request("tx-1", "commit", {"amount": 500}))


def test_decimals_and_times_in_a_request_compare_by_value() -> None:
    one = Request("tx", "accrue", {"qty": Decimal("1.500"), "at": at(0)})
    assert one.fingerprint == Request("tx", "accrue", {"qty": Decimal("1.5"), "at": at(0)}).fingerprint
    assert one.fingerprint != Request("tx", "accrue", {"qty": Decimal("1.5"), "at": at(1)}).fingerprint
    moscow = at(0).astimezone(timezone(timedelta(hours=3)))
    assert one.fingerprint == Request("tx", "accrue", {"qty": Decimal("1.5"), "at": moscow}).fingerprint
    assert (
        Request("t", "x", {"n": Decimal("1E+2")}).fingerprint
        == Request("t", "x", {"n": Decimal(100)}).fingerprint
    )


# --- holds --------------------------------------------------------------------------------------------


def test_a_hold_reserves_points_and_a_commit_spends_at_most_them() -> None:
    lot = credit(1_000, at(0))
    hold = place_hold(state_of(lot, when=at(1)), amount=600, expires_at=at(1, hours=1), made=made(at(1)))
    assert (hold.kind, hold.amount, hold.expires_at) == (Kind.HOLD, 600, at(1, hours=1))
    held = state_of(lot, hold, when=at(1))
    assert held.available == 400
    with pytest.raises(InsufficientBalance, match=r"5\.00 points were asked for, but only 4\.00"):
        place_hold(held, amount=500, expires_at=at(2), made=made(at(1)))
    with pytest.raises(CommitOverHold, match=r"7\.00 points cannot be spent from a hold of 6\.00"):
        commit_hold(held, hold_id=hold.id, amount=700, made=made(at(1)))
    commit = commit_hold(held, hold_id=hold.id, amount=450, made=made(at(1), receipt_id="r-1"))
    assert (commit.kind, commit.amount, commit.refers_to, commit.receipt_id) == (
        Kind.REDEMPTION,
        -450,
        hold.id,
        "r-1",
    )
    after = state_of(lot, hold, commit, when=at(1))
    assert (after.active, after.held, after.available) == (550, 0, 550)
    with pytest.raises(HoldClosed):
        commit_hold(after, hold_id=hold.id, amount=1, made=made(at(1)))
    with pytest.raises(HoldClosed):
        release_hold(after, hold_id=hold.id, made=made(at(1)))


def test_an_expired_hold_cannot_be_committed_but_may_be_released() -> None:
    lot = credit(1_000, at(0))
    hold = place_hold(state_of(lot, when=at(1)), amount=600, expires_at=at(1, hours=1), made=made(at(1)))
    later = state_of(lot, hold, when=at(1, hours=2))
    assert later.available == 1_000
    with pytest.raises(HoldExpired, match="expired at 2025-03-02T13:00:00"):
        commit_hold(later, hold_id=hold.id, amount=600, made=made(at(1, hours=2)))
    assert release_hold(later, hold_id=hold.id, made=made(at(1, hours=2))).kind == Kind.HOLD_RELEASE
    with pytest.raises(HoldNotFound):
        release_hold(later, hold_id="nope", made=made(at(1)))


def test_a_commit_cannot_spend_points_that_expired_under_its_hold() -> None:
    lot = credit(1_000, at(0), expires_in=1)
    hold = place_hold(state_of(lot, when=at(0)), amount=1_000, expires_at=at(2), made=made(at(0)))
    with pytest.raises(InsufficientBalance):
        commit_hold(state_of(lot, hold, when=at(1)), hold_id=hold.id, amount=1_000, made=made(at(1)))


def test_a_hold_must_last_and_hold_something() -> None:
    state = state_of(credit(1_000, at(0)), when=at(1))
    with pytest.raises(InvalidInput, match="must last beyond"):
        place_hold(state, amount=1, expires_at=at(1), made=made(at(1)))
    with pytest.raises(InvalidInput, match="must be more than zero"):
        place_hold(state, amount=0, expires_at=at(2), made=made(at(1)))


def test_what_this_center_may_spend_bounds_every_spend() -> None:
    state = state_of(credit(1_000, at(0)), when=at(1))
    with pytest.raises(InsufficientBalance, match=r"only 2\.00"):
        redeem(state, amount=300, made=made(at(1)), spendable=200)
    assert redeem(state, amount=200, made=made(at(1)), spendable=200).amount == -200


# --- earning, returns, corrections --------------------------------------------------------------------


def test_an_accrual_credits_a_lot_that_activates_and_expires_by_the_program() -> None:
    lines = [ReceiptLine(1, "milk", 10_000)]
    earned, movement = accrue(
        PROGRAM,
        account_id=ACCOUNT,
        lines=lines,
        payments=[Payment("card", 10_000)],
        made=made(at(0), transaction_id="tx-9", receipt_id="r-9"),
    )
    assert earned.total == 500
    assert movement is not None
    assert (movement.amount, movement.activates_at, movement.expires_at) == (500, at(14), at(194))
    assert (movement.transaction_id, movement.receipt_id) == ("tx-9", "r-9")
    nothing = accrue(
        PROGRAM, account_id=ACCOUNT, lines=lines, payments=[Payment("bonus", 10_000)], made=made(at(0))
    )
    assert nothing[1] is None


def test_a_return_takes_back_a_pending_accrual_whole() -> None:
    accrual = credit(500, at(0), active_in=14)
    state = state_of(accrual, when=at(3))
    taken = reverse_accrual(state, accrual_id=accrual.id, due=500, made=made(at(3)))
    assert taken.movement is not None
    assert (taken.movement.amount, taken.movement.refers_to, taken.unrecovered) == (-500, accrual.id, 0)
    assert state_of(accrual, taken.movement, when=at(20)).active == 0


def test_a_return_cannot_take_back_points_already_spent() -> None:
    accrual = credit(500, at(0))
    spent = redeem(state_of(accrual, when=at(1)), amount=400, made=made(at(1)))
    state = state_of(accrual, spent, when=at(2))
    taken = reverse_accrual(state, accrual_id=accrual.id, due=500, made=made(at(2)))
    assert taken.movement is not None
    assert (taken.movement.amount, taken.unrecovered) == (-100, 400)
    assert state_of(accrual, spent, taken.movement, when=at(2)).active == 0
    with pytest.raises(InvalidInput, match="no accrual nope"):
        reverse_accrual(state, accrual_id="nope", due=1, made=made(at(2)))


def test_points_given_back_are_a_new_lot_active_at_once() -> None:
    refund = give_back(PROGRAM, account_id=ACCOUNT, redemption_id="red-1", amount=300, made=made(at(5)))
    assert (refund.kind, refund.amount, refund.refers_to) == (Kind.REFUND, 300, "red-1")
    assert (refund.lot_activates_at, refund.expires_at) == (at(5), at(185))
    assert state_of(refund, when=at(5)).active == 300


def test_an_adjustment_says_why_and_who_and_takes_no_more_than_there_is() -> None:
    state = state_of(credit(1_000, at(0)), when=at(1))
    plus = adjust(state, amount=250, reason="complaint 17", actor="manager Petrova", made=made(at(1)))
    assert (plus.kind, plus.amount, plus.reason, plus.actor) == (
        Kind.ADJUSTMENT,
        250,
        "complaint 17",
        "manager Petrova",
    )
    with pytest.raises(InsufficientBalance):
        adjust(state, amount=-1_001, reason="error", actor="admin", made=made(at(1)))
    with pytest.raises(InvalidInput, match="reason for the adjustment must be given"):
        adjust(state, amount=5, reason=" ", actor="admin", made=made(at(1)))


def test_a_gift_card_is_loaded_with_its_nominal() -> None:
    load = load_gift_card(GiftCardTerms(300_000, valid_days=365), account_id=ACCOUNT, made=made(at(0)))
    assert (load.kind, load.amount, load.expires_at) == (Kind.GIFT_LOAD, 300_000, at(365))


# --- property: nothing the rules allow leaves an account below zero ------------------------------------

OPS = st.sampled_from(
    ["accrue", "redeem", "hold", "commit", "release", "adjust", "reverse", "give_back", "wait"]
)


@settings(max_examples=150)
@given(
    st.lists(st.tuples(OPS, st.integers(1, 3_000), st.integers(0, 1_000)), min_size=5, max_size=40),
    st.sampled_from([0, 1]),
)
def test_a_balance_never_goes_below_zero_whatever_is_asked(
    ops: list[tuple[str, int, int]], delay: int
) -> None:
    program = Program(accrual_percent=Decimal(10), activation_days=delay, expiry_days=3)
    movements: list[Movement] = []
    now = at(0)
    for op, size, pick in [("accrue", 0, 0), *ops]:
        amount = size + 500 if op in ("accrue", "reverse") else size % 700 + 1
        state = state_of(*movements, when=now)
        before = list(movements)
        holds = [h for h in state.holds if h.closed_by is None]
        accruals = [lot for lot in state.lots if lot.kind == Kind.ACCRUAL]
        redemptions = [m for m in movements if m.kind == Kind.REDEMPTION]
        try:
            if op == "accrue":
                _, movement = accrue(
                    program,
                    account_id=ACCOUNT,
                    lines=[ReceiptLine(1, "p", amount * 10)],
                    payments=[Payment("card", amount * 10)],
                    made=made(now),
                )
                movements += [movement] if movement else []
            elif op == "redeem":
                movements.append(redeem(state, amount=amount, made=made(now)))
            elif op == "hold":
                movements.append(
                    place_hold(
                        state, amount=amount, expires_at=now + timedelta(hours=pick % 30 + 1), made=made(now)
                    )
                )
            elif op == "commit" and holds:
                hold = holds[pick % len(holds)]
                spend = amount if pick % 3 == 0 else min(amount, hold.amount)
                movements.append(commit_hold(state, hold_id=hold.id, amount=spend, made=made(now)))
            elif op == "release" and holds:
                movements.append(release_hold(state, hold_id=holds[pick % len(holds)].id, made=made(now)))
            elif op == "adjust":
                sign = 1 if pick % 2 else -1
                movements.append(adjust(state, amount=sign * amount, reason="r", actor="a", made=made(now)))
            elif op == "reverse" and accruals:
                taken = reverse_accrual(
                    state, accrual_id=accruals[pick % len(accruals)].id, due=amount, made=made(now)
                )
                movements += [taken.movement] if taken.movement else []
            elif op == "give_back" and redemptions:
                target = redemptions[pick % len(redemptions)]
                movements.append(
                    give_back(
                        program, account_id=ACCOUNT, redemption_id=target.id, amount=amount, made=made(now)
                    )
                )
            elif op == "wait":
                now += timedelta(hours=pick % 36 + 1)
            event(f"{op}: {'done' if movements != before else 'nothing to do'}")
        except DomainError as refusal:
            event(f"{op}: {type(refusal).__name__}")
            assert movements == before  # a refusal changes nothing
        after = state_of(*movements, when=now)
        assert after.overdrawn == 0
        assert after.active >= 0
        assert after.available >= 0
        assert after.active_at(now + timedelta(days=30)) >= 0
