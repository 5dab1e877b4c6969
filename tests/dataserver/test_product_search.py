"""The product search by name answers as the plain substring match did before the trigram index
(migration 0003), on SQLite and on PostgreSQL: any case and alphabet, Ё as Е, words of one or two
letters, and after every way products are written (the API's functions, the CSV import's bulk upsert,
HQ's replica), renamed or deleted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from osuite.core.migrations import upgrade
from osuite.core.sync.transport import ChangeRow
from osuite.dataserver import catalog, importer, tables
from osuite.dataserver.catalog_rules import search_key
from osuite.dataserver.context import DataServer
from osuite.dataserver.settings import DataServerSettings
from osuite.dataserver.wire.catalog import ProductCreate, ProductUpdate

NAMES = (
    "Молоко «Простоквашино» 3,2%",
    "МОЛОКО топлёное",
    "Ёжик в тумане",
    'Сок "Добрый" 100% яблоко',
    "MILK shake",
    "Ёлка",
    "Хлеб_чёрный",
)


@pytest.fixture
def ds(db_url: str, tmp_path: Path) -> Iterator[DataServer]:
    server = DataServer.open(DataServerSettings(data_dir=tmp_path / "dataserver", database_url=db_url))
    upgrade(server.db, "osuite.dataserver")
    yield server
    server.db.dispose()


def add(ds: DataServer, name: str, article: str | None = None) -> str:
    with ds.db.write() as conn:
        data = ProductCreate(article=article or name[:64], name=name, vat_rate="20")
        return catalog.create_product(conn, ds, data=data).id


def rename(ds: DataServer, product_id: str, name: str) -> None:
    with ds.db.write() as conn:
        article = catalog.get_product(conn, product_id=product_id).article
        catalog.update_product(
            conn, ds, product_id=product_id, data=ProductUpdate(article=article, name=name, vat_rate="20")
        )


def remove(ds: DataServer, product_id: str) -> None:
    with ds.db.write() as conn:
        catalog.delete_product(conn, ds, product_id=product_id)


def found(ds: DataServer, q: str) -> list[str]:
    """Names found for ``q``, every page read (pages of 2, so paging through the index is tested too)."""
    names: list[str] = []
    after: str | None = None
    with ds.db.read() as conn:
        while True:
            page = catalog.list_products(conn, q=q, after=after, limit=2)
            names += [p.name for p in page.items]
            if page.next is None:
                return names
            after = page.next


def by_scan(ds: DataServer, q: str) -> list[str]:
    """The query as it was before the index: LIKE over every folded name, in id order."""
    p = tables.products.c
    query = select(p.name).order_by(p.id)
    if word := search_key(q.strip()):
        query = query.where(p.search.contains(word, autoescape=True))
    with ds.db.read() as conn:
        return list(conn.execute(query).scalars())


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("молоко", {NAMES[0], NAMES[1]}),
        ("МоЛоКо", {NAMES[0], NAMES[1]}),
        ("топленое", {NAMES[1]}),  # Ё as Е, both ways
        ("ТОПЛЁН", {NAMES[1]}),
        ("ежик в", {NAMES[2]}),
        ("«простоквашино» 3,2%", {NAMES[0]}),
        ('"добрый"', {NAMES[3]}),  # a double quote is a character, not the index's phrase syntax
        ("100%", {NAMES[3]}),  # % and _ are characters, not LIKE's wildcards
        ("% я", {NAMES[3]}),
        ("%", {NAMES[0], NAMES[3]}),
        ("б_ч", {NAMES[6]}),
        ("_", {NAMES[6]}),
        ("k s", {NAMES[4]}),
        ("  Milk  ", {NAMES[4]}),
        ("ё", {NAMES[1], NAMES[2], NAMES[5], NAMES[6]}),  # one letter: the scan
        ("ел", {NAMES[5]}),  # two letters: the scan
        ("зюзюка", set()),
        ("", set(NAMES)),
        ("   ", set(NAMES)),
    ],
)
def test_a_name_is_found_by_any_part_in_any_case_and_alphabet(
    ds: DataServer, q: str, expected: set[str]
) -> None:
    for name in NAMES:
        add(ds, name)

    assert set(found(ds, q)) == expected
    assert found(ds, q) == by_scan(ds, q)


def test_the_index_follows_a_rename_and_a_delete(ds: DataServer) -> None:
    first = add(ds, "Кефир 1%")
    last = add(ds, "Ряженка")

    rename(ds, first, "Варенец")
    assert found(ds, "кефир") == []
    assert found(ds, "варенец") == ["Варенец"]
    rename(ds, first, "ВАРЕНЕЦ")  # the same folded name: the index is not touched, and still right
    assert found(ds, "варенец") == ["ВАРЕНЕЦ"]

    remove(ds, last)
    assert found(ds, "ряженка") == []
    # A new product may take the deleted one's row number: the old name must not find it.
    add(ds, "Творог")
    assert found(ds, "ряженка") == []
    assert found(ds, "творог") == ["Творог"]


def test_the_csv_import_keeps_the_index(ds: DataServer) -> None:
    def load(text: str) -> None:
        report = importer.import_csv(ds, kind="products", data=text.encode())
        assert report.rejected == []

    load("article;name;vat_rate\n1;Сыр российский;10\n2;Сыр пармезан;10\n")
    assert found(ds, "сыр") == found(ds, "СЫР ") == by_scan(ds, "сыр")
    assert len(found(ds, "сыр")) == 2

    load("article;name;vat_rate\n1;Брынза;10\n2;Сыр пармезан;20\n")  # the same rows upserted
    assert found(ds, "российский") == []
    assert found(ds, "брынза") == ["Брынза"]
    assert found(ds, "пармезан") == ["Сыр пармезан"]


def test_the_hq_replica_keeps_the_index(ds: DataServer) -> None:
    def apply(*changes: ChangeRow) -> None:
        with ds.db.write() as conn:
            catalog.apply_replicated(conn, ds, list(changes))

    def product(product_id: str, name: str) -> ChangeRow:
        payload = {
            "id": product_id,
            "article": product_id,
            "name": name,
            "unit": "pcs",
            "weighted": False,
            "vat_rate": "20",
            "category_id": None,
            "age_limit": 0,
            "active": True,
            "updated_at": "2026-11-20T10:00:00Z",
        }
        return ChangeRow(0, "product", product_id, "upsert", payload)

    apply(product("p1", "Чай чёрный"), product("p2", "Чай зелёный"))
    assert found(ds, "чай ") == ["Чай чёрный", "Чай зелёный"]
    apply(product("p1", "Кофе молотый"))
    assert found(ds, "черный") == []
    assert found(ds, "молотый") == ["Кофе молотый"]
    apply(ChangeRow(0, "product", "p2", "delete", None))
    assert found(ds, "зеленый") == []


# A few letters, so that random words are often found; characters the folding or the query syntax could
# get wrong among them (Ё, ß that folds to two letters, the LIKE wildcards, the phrase quote, a space).
LETTERS = 'аеёАЕЁбsSß%_" '
names = st.text(LETTERS, min_size=1, max_size=12).filter(str.strip)
words = st.text(LETTERS, min_size=1, max_size=5)


@given(
    catalog_names=st.lists(names, min_size=1, max_size=12),
    renames=st.lists(st.tuples(st.integers(0, 11), names), max_size=4),
    deletes=st.sets(st.integers(0, 11), max_size=3),
    queries=st.lists(words, min_size=1, max_size=6),
)
# The fixture's database is shared by the examples; each one starts by emptying the products.
@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_search_finds_exactly_the_names_that_contain_the_word(
    ds: DataServer,
    catalog_names: list[str],
    renames: list[tuple[int, str]],
    deletes: set[int],
    queries: list[str],
) -> None:
    with ds.db.write() as conn:
        conn.execute(delete(tables.products))
    ids = [add(ds, name, article=str(i)) for i, name in enumerate(catalog_names)]
    current = {i: name.strip() for i, name in zip(ids, catalog_names, strict=True)}
    for i, name in renames:
        if i < len(ids):
            rename(ds, ids[i], name)
            current[ids[i]] = name.strip()
    for i in deletes:
        if i < len(ids) and ids[i] in current:
            remove(ds, ids[i])
            del current[ids[i]]

    for q in queries:
        word = search_key(q.strip())
        expected = [current[i] for i in sorted(current) if word in search_key(current[i])]
        assert found(ds, q) == expected, q


def test_a_word_too_many_products_have_is_found_by_reading_names_in_order(
    ds: DataServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catalog, "SEARCH_INDEX_MAX", 2)  # «молоко» is in two names: too many
    for name in NAMES:
        add(ds, name)

    assert found(ds, "молоко") == by_scan(ds, "молоко") == [NAMES[0], NAMES[1]]
    assert found(ds, "ежик") == [NAMES[2]]  # one: through the index
