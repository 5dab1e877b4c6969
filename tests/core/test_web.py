"""Numbers on the screens, written the way each language writes them."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from osuite.core.money import MAX_MONEY, parse_money
from osuite.core.web import money, quantity, templates

NBSP = "\u00a0"


def test_money_in_russian_and_english() -> None:
    assert money(123450, "ru") == f"1{NBSP}234,50"
    assert money(123450, "en") == "1,234.50"
    assert money(5, "ru") == "0,05"
    assert money(-2500, "en") == "-25.00"
    assert money(0, "ru") == "0,00"


@given(st.integers(min_value=-MAX_MONEY, max_value=MAX_MONEY))
def test_money_shown_in_russian_reads_back_as_the_same_kopecks(kopecks: int) -> None:
    """What the cashier sees is what a cashier could type back: no rounding, no lost digits."""
    assert parse_money(money(kopecks, "ru")) == kopecks


def test_quantities_of_pieces_and_weights() -> None:
    assert quantity("2.000", False, "ru") == "2"
    assert quantity("1.500", False, "en") == "1.5"
    assert quantity("1.234", True, "ru") == "1,234 кг"
    assert quantity(Decimal("0.05"), True, "en") == "0.050 kg"
    assert quantity("1200", False, "ru") == f"1{NBSP}200"


def test_templates_speak_the_language_asked_for() -> None:
    russian = templates("osuite.pos.ui", "ru").from_string("{{ _('Total') }} {{ 123450 | money }}")
    english = templates("osuite.pos.ui", "en").from_string("{{ _('Total') }} {{ 123450 | money }}")
    assert russian.render() == f"Итого 1{NBSP}234,50"
    assert english.render() == "Total 1,234.50"


def test_a_moment_reads_as_a_person_writes_it_in_each_language() -> None:
    from datetime import UTC, datetime

    from osuite.core.web import moment

    when = datetime(2026, 11, 25, 1, 19, 38, 388729, tzinfo=UTC)
    local = when.astimezone()
    russian, english = moment(when.isoformat(), "ru"), moment(when, "en")
    assert russian.startswith(f"{local.day} нояб. 2026") and russian.endswith(f"{local:%H:%M:%S}")
    assert english.startswith(f"Nov {local.day}, 2026") and f"{local:%M:%S}" in english
    assert "388" not in russian  # no microseconds
