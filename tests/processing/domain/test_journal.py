"""The journal: movements as written and read back, and the balances derived from any set of them."""

from __future__ import annotations

import random
from datetime import timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from osuite.processing.domain.errors import ConflictingMovement, InvalidInput
from osuite.processing.domain.journal import Kind, Movement, derive, expiry_id
from tests.processing.domain.support import ACCOUNT, at, credit, mv

# --- movements ------------------------------------------------------------------------------------------


def test_a_movement_goes_to_json_and_back_unchanged() -> None:
    accrual = credit(1_500, at(), active_in=14, expires_in=180, receipt_id="r-1", transaction_id="t-1")
    data = accrual.to_json()
    assert data["kind"] == "accrual"
    assert data["occurred_at"] == "2025-03-01T12:00:00+00:00"
    assert data["holder"] is None
    assert Movement.from_json(data) == accrual
    adjustment = mv(Kind.ADJUSTMENT, -300, at(1), reason="double accrual", actor="manager Petrova")
    assert Movement.from_json(adjustment.to_json()) == adjustment


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "bonus"}, "'bonus' is not a kind of movement"),
        ({"amount": "15"}, "The amount '15' of movement x is not a whole number of points"),
        ({"occurred_at": "2025-03-01T12:00:00"}, "is not a time with its time zone"),
        ({"occurred_at": "yesterday"}, "occurred_at 'yesterday' is not a time"),
        ({"colour": "red"}, "A movement has no field colour"),
        ({"origin": None}, "A movement needs origin"),
        ({"account_id": 7}, "account_id must be text"),
    ],
)
def test_a_document_that_is_not_a_movement_is_refused(change: dict[str, object], message: str) -> None:
    data = credit(100, at(), id="x").to_json() | change
    with pytest.raises(InvalidInput, match=message):
        Movement.from_json(data)


