"""The Scales section's own rules, without a browser: a scale's state in one word, a page of its PLUs
found by number or by name, and the link to another page of them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from hypothesis import given
from hypothesis import strategies as st

from osuite.manager.sections.scales import condition, plu_page, plu_query
from osuite.scales.client import PluRead, ScaleRead

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def scale(*, enabled: bool = True, **state: Any) -> ScaleRead:
    return ScaleRead.model_validate(
        {
            "id": "s1",
            "name": "Мясо",
            "department": "",
            "model": "",
            "protocol": "cas",
            "host": "127.0.0.1",
            "port": 20304,
            "scale_number": 1,
            "enabled": enabled,
            "barcode_template": "weight",
            "label_format": 1,
            "hotkeys": 0,
            "rules": [],
            "state": {"online": False, "busy": False, "checked_at": None, "message": "", "pending": True}
            | state,
            "last_upload": None,
            "plus_loaded": 0,
        }
    )


def test_a_scale_in_one_word() -> None:
    assert condition(scale()) == "unknown"  # never asked yet: neither online nor offline
    assert condition(scale(checked_at=NOW, online=True)) == "online"
    assert condition(scale(checked_at=NOW, online=False, message="timed out")) == "offline"
    assert condition(scale(checked_at=NOW, online=True, busy=True)) == "busy"
    assert condition(scale(enabled=False, checked_at=NOW, online=True)) == "off"  # not asked any more


def plu(number: int, name: str, *, accepted: bool = True) -> PluRead:
    return PluRead(
        number=number,
        product_id=f"p{number}",
        name=name,
        sent_at=NOW,
        accepted=accepted,
        answer="" if accepted else "the name is too long",
    )


PLUS = [
    plu(1, "Грудинка копчёная Дымов весовая"),
    plu(2, "Бедро куриное Пеструшка зам."),
    plu(12, "Филе куриное Петелинка охл.", accepted=False),
    plu(21, "Буженина запечённая Микоян весовая"),
]


def test_plus_are_found_by_number_or_by_words_of_the_name() -> None:
    assert [p.number for p in plu_page(PLUS, query="12").items] == [12]
    assert [p.number for p in plu_page(PLUS, query="куриное").items] == [2, 12]
    assert [p.number for p in plu_page(PLUS, query="ВЕСОВАЯ микоян").items] == [21]
    assert [p.number for p in plu_page(PLUS, query="куриное", refused=True).items] == [12]
    assert plu_page(PLUS, query="сыр").items == []
    everything = plu_page(PLUS, query="  ")
    assert (everything.matched, everything.total, everything.pages) == (4, 4, 1)


@given(st.integers(0, 130), st.integers(-3, 10), st.integers(1, 60))
def test_pages_cover_every_plu_once_and_a_page_past_the_end_shows_the_last(
    count: int, asked: int, per_page: int
) -> None:
    plus = [plu(n, f"Товар {n}") for n in range(1, count + 1)]
    pages = [
        plu_page(plus, page=n, per_page=per_page)
        for n in range(1, plu_page(plus, per_page=per_page).pages + 1)
    ]
    assert [p.number for page in pages for p in page.items] == list(range(1, count + 1))
    assert all(0 < len(page.items) <= per_page for page in pages if count)
    shown = plu_page(plus, page=asked, per_page=per_page)
    assert shown.page == min(max(asked, 1), len(pages))
    assert shown.items == pages[shown.page - 1].items


def test_the_link_to_a_page_names_only_what_is_asked() -> None:
    assert plu_query("", False, 2) == "page=2"
    assert parse_qs(plu_query("Филе & co", True, 3)) == {
        "q": ["Филе & co"],
        "refused": ["true"],
        "page": ["3"],
    }
