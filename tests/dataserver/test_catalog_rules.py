"""The catalog's pure rules: barcodes, the category tree, apply order for replicated pages, CSV rows."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from osuite.dataserver import catalog_rules as rules
from osuite.dataserver.catalog_rules import FileError, ProductRow, RuleError


@dataclass(frozen=True)
class Row:
    entity: str
    key: str
    op: str = "upsert"
    payload: dict[str, Any] | None = None


# --- entities ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("4601234567893", "4601234567893"),
        (" 4 601234 567893 ", "4601234567893"),
        ("96385074", "96385074"),
        ("036000291452", "036000291452"),
        ("1234567", "1234567"),  # not a GTIN length: an internal code
        ("46012345678931", "46012345678931"),
        ("SKU42abc", "SKU42abc"),
        ("9" * 64, "9" * 64),
    ],
)
def test_barcodes_that_are_accepted(text: str, stored: str) -> None:
    assert rules.barcode_code(text) == stored


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("4601234567894", "barcode 4601234567894 has check digit 4, expected 3"),
        ("96385070", "has check digit 0, expected 4"),
        ("", "the barcode is empty"),
        ("A" * 65, "up to 64"),
        ("АБВ123", "Latin letters and digits"),
        ("12-34", "Latin letters and digits"),
    ],
)
def test_barcodes_that_are_refused(text: str, reason: str) -> None:
    with pytest.raises(RuleError, match=reason):
        rules.barcode_code(text)


def test_a_weighted_product_is_sold_by_kg_or_l() -> None:
    rules.check_product(unit="kg", weighted=True)
    rules.check_product(unit="l", weighted=True)
    rules.check_product(unit="kg", weighted=False)
    with pytest.raises(RuleError, match="not by pcs"):
        rules.check_product(unit="pcs", weighted=True)


def test_multiplier_has_three_places_and_is_positive() -> None:
    assert str(rules.multiplier(Decimal(6))) == "6.000"
    for bad in (Decimal(0), Decimal("-1"), Decimal("0.0001"), Decimal("100000")):
        with pytest.raises(RuleError):
            rules.multiplier(bad)


def test_permissions_are_known_distinct_and_in_catalogue_order() -> None:
    assert rules.permissions(["x_report", "sell", "sell"]) == ["sell", "x_report"]
    with pytest.raises(RuleError, match="unknown permissions: fly"):
        rules.permissions(["sell", "fly"])
    assert len(rules.PERMISSIONS) == 15


def test_search_key_folds_cyrillic_and_yo() -> None:
    assert rules.search_key("ЁЛКА Сыр") == rules.search_key("елка сыр") == "елка сыр"


def test_audiences() -> None:
    assert rules.audience_of("product", "p1") == "*"
    assert rules.audience_of("price", "s1:p1") == "store:s1"
    assert rules.audience_of("terminal_settings", "store:s1") == "store:s1"
    assert rules.audience_of("terminal_settings", "client:c1") == "client:c1"
    with pytest.raises(RuleError):
        rules.parse_scope("store:")


# --- the category tree ------------------------------------------------------------------------------


def test_cycles_are_found() -> None:
    parent_of = {"a": None, "b": "a", "c": "b"}
    assert rules.creates_cycle("a", "c", parent_of)
    assert rules.creates_cycle("a", "a", parent_of)
    assert not rules.creates_cycle("c", "a", parent_of)
    assert not rules.creates_cycle("a", None, parent_of)
    assert not rules.creates_cycle("x", "c", {"a": "b", "b": "a", "c": "a"})  # an old cycle ends the walk


@given(st.lists(st.integers(0, 30), min_size=1, max_size=30))
def test_parents_come_first_whatever_the_order(parents: list[int]) -> None:
    # item i has parent parents[i] when that is a smaller index: a forest, given shuffled
    pairs = [(f"c{i}", f"c{p}" if p < i else None) for i, p in enumerate(parents)]
    shuffled = pairs[1::2] + pairs[::2]
    order = rules.parents_first(shuffled)
    assert sorted(order) == list(range(len(shuffled)))
    position = {shuffled[i][0]: n for n, i in enumerate(order)}
    for key, parent in shuffled:
        if parent is not None:
            assert position[parent] < position[key]


def test_a_cycle_does_not_hang_the_order() -> None:
    assert sorted(rules.parents_first([("a", "b"), ("b", "a"), ("c", None)])) == [0, 1, 2]


def test_apply_order_puts_referenced_rows_first_and_deletes_last() -> None:
    page = [
        Row("price", "s:p"),
        Row("barcode", "4601234567893"),
        Row("category", "child", payload={"parent_id": "parent"}),
        Row("product", "p"),
        Row("category", "gone", "delete"),
        Row("product", "old", "delete"),
        Row("category", "parent", payload={"parent_id": None}),
        Row("store", "s"),
        Row("user", "u"),
        Row("barcode", "old-code", "delete"),
        Row("unknown", "x"),
    ]
    ordered = [(c.entity, c.key) for c in rules.apply_order(page)]
    assert ordered == [
        ("store", "s"),
        ("category", "parent"),
        ("category", "child"),
        ("product", "p"),
        ("price", "s:p"),
        ("barcode", "4601234567893"),
        ("user", "u"),
        ("barcode", "old-code"),
        ("product", "old"),
        ("category", "gone"),
    ]


def test_apply_order_keeps_the_last_change_per_key() -> None:
    page = [Row("product", "p", payload={"v": 1}), Row("product", "p", "delete"), Row("product", "q")]
    assert [(c.key, c.op) for c in rules.apply_order(page)] == [("q", "upsert"), ("p", "delete")]


# --- CSV --------------------------------------------------------------------------------------------


def test_decoding_utf8_bom_and_cp1251() -> None:
    text = "article;name\n1;Сыр\n"
    assert rules.decode_csv(text.encode()) == text
    assert rules.decode_csv(b"\xef\xbb\xbf" + text.encode()) == text
    assert rules.decode_csv(text.encode("cp1251")) == text
    with pytest.raises(FileError, match="neither UTF-8 nor Windows-1251"):
        rules.decode_csv(b"\x98\xff")


def test_delimiter_is_sniffed_from_the_header() -> None:
    assert rules.sniff_delimiter("article;name;price") == ";"
    assert rules.sniff_delimiter("article,name,price") == ","
    assert rules.sniff_delimiter("article\tname") == "\t"
    assert rules.sniff_delimiter("article") == ","


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "the file is empty"),
        ("\n1;2\n", "the file is empty"),
        ("article;name\n", "the header lacks column 'vat_rate'"),
        ("article;name;vat_rate;colour\n", "unknown column 'colour'; the columns for products are: article"),
        ("article;name;vat_rate;Name\n", "column 'name' appears twice"),
    ],
)
def test_files_that_cannot_be_imported(text: str, reason: str) -> None:
    with pytest.raises(FileError, match=reason):
        rules.open_csv(text, "products")


def test_rows_keep_their_line_numbers() -> None:
    text = 'Article;Name;VAT_RATE\n1;"two\nlines";20\n\n3;x\n4;y;20;extra\n'
    rows = list(rules.open_csv(text, "products").rows())
    assert [(r.line, r.problem) for r in rows] == [
        (2, None),
        (5, "expected 3 fields as in the header, found 2"),
        (6, "expected 3 fields as in the header, found 4"),
    ]
    assert rows[0].cells == {"article": "1", "name": "two\nlines", "vat_rate": "20"}


def test_product_rows() -> None:
    row = rules.parse_product_row(
        {"article": " 7 ", "name": "Сыр", "vat_rate": "20%", "unit": "кг", "weighted": "да", "age_limit": ""}
    )
    assert row == ProductRow(article="7", name="Сыр", vat_rate="20", unit="kg", weighted=True)
    assert rules.parse_vat_rate("Без НДС") == "none"
    assert rules.parse_vat_rate("10/110") == "10/110"
    for cells, reason in [
        ({"name": "x", "vat_rate": "20"}, "article is empty"),
        ({"article": "1", "name": "x", "vat_rate": "18"}, "vat_rate '18' is not one of"),
        ({"article": "1", "name": "x", "vat_rate": "20", "weighted": "maybe"}, "weighted 'maybe' is neither"),
        ({"article": "1", "name": "x", "vat_rate": "20", "age_limit": "25"}, "age_limit '25' is not a whole"),
        ({"article": "1", "name": "x", "vat_rate": "20", "unit": "box"}, "unit 'box' is not one of"),
        ({"article": "1" * 65, "name": "x", "vat_rate": "20"}, "article is longer than 64"),
    ]:
        with pytest.raises(RuleError, match=reason):
            rules.parse_product_row(cells)


def test_merging_a_row_keeps_what_the_file_does_not_say() -> None:
    existing = {
        "article": "7",
        "name": "old",
        "unit": "kg",
        "weighted": True,
        "vat_rate": "10",
        "category_id": "cat",
        "age_limit": 18,
        "active": False,
    }
    merged = rules.merge_product(existing, ProductRow(article="7", name="new", vat_rate="20"))
    assert merged == {**existing, "name": "new", "vat_rate": "20"}
    fresh = rules.merge_product(None, ProductRow(article="8", name="n", vat_rate="20", weighted=True))
    assert (fresh["unit"], fresh["active"], fresh["category_id"]) == ("kg", True, None)
    with pytest.raises(RuleError, match="not by pcs"):
        rules.merge_product(None, ProductRow(article="8", name="n", vat_rate="20", unit="pcs", weighted=True))


def test_barcode_and_price_rows() -> None:
    barcode = rules.parse_barcode_row({"barcode": "4601234567893", "article": "1", "multiplier": "6"})
    assert barcode.multiplier == Decimal("6.000")
    assert rules.parse_barcode_row({"barcode": "X1", "article": "1"}).multiplier == Decimal(1)
    with pytest.raises(RuleError, match="multiplier '1,2345' is not a number with at most 3 decimals"):
        rules.parse_barcode_row({"barcode": "X1", "article": "1", "multiplier": "1,2345"})
    price = rules.parse_price_row({"article": "1", "price": "1 234,50", "store": ""})
    assert (price.price, price.store) == (123450, None)
    with pytest.raises(RuleError, match="negative"):
        rules.parse_price_row({"article": "1", "price": "-1"})
    with pytest.raises(RuleError, match="more than two decimal places"):
        rules.parse_price_row({"article": "1", "price": "1.234"})
    assert rules.category_path(" Молочные продукты / Сыры /") == ["Молочные продукты", "Сыры"]