@pytest.mark.parametrize(
    ("kind", "amount", "more", "message"),
    [
        (Kind.ACCRUAL, -5, {}, "accrual movement cannot have the amount -0.05"),
        (Kind.REDEMPTION, 5, {}, "redemption movement cannot have the amount 0.05"),
        (Kind.REVERSAL, -5, {}, "reversal movement needs refers_to"),
        (Kind.ADJUSTMENT, 5, {"actor": "Ivanov"}, "The reason for adjustment"),
        (Kind.ADJUSTMENT, 5, {"reason": "goodwill"}, "Who made adjustment"),
        (Kind.HOLD, 5, {}, "hold movement needs expires_at after the time it is made"),
        (Kind.GRANT, 5, {"expires_at": at(1)}, "The subordinate holding grant"),
        (Kind.REDEMPTION, -5, {"holder": "sub-1"}, "redemption movement has no holder"),
        (Kind.REDEMPTION, -5, {"expires_at": at(1)}, "redemption movement has no expires_at"),
        (Kind.ACCRUAL, 5, {"activates_at": at(-1)}, "cannot activate at .*, before it was credited"),
        (Kind.ACCRUAL, 5, {"activates_at": at(2), "expires_at": at(2)}, "cannot expire at .*, not after"),
    ],
)
def test_what_each_kind_carries_is_checked(
    kind: Kind, amount: int, more: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        mv(kind, amount, at(), **more)


# --- balances -----------------------------------------------------------------------------------------


def test_points_are_pending_until_they_activate_then_active() -> None:
    accrual = credit(1_000, at(), active_in=14, expires_in=180)
    before = derive([accrual], as_of=at(13))
    assert (before.pending, before.active, before.available) == (1_000, 0, 0)
    after = derive([accrual], as_of=at(14))
    assert (after.pending, after.active, after.available) == (0, 1_000, 1_000)


def test_redemptions_take_the_points_that_expire_first() -> None:
    late = credit(500, at(0), expires_in=100)
    early = credit(300, at(1), expires_in=10)
    never = credit(200, at(2))
    spend = mv(Kind.REDEMPTION, -600, at(3))
    state = derive([late, early, never, spend], as_of=at(3))
    remaining = {lot.id: lot.remaining for lot in state.lots}
    assert remaining == {early.id: 0, late.id: 200, never.id: 200}
    assert state.active == 400


def test_what_is_left_of_a_lot_expires_with_an_id_every_center_computes_alike() -> None:
    lot = credit(1_000, at(0), expires_in=30)
    spend = mv(Kind.REDEMPTION, -400, at(10))
    state = derive([lot, spend], as_of=at(31))
    assert state.active == 0
    (expiry,) = state.expiries
    assert (expiry.kind, expiry.amount, expiry.refers_to, expiry.occurred_at) == (
        Kind.EXPIRY,
        -600,
        lot.id,
        at(30),
    )
    assert expiry.id == expiry_id(lot.id)
    assert derive([lot, spend], as_of=at(29)).expiries == ()


def test_expiry_movements_given_back_are_recomputed_not_trusted() -> None:
    lot = credit(1_000, at(0), expires_in=30)
    first = derive([lot], as_of=at(31)).expiries  # a center that had not seen the spend yet: 10.00 expire
    late_spend = mv(Kind.REDEMPTION, -400, at(10), origin="sub-1")
    state = derive([lot, *first, late_spend], as_of=at(31))
    assert [e.amount for e in state.expiries] == [-600]
    assert sum(m.amount for m in state.movements) == 0
    assert [m.id for m in state.movements].count(expiry_id(lot.id)) == 1


def test_a_spend_at_the_moment_of_expiry_finds_the_lot_gone() -> None:
    lot = credit(100, at(0), expires_in=1)
    state = derive([lot, mv(Kind.REDEMPTION, -50, at(1))], as_of=at(2))
    assert state.overdrawn == 50
    assert state.active == -50


def test_holds_count_against_available_until_released_committed_or_expired() -> None:
    lot = credit(1_000, at(0))
    hold = mv(Kind.HOLD, 300, at(1), expires_at=at(1, hours=1))
    state = derive([lot, hold], as_of=at(1))
    assert (state.active, state.held, state.available) == (1_000, 300, 700)
    assert derive([lot, hold], as_of=at(1, hours=1)).held == 0
    release = mv(Kind.HOLD_RELEASE, 0, at(1, hours=0.5), refers_to=hold.id)
    assert derive([lot, hold, release], as_of=at(1, hours=0.5)).held == 0
    commit = mv(Kind.REDEMPTION, -250, at(1, hours=0.5), refers_to=hold.id)
    committed = derive([lot, hold, commit], as_of=at(1, hours=0.5))
    assert (committed.active, committed.held, committed.hold(hold.id).committed) == (750, 0, 250)  # type: ignore[union-attr]


def test_a_reversal_takes_from_its_own_lot_first_even_while_pending() -> None:
    old = credit(500, at(0))
    sale = credit(200, at(1), active_in=14)
    reversal = mv(Kind.REVERSAL, -200, at(2), refers_to=sale.id)
    state = derive([old, sale, reversal], as_of=at(2))
    assert (state.active, state.pending) == (500, 0)


def test_a_debt_is_paid_by_the_next_points_to_activate() -> None:
    lot = credit(100, at(0))
    spend = mv(Kind.REDEMPTION, -150, at(1))  # two centers that broke the rules met
    later = credit(200, at(2), active_in=5)
    assert derive([lot, spend, later], as_of=at(3)).active == -50
    state = derive([lot, spend, later], as_of=at(7))
    assert (state.active, state.overdrawn) == (150, 0)


def test_credited_and_spent_are_life_totals() -> None:
    movements = [
        credit(1_000, at(0)),
        mv(Kind.GIFT_LOAD, 500, at(0)),
        mv(Kind.REDEMPTION, -300, at(1)),
        mv(Kind.ADJUSTMENT, -100, at(1), reason="error", actor="admin"),
        mv(Kind.ADJUSTMENT, 50, at(1), reason="goodwill", actor="admin"),
    ]
    state = derive(movements, as_of=at(2))
    assert (state.credited, state.spent, state.active) == (1_550, 400, 1_150)


def test_times_in_other_zones_mean_the_same_instants() -> None:
    moscow = timezone(timedelta(hours=3))
    lot = credit(100, at(0).astimezone(moscow), expires_in=1)
    assert derive([lot], as_of=at(1)).active == 0
    assert derive([lot], as_of=at(1).astimezone(moscow) - timedelta(seconds=1)).active == 100


def test_two_different_movements_with_one_id_are_refused() -> None:
    one = credit(100, at(0), id="same")
    other = credit(200, at(0), id="same")
    with pytest.raises(ConflictingMovement, match="Two different movements carry the id same"):
        derive([one, other], as_of=at(1))


def test_movements_of_several_accounts_do_not_make_one_balance() -> None:
    with pytest.raises(InvalidInput, match="several accounts"):
        derive([credit(1, at()), credit(1, at(), account_id="acc-2")], as_of=at(1))


def test_an_empty_journal_is_an_empty_account() -> None:
    state = derive([], as_of=at(), account_id=ACCOUNT)
    assert (state.account_id, state.active, state.available) == (ACCOUNT, 0, 0)


# --- order independence -------------------------------------------------------------------------------

CENTERS = ("root", "sub-1", "sub-2")


@st.composite
def journals(draw: st.DrawFn) -> list[Movement]:
    """Random journals, rules or no rules: credits of every kind, debits, holds, grants, releases."""
    out: list[Movement] = []
    for n in range(draw(st.integers(0, 25))):
        when = at(draw(st.integers(0, 40)), draw(st.sampled_from([0, 0, 6, 12])))
        origin = draw(st.sampled_from(CENTERS))
        ident = f"j{n:03d}-{draw(st.integers(0, 9))}"
        credits = [m for m in out if m.makes_lot]
        holds = [m for m in out if m.kind == Kind.HOLD]
        grants = [m for m in out if m.kind == Kind.GRANT]
        choice = draw(st.integers(0, 9))
        amount = draw(st.integers(1, 1_000))
        if choice <= 2:
            kind = draw(st.sampled_from([Kind.ACCRUAL, Kind.GIFT_LOAD, Kind.REFUND]))
            more = {"refers_to": "r"} if kind == Kind.REFUND else {}
            activates = when + timedelta(days=draw(st.sampled_from([0, 0, 3])))
            expires = draw(st.sampled_from([None, 5, 20]))
            out.append(
                mv(
                    kind,
                    amount,
                    when,
                    id=ident,
                    origin=origin,
                    activates_at=activates,
                    expires_at=None if expires is None else activates + timedelta(days=expires),
                    **more,
                )
            )
        elif choice <= 4:
            out.append(mv(Kind.REDEMPTION, -amount, when, id=ident, origin=origin))
        elif choice == 5 and credits:
            target = draw(st.sampled_from(credits))
            out.append(mv(Kind.REVERSAL, -amount, when, id=ident, origin=origin, refers_to=target.id))
        elif choice == 6:
            out.append(
                mv(Kind.HOLD, amount, when, id=ident, origin=origin, expires_at=when + timedelta(hours=2))
            )
        elif choice == 7 and holds:
            target = draw(st.sampled_from(holds))
            if draw(st.booleans()):
                out.append(mv(Kind.HOLD_RELEASE, 0, when, id=ident, origin=origin, refers_to=target.id))
            else:
                out.append(mv(Kind.REDEMPTION, -amount, when, id=ident, origin=origin, refers_to=target.id))
        elif choice == 8:
            out.append(
                mv(
                    Kind.GRANT,
                    amount,
                    when,
                    id=ident,
                    holder=draw(st.sampled_from(CENTERS[1:])),
                    expires_at=when + timedelta(days=1),
                )
            )
        elif choice == 9 and grants:
            target = draw(st.sampled_from(grants))
            out.append(
                mv(
                    Kind.GRANT_RELEASE,
                    amount,
                    when,
                    id=ident,
                    origin=target.holder or "",
                    refers_to=target.id,
                )
            )
        else:
            out.append(
                mv(
                    Kind.ADJUSTMENT,
                    draw(st.sampled_from([-1, 1])) * amount,
                    when,
                    id=ident,
                    origin=origin,
                    reason="r",
                    actor="a",
                )
            )
    return list({m.id: m for m in out}.values())


@settings(max_examples=150)
@given(journals(), st.randoms(use_true_random=False), st.integers(0, 50), st.data())
def test_the_same_movements_in_any_order_and_any_number_of_copies_give_the_same_state(
    movements: list[Movement], rnd: random.Random, day: int, data: st.DataObject
) -> None:
    as_of = at(day)
    expected = derive(movements, as_of=as_of, account_id=ACCOUNT)
    copies = movements + data.draw(st.lists(st.sampled_from(movements), max_size=10)) if movements else []
    copies += list(expected.expiries)  # another center computed and sent its expiries
    rnd.shuffle(copies)
    assert derive(copies, as_of=as_of, account_id=ACCOUNT) == expected
    # Deriving again from the derived journal changes nothing: expiries come out as they went in.
    assert derive(expected.movements, as_of=as_of, account_id=ACCOUNT) == expected


@settings(max_examples=150)
@given(journals(), st.integers(0, 50))
def test_the_derived_balances_add_up(movements: list[Movement], day: int) -> None:
    state = derive(movements, as_of=at(day), account_id=ACCOUNT)
    lots = state.lots
    assert all(0 <= lot.remaining <= lot.amount for lot in lots)
    assert state.active + state.pending == sum(lot.remaining for lot in lots) - state.overdrawn
    assert state.available >= 0
    assert sum(e.amount for e in state.expiries) == -sum(lot.expired for lot in lots)
    assert len({m.id for m in state.movements}) == len(state.movements)
