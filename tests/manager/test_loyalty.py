"""The Loyalty section's rules without a browser: the adjustment form read as the center takes it, a
gift card's nominal, the journal newest first with who made each movement, a program's percents in
the person's language, and a refusal of the center in their words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from osuite.core.money import format_money
from osuite.manager.sections.loyalty import (
    KINDS,
    FormProblem,
    newest_first,
    parse_adjustment,
    parse_nominal,
    percent,
    refusal,
    who,
)
from osuite.processing.client import ProcessingError
from osuite.processing.wire import MovementRead

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def movement(n: int, kind: str = "accrual", amount: int = 100, **more: object) -> MovementRead:
    return MovementRead.model_validate(
        {
            "id": f"m{n}",
            "account_id": "a",
            "kind": kind,
            "amount": amount,
            "occurred_at": T0 + timedelta(minutes=n),
            "origin": "root",
            **more,
        }
    )


@pytest.mark.parametrize(
    ("typed", "points"),
    [("150", 15_000), ("-20,50", -2_050), ("1 000", 100_000), ("+0.5", 50), (" 7.25 ", 725)],
)
def test_points_are_read_as_people_write_them(typed: str, points: int) -> None:
    assert parse_adjustment(typed, "жалоба") == parse_adjustment(typed, "  жалоба ")
    assert parse_adjustment(typed, "жалоба").points == points


@given(st.integers(min_value=-(10**12), max_value=10**12).filter(bool))
def test_any_amount_shown_reads_back_as_itself(points: int) -> None:
    assert parse_adjustment(format_money(points), "x").points == points


@pytest.mark.parametrize(
    ("typed", "reason", "said"),
    [
        ("abc", "x", "Write the points as a number"),
        ("1.234", "x", "Write the points as a number"),
        ("0", "x", "Write how many points"),
        ("-0,00", "x", "Write how many points"),
        ("10", "   ", "Say why"),
        ("10", "x" * 201, "longer than 200 characters"),
    ],
)
def test_what_cannot_be_sent_is_said_and_not_sent(typed: str, reason: str, said: str) -> None:
    with pytest.raises(FormProblem, match=said):
        parse_adjustment(typed, reason)


def test_a_reason_is_kept_on_one_line() -> None:
    assert parse_adjustment("5", "жалоба\n  покупателя").reason == "жалоба покупателя"


def test_a_gift_cards_nominal() -> None:
    assert parse_nominal("") is None
    assert parse_nominal("1 000,50") == 100_050
    for wrong in ("0", "-5", "много"):
        with pytest.raises(FormProblem):
            parse_nominal(wrong)


def test_the_journal_reads_newest_first_and_says_who() -> None:
    older, newer = movement(1), movement(2, "adjustment", -50, reason="ошибка", actor="ivanova")
    assert newest_first([older, newer]) == [newer, older]
    assert who(newer) == "ivanova"
    assert who(older) == "root"
    assert who(movement(3, "grant", 10, holder="store-1", expires_at=T0 + timedelta(days=1))) == "store-1"


def test_every_kind_of_movement_has_a_name() -> None:
    from osuite.processing.domain.journal import Kind

    assert set(KINDS) == {k.value for k in Kind}


def test_percents_as_each_language_writes_them() -> None:
    assert percent("5.00", "ru") == "5 %"
    assert percent("2.50", "ru") == "2,5 %"
    assert percent("12.25", "en") == "12.25 %"
    assert percent("n/a", "en") == "n/a"


def test_a_refusal_of_the_center_in_the_persons_words() -> None:
    body = {
        "template": "{requested} points were asked for, but only {available} are available",
        "params": {"requested": "100.00", "available": "25.50"},
    }
    error = ProcessingError(409, "insufficient_balance", "100.00 points were asked …", body)
    assert refusal(error, "ru") == "Запрошено баллов: 100.00, а доступно только 25.50"
    assert refusal(error, "en") == "100.00 points were asked for, but only 25.50 are available"
    assert refusal(ProcessingError(409, "refused", "as it came"), "ru") == "as it came"
