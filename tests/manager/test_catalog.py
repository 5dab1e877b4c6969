"""The catalog section's pure pieces: what a search box asks the data server, the category tree, the
forms read into the data server's models, and which terminals have a change."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.datastructures import FormData

from osuite.core.money import format_money
from osuite.dataserver.wire.catalog import CategoryRead
from osuite.dataserver.wire.clients import ClientRead
from osuite.manager.sections.catalog import (
    FormProblem,
    category_tree,
    price_update,
    product_update,
    promotion_update,
    reach,
    search_params,
    template_update,
)

NOW = datetime(2026, 11, 25, tzinfo=UTC)


def _category(id: str, parent: str | None = None, sort: int = 0, name: str | None = None) -> CategoryRead:
    return CategoryRead(id=id, name=name or id, parent_id=parent, sort=sort, updated_at=NOW)


def _client(id: str, cursor: int | None, *, revoked: bool = False) -> ClientRead:
    return ClientRead(
        id=id,
        store_id="S",
        kind="pos",
        name=id,
        enrolled_at=NOW,
        revoked=revoked,
        status="revoked" if revoked else "online",
        online=not revoked,
        sync_cursor=cursor,
    )


def test_a_search_box_asks_for_a_name_part_an_article_or_a_barcode() -> None:
    assert search_params("name", "  сыр  ") == {"q": "сыр"}
    assert search_params("article", "A-1") == {"article": "A-1"}
    assert search_params("barcode", "4601234567893", "dairy") == {
        "barcode": "4601234567893",
        "category_id": "dairy",
    }
    assert search_params("anything else", "сыр") == {"q": "сыр"}
    assert search_params("name", "   ") == {}
    assert search_params("name", "", "dairy") == {"category_id": "dairy"}


def test_the_category_tree_is_in_order_with_depths_and_loses_nobody() -> None:
    categories = [
        _category("cheese", "dairy", name="Сыры"),
        _category("milk", "dairy", sort=-1, name="Молоко"),
        _category("dairy", name="Молочные"),
        _category("bread", name="Хлеб"),
        _category("orphan", "gone", name="Без родителя"),
        _category("a", "b"),
        _category("b", "a"),  # a loop a data server would refuse, shown anyway
    ]
    shown = [(depth, c.id) for depth, c in category_tree(categories)]
    assert shown[:5] == [(0, "orphan"), (0, "dairy"), (1, "milk"), (1, "cheese"), (0, "bread")]
    assert sorted(c for _d, c in shown) == sorted(c.id for c in categories)


@given(st.integers(min_value=0, max_value=100_000_000_000))
def test_a_price_typed_in_rubles_is_read_in_kopecks(kopecks: int) -> None:
    assert price_update(format_money(kopecks)).price == kopecks
    assert price_update(format_money(kopecks).replace(".", ",")).price == kopecks


@pytest.mark.parametrize("typed", ["", "abc", "1.234", "-5"])
def test_a_price_that_is_not_one_is_refused(typed: str) -> None:
    with pytest.raises(FormProblem):
        price_update(typed)


def test_a_products_form_is_a_full_replacement_and_an_unticked_box_is_false() -> None:
    form = {
        "article": " A1 ",
        "name": "Сыр",
        "unit": "kg",
        "weighted": "1",
        "vat_rate": "10",
        "category_id": "",
    }
    update = product_update(form)
    assert (update.article, update.unit, update.weighted, update.active) == ("A1", "kg", True, False)
    assert update.category_id is None and update.age_limit == 0
    with pytest.raises(FormProblem, match="vat_rate"):
        product_update({**form, "vat_rate": "99"})


def test_a_template_form_reads_prefixes_separated_any_way() -> None:
    form = {
        "name": "Весовой",
        "prefixes": "21, 22 ",
        "kind": "weight",
        "item_start": "2",
        "item_length": "5",
        "value_start": "7",
        "value_length": "5",
        "value_decimals": "3",
    }
    assert template_update(form).prefixes == ["21", "22"]
    with pytest.raises(FormProblem, match="prefix"):
        template_update({**form, "prefixes": "46"})


def test_a_promotions_form_names_goods_by_article_and_money_in_rubles() -> None:
    form = FormData(
        [
            ("name", "Сыры −10%"),
            ("kind", "receipt_threshold"),
            ("articles", "A1, A2"),
            ("category_ids", "cheese"),
            ("store_ids", "s1"),
            ("amount", "50"),
            ("threshold", "1000,50"),
            ("weekdays", "6"),
            ("weekdays", "7"),
            ("active", "1"),
        ]
    )
    update = promotion_update(form, lambda article: f"id-{article}")
    assert update.product_ids == ["id-A1", "id-A2"]
    assert (update.amount, update.threshold, update.weekdays) == (5000, 100050, [6, 7])
    assert update.category_ids == ["cheese"] and update.store_ids == ["s1"]
    assert update.active and not update.stackable

    def unknown(article: str) -> str:
        raise FormProblem(f"no product has the article {article!r}")

    with pytest.raises(FormProblem, match="A1"):
        promotion_update(form, unknown)


def test_a_terminal_has_a_change_once_its_cursor_reaches_it() -> None:
    terminals = [
        _client("behind", 9),
        _client("there", 10),
        _client("new", None),
        _client("gone", 1, revoked=True),
    ]
    assert [(r.client.id, r.reached) for r in reach(10, terminals)] == [
        ("behind", False),
        ("there", True),
        ("new", False),
    ]
    assert all(r.reached for r in reach(None, terminals))
