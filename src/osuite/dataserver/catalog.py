"""The reference data terminals need: categories, products, barcodes, prices, barcode templates,
payment types, promotions, roles, users and terminal settings.

Every write publishes the new state (or a delete) in the change log in the same transaction, so a
terminal sees exactly what was committed, to the audience it concerns (a store's prices only to that
store). A store server following HQ applies HQ's changes here with :func:`apply_replicated` and
republishes them the same way, so its own terminals pull from it as they would from HQ.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Table,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from osuite.core.barcodes import BarcodeTemplate
from osuite.core.http import Problem, conflict, not_found
from osuite.core.ids import new_id
from osuite.core.security import hash_secret, verify_secret
from osuite.core.sync.changelog import Change
from osuite.core.sync.transport import ChangeRow
from osuite.core.sync.wire import UPSERT
from osuite.dataserver import catalog_rules as rules
from osuite.dataserver import clients, tables
from osuite.dataserver import promotion_rules as promos
from osuite.dataserver.catalog_rules import RuleError
from osuite.dataserver.context import DataServer
from osuite.dataserver.wire.catalog import (
    BarcodeCreate,
    BarcodeRead,
    BarcodeTemplateCreate,
    BarcodeTemplateRead,
    BarcodeTemplateUpdate,
    BarcodeUpdate,
    CategoryCreate,
    CategoryPatch,
    CategoryRead,
    CategoryUpdate,
    ChangePosition,
    Page,
    PaymentTypeCreate,
    PaymentTypePatch,
    PaymentTypeRead,
    PaymentTypeUpdate,
    PriceRead,
    PriceUpdate,
    ProductCreate,
    ProductPatch,
    ProductRead,
    ProductUpdate,
    PromotionCreate,
    PromotionRead,
    PromotionUpdate,
    RoleCreate,
    RolePatch,
    RoleRead,
    RoleUpdate,
    SignedIn,
    TerminalSettingsRead,
    TerminalSettingsUpdate,
    UserCreate,
    UserPatch,
    UserRead,
    UserReplica,
    UserUpdate,
    price_key,
    split_price_key,
)

log = logging.getLogger("osuite.dataserver.catalog")

# Dependents first: after a snapshot the puller sweeps entities in this order, so a barcode HQ no longer
# has goes before its product instead of being cascaded away with it.
REPLICATED_ENTITIES: Sequence[str] = (
    "promotion",
    "terminal_settings",
    "user",
    "role",
    "payment_type",
    "barcode_template",
    "price",
    "barcode",
    "product",
    "category",
    "store",
)

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_IN_CHUNK = 500  # values per IN (…): well under SQLite's and PostgreSQL's limits on parameters

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R", bound=BaseModel)


# --- shared pieces ----------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _invalid(reason: str | Exception) -> Problem:
    return Problem(422, "Invalid input", str(reason))


def _read(model: type[R], row: Mapping[str, Any], **values: Any) -> R:
    return model.model_validate({**row, "updated_at": _aware(row["updated_at"]), **values})


def change(entity: str, key: str, payload: BaseModel | dict[str, Any] | None) -> Change:
    body = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload
    return Change(entity, key, rules.audience_of(entity, key), body)


def _publish(conn: Connection, ds: DataServer, entity: str, key: str, payload: BaseModel | None) -> None:
    ds.changelog.record(conn, [change(entity, key, payload)])


def bulk_payloads(model: type[BaseModel], rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The change-log payloads of many rows written at one moment, exactly as
    ``model.model_validate(row).model_dump(mode="json")`` makes them (a test holds the two equal) at a
    fifth of the cost, which a million-row import feels. For read models of plain columns only: text,
    numbers, booleans, decimals and the one ``updated_at`` all the rows share."""
    if not rows:
        return []
    stamp = _aware(rows[0]["updated_at"]).isoformat().replace("+00:00", "Z")
    names = [n for n in model.model_fields if n != "updated_at"]
    decimals = [n for n in names if isinstance(rows[0][n], Decimal)]
    payloads = [{**{n: row[n] for n in names}, "updated_at": stamp} for row in rows]
    for payload in payloads:
        for n in decimals:
            payload[n] = str(payload[n])
    return payloads


def _merged(current: BaseModel, patch: BaseModel, model: type[M], **extra: Any) -> M:
    """A PATCH applied to the current state, validated as a whole (a patch alone can break a rule)."""
    values = {name: value for name, value in current.model_dump().items() if name in model.model_fields}
    values.update(patch.model_dump(exclude_unset=True), **extra)
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        detail = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors(include_url=False)
        )
        raise _invalid(detail) from None


def _one(conn: Connection, table: Table, column: str, value: object) -> dict[str, Any] | None:
    row = conn.execute(select(table).where(table.c[column] == value)).mappings().first()
    return dict(row) if row is not None else None


def _exists(conn: Connection, table: Table, column: str, value: object) -> bool:
    return conn.execute(select(table.c[column]).where(table.c[column] == value)).first() is not None


def _page(
    conn: Connection,
    query: Select[Any],
    key: ColumnElement[Any],
    *,
    after: str | None,
    limit: int,
    to_read: Callable[[Mapping[str, Any]], R],
    key_of: Callable[[R], str],
) -> Page[R]:
    limit = max(1, min(limit, MAX_LIMIT))
    if after is not None:
        query = query.where(key > after)
    rows = conn.execute(query.order_by(key).limit(limit + 1)).mappings().all()
    items = [to_read(dict(r)) for r in rows[:limit]]
    return Page[R](items=items, next=key_of(items[-1]) if len(rows) > limit else None)


def upsert_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert or replace by primary key, many rows in one executemany straight through the driver.

    SQLAlchemy's executemany processes every parameter of every row in Python, which costs more than
    SQLite's own insert and is most of a million-row import; here the values go to the driver as they
    are, except for the columns whose type needs converting (dates and booleans on SQLite), and even
    those are converted once per distinct value (a bulk write shares one ``updated_at``).
    """
    if not rows:
        return
    names = list(rows[0])
    dialect = conn.dialect
    statement = (sqlite if dialect.name == "sqlite" else postgresql).insert(table)
    keys = [c.name for c in table.primary_key.columns]
    changing = {name: statement.excluded[name] for name in names if name not in keys}
    compiled = statement.on_conflict_do_update(index_elements=keys, set_=changing).compile(
        dialect=dialect, column_keys=names
    )
    order = list(compiled.positiontup or []) if compiled.positional else names
    converters = [
        (i, _memoized(process))
        for i, name in enumerate(order)
        if (process := table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) is not None
    ]
    pick = itemgetter(*order)
    params: list[Any] = []
    for row in rows:
        values = list(pick(row)) if len(order) > 1 else [row[order[0]]]
        for i, convert in converters:
            values[i] = convert(values[i])
        params.append(tuple(values) if compiled.positional else dict(zip(order, values, strict=True)))
    conn.exec_driver_sql(compiled.string, params)


def _memoized(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    seen: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        try:
            return seen[value]
        except KeyError:
            seen[value] = converted = process(value)
            return converted
        except TypeError:  # unhashable: convert every time
            return process(value)

    return convert


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _chunks(items: Sequence[Any], size: int = _IN_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- categories -------------------------------------------------------------------------------------


def category_read(row: Mapping[str, Any]) -> CategoryRead:
    return _read(CategoryRead, row)


def list_categories(
    conn: Connection, *, after: str | None = None, limit: int = DEFAULT_LIMIT
) -> Page[CategoryRead]:
    c = tables.categories.c
    return _page(
        conn,
        select(tables.categories),
        c.id,
        after=after,
        limit=limit,
        to_read=category_read,
        key_of=lambda r: r.id,
    )


def get_category(conn: Connection, *, category_id: str) -> CategoryRead:
    row = _one(conn, tables.categories, "id", category_id)
    if row is None:
        raise not_found("category", category_id)
    return category_read(row)


def create_category(conn: Connection, ds: DataServer, *, data: CategoryCreate) -> CategoryRead:
    category_id = data.id or new_id()
    if _exists(conn, tables.categories, "id", category_id):
        raise conflict(f"category {category_id} already exists")
    return _save_category(conn, ds, category_id, data, creating=True)


def update_category(
    conn: Connection, ds: DataServer, *, category_id: str, data: CategoryUpdate
) -> CategoryRead:
    get_category(conn, category_id=category_id)
    return _save_category(conn, ds, category_id, data, creating=False)


def patch_category(
    conn: Connection, ds: DataServer, *, category_id: str, data: CategoryPatch
) -> CategoryRead:
    current = get_category(conn, category_id=category_id)
    return update_category(conn, ds, category_id=category_id, data=_merged(current, data, CategoryUpdate))


def delete_category(conn: Connection, ds: DataServer, *, category_id: str) -> None:
    current = get_category(conn, category_id=category_id)
    c, p = tables.categories.c, tables.products.c
    children = conn.execute(select(func.count()).where(c.parent_id == category_id)).scalar_one()
    if children:
        raise conflict(
            f"category {current.name!r} has {_count(children, 'subcategory', 'subcategories')}: "
            "move or delete them first"
        )
    products = conn.execute(select(func.count()).where(p.category_id == category_id)).scalar_one()
    if products:
        raise conflict(
            f"category {current.name!r} has {_count(products, 'product', 'products')}: "
            "move them to another category first"
        )
    _not_in_promotions(conn, "category_ids", category_id, f"category {current.name!r}")
    conn.execute(delete(tables.categories).where(c.id == category_id))
    _publish(conn, ds, "category", category_id, None)


def _save_category(
    conn: Connection, ds: DataServer, category_id: str, data: CategoryUpdate, *, creating: bool
) -> CategoryRead:
    _check_parent(conn, category_id, data.parent_id)
    _check_sibling_name(conn, category_id, data.parent_id, data.name)
    row = {**data.model_dump(include={"name", "parent_id", "sort"}), "updated_at": _now()}
    c = tables.categories.c
    if creating:
        conn.execute(insert(tables.categories).values(id=category_id, **row))
    else:
        conn.execute(update(tables.categories).where(c.id == category_id).values(**row))
    saved = category_read({"id": category_id, **row})
    _publish(conn, ds, "category", category_id, saved)
    return saved


def _check_parent(conn: Connection, category_id: str, parent_id: str | None) -> None:
    if parent_id is None:
        return
    c = tables.categories.c
    parent_of: dict[str, str | None] = dict(conn.execute(select(c.id, c.parent_id)).all())
    if parent_id not in parent_of:
        raise _invalid(f"parent category {parent_id} does not exist")
    if rules.creates_cycle(category_id, parent_id, parent_of):
        raise _invalid(
            f"category {category_id} cannot go under {parent_id}: that category is inside it (or is it)"
        )


def _check_sibling_name(conn: Connection, category_id: str, parent_id: str | None, name: str) -> None:
    """Two siblings with one name would make a path like ``Молочные/Сыры`` in an import ambiguous."""
    c = tables.categories.c
    same_parent = c.parent_id.is_(None) if parent_id is None else c.parent_id == parent_id
    folded = rules.search_key(name)
    for other_id, other_name in conn.execute(select(c.id, c.name).where(same_parent, c.id != category_id)):
        if rules.search_key(other_name) == folded:
            raise conflict(f"category {other_name!r} ({other_id}) already exists at the same place")


# --- products ---------------------------------------------------------------------------------------


def product_read(row: Mapping[str, Any]) -> ProductRead:
    return _read(ProductRead, row)


def product_row(fields: Mapping[str, Any], *, updated_at: datetime) -> dict[str, Any]:
    """The products table row for validated product fields (the search key kept in step)."""
    row = {name: fields[name] for name in rules.PRODUCT_FIELDS}
    return {**row, "search": rules.search_key(row["name"]), "updated_at": updated_at}


def list_products(
    conn: Connection,
    *,
    after: str | None = None,
    limit: int = DEFAULT_LIMIT,
    q: str | None = None,
    article: str | None = None,
    barcode: str | None = None,
    category_id: str | None = None,
) -> Page[ProductRead]:
    """Products by id; ``q`` finds a name substring in any case and alphabet, ``article`` and
    ``barcode`` find exact matches."""
    p = tables.products.c
    query = select(tables.products)
    if q and (word := rules.search_key(q.strip())):
        query = query.where(name_contains(conn, word))
    if article is not None:
        query = query.where(p.article == article.strip())
    if barcode is not None:
        code = "".join(barcode.split())
        query = query.where(
            p.id.in_(select(tables.barcodes.c.product_id).where(tables.barcodes.c.code == code))
        )
    if category_id is not None:
        query = query.where(p.category_id == category_id)
    return _page(conn, query, p.id, after=after, limit=limit, to_read=product_read, key_of=lambda r: r.id)


SEARCH_INDEX_MIN = 3
"""The shortest folded word the trigram index can find: a shorter one has no trigram."""
SEARCH_INDEX_MAX = 5000
"""Above this many matches the index is not used: fetching and sorting every match costs ~1 µs each
(a trigram like «0 г» is in half of a big catalog: 170 ms), while reading names in id order finds a
page of a word at least this common within the first rows."""


def name_contains(conn: Connection, word: str) -> ColumnElement[bool]:
    """Products whose folded name contains ``word`` (already folded), through the trigram index when
    it pays.

    A plain ``LIKE '%word%'`` reads names in id order until the page is full: quick for a common word,
    but every one of 1,000,000 names for a word few products have. On SQLite such a word is looked up
    in the FTS5 trigram table (migration 0003): a quoted phrase of trigrams is exactly a substring
    match, and SQLite 3.40 plans ``rowid IN (… MATCH …)`` as an index lookup (its ``LIKE`` on an FTS5
    table is index-assisted only for a case-insensitive tokenizer, which would fold differently from
    ``search_key``). Counting the matches up to :data:`SEARCH_INDEX_MAX` first is cheap (a few ms) and
    tells a rare word from a common one. A word of 1 or 2 characters has no trigram, so it keeps the
    scan: so short a word is in so many names that the first page fills within the first rows.
    PostgreSQL's planner makes the same choice by itself between the ``pg_trgm`` GIN index and the
    primary key's order, from its statistics.
    """
    like = tables.products.c.search.contains(word, autoescape=True)
    if conn.dialect.name != "sqlite" or len(word) < SEARCH_INDEX_MIN:
        return like
    phrase = '"' + word.replace('"', '""') + '"'
    found = select(tables.products_search.c.rowid).where(tables.products_search.c.search.match(phrase))
    probe = select(func.count()).select_from(found.limit(SEARCH_INDEX_MAX).subquery())
    if conn.execute(probe).scalar_one() >= SEARCH_INDEX_MAX:
        return like
    return literal_column("products.rowid").in_(found)


def get_product(conn: Connection, *, product_id: str) -> ProductRead:
    row = _one(conn, tables.products, "id", product_id)
    if row is None:
        raise not_found("product", product_id)
    return product_read(row)


def create_product(conn: Connection, ds: DataServer, *, data: ProductCreate) -> ProductRead:
    product_id = data.id or new_id()
    if _exists(conn, tables.products, "id", product_id):
        raise conflict(f"product {product_id} already exists")
    return _save_product(conn, ds, product_id, data, creating=True)


def update_product(conn: Connection, ds: DataServer, *, product_id: str, data: ProductUpdate) -> ProductRead:
    get_product(conn, product_id=product_id)
    return _save_product(conn, ds, product_id, data, creating=False)


def patch_product(conn: Connection, ds: DataServer, *, product_id: str, data: ProductPatch) -> ProductRead:
    current = get_product(conn, product_id=product_id)
    return update_product(conn, ds, product_id=product_id, data=_merged(current, data, ProductUpdate))


def delete_product(conn: Connection, ds: DataServer, *, product_id: str) -> None:
    """Deletes its barcodes and prices with it (and tells terminals about each); a product a promotion
    names is refused, since taking it out would leave the promotion covering something else."""
    current = get_product(conn, product_id=product_id)
    _not_in_promotions(
        conn, "product_ids", product_id, f"product {current.name!r}", "or deactivate the product"
    )
    ds.changelog.record(conn, _delete_products(conn, [product_id]))


def _save_product(
    conn: Connection, ds: DataServer, product_id: str, data: ProductUpdate, *, creating: bool
) -> ProductRead:
    try:
        rules.check_product(unit=data.unit, weighted=data.weighted)
    except RuleError as exc:
        raise _invalid(exc) from None
    if data.category_id is not None and not _exists(conn, tables.categories, "id", data.category_id):
        raise _invalid(f"category {data.category_id} does not exist")
    p = tables.products.c
    holder = conn.execute(select(p.id, p.name).where(p.article == data.article, p.id != product_id)).first()
    if holder is not None:
        raise conflict(f"article {data.article!r} already belongs to product {holder.name!r} ({holder.id})")
    row = product_row(data.model_dump(), updated_at=_now())
    if creating:
        conn.execute(insert(tables.products).values(id=product_id, **row))
    else:
        conn.execute(update(tables.products).where(p.id == product_id).values(**row))
    saved = product_read({"id": product_id, **row})
    _publish(conn, ds, "product", product_id, saved)
    return saved


def _delete_products(conn: Connection, product_ids: Sequence[str]) -> list[Change]:
    """Delete products with their barcodes and prices; the deletes to publish."""
    changes: list[Change] = []
    b, pr = tables.barcodes.c, tables.prices.c
    for chunk in _chunks(product_ids):
        codes = conn.execute(
            delete(tables.barcodes).where(b.product_id.in_(chunk)).returning(b.code)
        ).scalars()
        changes += [change("barcode", code, None) for code in codes]
        prices = conn.execute(
            delete(tables.prices).where(pr.product_id.in_(chunk)).returning(pr.store_id, pr.product_id)
        )
        changes += [change("price", price_key(s, p), None) for s, p in prices]
        p = tables.products.c
        gone = conn.execute(delete(tables.products).where(p.id.in_(chunk)).returning(p.id)).scalars()
        changes += [change("product", product_id, None) for product_id in gone]
    return changes


# --- barcodes ---------------------------------------------------------------------------------------


def barcode_read(row: Mapping[str, Any]) -> BarcodeRead:
    return _read(BarcodeRead, row)


def list_barcodes(
    conn: Connection, *, after: str | None = None, limit: int = DEFAULT_LIMIT, product_id: str | None = None
) -> Page[BarcodeRead]:
    b = tables.barcodes.c
    query = select(tables.barcodes)
    if product_id is not None:
        query = query.where(b.product_id == product_id)
    return _page(conn, query, b.code, after=after, limit=limit, to_read=barcode_read, key_of=lambda r: r.code)


def get_barcode(conn: Connection, *, code: str) -> BarcodeRead:
    row = _one(conn, tables.barcodes, "code", "".join(code.split()))
    if row is None:
        raise not_found("barcode", code)
    return barcode_read(row)


def create_barcode(conn: Connection, ds: DataServer, *, data: BarcodeCreate) -> BarcodeRead:
    code = _barcode_code(data.code)
    holder = _one(conn, tables.barcodes, "code", code)
    if holder is not None:
        raise conflict(f"barcode {code} already belongs to product {holder['product_id']}")
    return _save_barcode(conn, ds, code, data)


def set_barcode(conn: Connection, ds: DataServer, *, code: str, data: BarcodeUpdate) -> BarcodeRead:
    """Create the barcode or give it to another product (one code always sells one product)."""
    return _save_barcode(conn, ds, _barcode_code(code), data)


def delete_barcode(conn: Connection, ds: DataServer, *, code: str) -> None:
    found = get_barcode(conn, code=code)
    conn.execute(delete(tables.barcodes).where(tables.barcodes.c.code == found.code))
    _publish(conn, ds, "barcode", found.code, None)


def _barcode_code(code: str) -> str:
    try:
        return rules.barcode_code(code)
    except RuleError as exc:
        raise _invalid(exc) from None


def _save_barcode(conn: Connection, ds: DataServer, code: str, data: BarcodeUpdate) -> BarcodeRead:
    if not _exists(conn, tables.products, "id", data.product_id):
        raise _invalid(f"product {data.product_id} does not exist")
    try:
        factor = rules.multiplier(data.multiplier)
    except RuleError as exc:
        raise _invalid(exc) from None
    row = {"code": code, "product_id": data.product_id, "multiplier": factor, "updated_at": _now()}
    upsert_rows(conn, tables.barcodes, [row])
    saved = barcode_read(row)
    _publish(conn, ds, "barcode", code, saved)
    return saved


# --- prices -----------------------------------------------------------------------------------------


def price_read(row: Mapping[str, Any]) -> PriceRead:
    return _read(PriceRead, row)


def list_prices(
    conn: Connection, *, store_id: str, after: str | None = None, limit: int = DEFAULT_LIMIT
) -> Page[PriceRead]:
    """A store's prices by product id."""
    clients.get_store(conn, store_id)
    pr = tables.prices.c
    query = select(tables.prices).where(pr.store_id == store_id)
    return _page(
        conn,
        query,
        pr.product_id,
        after=after,
        limit=limit,
        to_read=price_read,
        key_of=lambda r: r.product_id,
    )


def get_price(conn: Connection, *, store_id: str, product_id: str) -> PriceRead:
    pr = tables.prices.c
    row = (
        conn.execute(select(tables.prices).where(pr.store_id == store_id, pr.product_id == product_id))
        .mappings()
        .first()
    )
    if row is None:
        raise not_found("price of product", f"{product_id} in store {store_id}")
    return price_read(dict(row))


def set_price(
    conn: Connection, ds: DataServer, *, store_id: str, product_id: str, data: PriceUpdate
) -> PriceRead:
    clients.get_store(conn, store_id)
    get_product(conn, product_id=product_id)
    row = {"store_id": store_id, "product_id": product_id, "price": data.price, "updated_at": _now()}
    upsert_rows(conn, tables.prices, [row])
    saved = price_read(row)
    _publish(conn, ds, "price", price_key(store_id, product_id), saved)
    return saved


def delete_price(conn: Connection, ds: DataServer, *, store_id: str, product_id: str) -> None:
    get_price(conn, store_id=store_id, product_id=product_id)
    pr = tables.prices.c
    conn.execute(delete(tables.prices).where(pr.store_id == store_id, pr.product_id == product_id))
    _publish(conn, ds, "price", price_key(store_id, product_id), None)


# --- change positions -------------------------------------------------------------------------------


def change_position(conn: Connection, ds: DataServer, *, entity: str, key: str) -> ChangePosition:
    """Where the newest change of one entity stands in the change log: a client whose sync cursor has
    reached it has that change (or a later one)."""
    c = ds.changelog.tables.changes.c
    seq = conn.execute(select(func.max(c.seq)).where(c.entity == entity, c.key == key)).scalar()
    return ChangePosition(seq=seq, last_seq=ds.changelog.last_seq(conn))


def product_position(
    conn: Connection, ds: DataServer, *, product_id: str, store_id: str | None = None
) -> ChangePosition:
    """The newest change of a product, its barcodes and its prices (in ``store_id`` only, when given):
    what a terminal must have pulled to sell it as it is now. A barcode deleted since is not counted
    (the product no longer names it); ask :func:`change_position` for it."""
    get_product(conn, product_id=product_id)
    if store_id is not None:
        clients.get_store(conn, store_id)
    b, pr = tables.barcodes.c, tables.prices.c
    codes = list(conn.execute(select(b.code).where(b.product_id == product_id)).scalars())
    stores = select(pr.store_id).where(pr.product_id == product_id)
    if store_id is not None:
        stores = stores.where(pr.store_id == store_id)
    priced = [price_key(s, product_id) for s in conn.execute(stores).scalars()]
    c = ds.changelog.tables.changes.c
    wanted = [(c.entity == "product") & (c.key == product_id)]
    wanted += [(c.entity == "barcode") & c.key.in_(chunk) for chunk in _chunks(codes)]
    wanted += [(c.entity == "price") & c.key.in_(chunk) for chunk in _chunks(priced)]
    seq = conn.execute(select(func.max(c.seq)).where(or_(*wanted))).scalar()
    return ChangePosition(seq=seq, last_seq=ds.changelog.last_seq(conn))


# --- barcode templates ------------------------------------------------------------------------------


def _template(row: Mapping[str, Any]) -> BarcodeTemplateRead:
    return _read(BarcodeTemplateRead, row, template=orjson.loads(row["definition"]))


def list_barcode_templates(
    conn: Connection, *, after: str | None = None, limit: int = DEFAULT_LIMIT
) -> Page[BarcodeTemplateRead]:
    t = tables.barcode_templates.c
    return _page(
        conn,
        select(tables.barcode_templates),
        t.id,
        after=after,
        limit=limit,
        to_read=_template,
        key_of=lambda r: r.id,
    )


def get_barcode_template(conn: Connection, *, template_id: str) -> BarcodeTemplateRead:
    row = _one(conn, tables.barcode_templates, "id", template_id)
    if row is None:
        raise not_found("barcode template", template_id)
    return _template(row)


def create_barcode_template(
    conn: Connection, ds: DataServer, *, data: BarcodeTemplateCreate
) -> BarcodeTemplateRead:
    template_id = data.id or new_id()
    if _exists(conn, tables.barcode_templates, "id", template_id):
        raise conflict(f"barcode template {template_id} already exists")
    return _save_template(conn, ds, template_id, data.template, creating=True)


def update_barcode_template(
    conn: Connection, ds: DataServer, *, template_id: str, data: BarcodeTemplateUpdate
) -> BarcodeTemplateRead:
    get_barcode_template(conn, template_id=template_id)
    return _save_template(conn, ds, template_id, data.template, creating=False)


def delete_barcode_template(conn: Connection, ds: DataServer, *, template_id: str) -> None:
    get_barcode_template(conn, template_id=template_id)
    conn.execute(delete(tables.barcode_templates).where(tables.barcode_templates.c.id == template_id))
    _publish(conn, ds, "barcode_template", template_id, None)


def _save_template(
    conn: Connection, ds: DataServer, template_id: str, template: BarcodeTemplate, *, creating: bool
) -> BarcodeTemplateRead:
    t = tables.barcode_templates.c
    others = [
        BarcodeTemplate.model_validate_json(definition)
        for (definition,) in conn.execute(select(t.definition).where(t.id != template_id))
    ]
    clash = rules.prefix_clash(template, others)
    if clash:
        raise conflict(clash)
    row = {
        "name": template.name,
        "definition": orjson.dumps(template.model_dump(mode="json")).decode(),
        "updated_at": _now(),
    }
    if creating:
        conn.execute(insert(tables.barcode_templates).values(id=template_id, **row))
    else:
        conn.execute(update(tables.barcode_templates).where(t.id == template_id).values(**row))
    saved = _template({"id": template_id, **row})
    _publish(conn, ds, "barcode_template", template_id, saved)
    return saved


# --- payment types ----------------------------------------------------------------------------------


def _payment_type(row: Mapping[str, Any]) -> PaymentTypeRead:
    return _read(PaymentTypeRead, row)


def list_payment_types(
    conn: Connection, *, after: str | None = None, limit: int = DEFAULT_LIMIT
) -> Page[PaymentTypeRead]:
    pt = tables.payment_types.c
    return _page(
        conn,
        select(tables.payment_types),
        pt.code,
        after=after,
        limit=limit,
        to_read=_payment_type,
        key_of=lambda r: r.code,
    )


def get_payment_type(conn: Connection, *, code: str) -> PaymentTypeRead:
    row = _one(conn, tables.payment_types, "code", code)
    if row is None:
        raise not_found("payment type", code)
    return _payment_type(row)


def create_payment_type(conn: Connection, ds: DataServer, *, data: PaymentTypeCreate) -> PaymentTypeRead:
    if _exists(conn, tables.payment_types, "code", data.code):
        raise conflict(f"payment type {data.code} already exists")
    return _save_payment_type(conn, ds, data.code, data, creating=True)


def update_payment_type(
    conn: Connection, ds: DataServer, *, code: str, data: PaymentTypeUpdate
) -> PaymentTypeRead:
    get_payment_type(conn, code=code)
    return _save_payment_type(conn, ds, code, data, creating=False)


def patch_payment_type(
    conn: Connection, ds: DataServer, *, code: str, data: PaymentTypePatch
) -> PaymentTypeRead:
    current = get_payment_type(conn, code=code)
    return update_payment_type(conn, ds, code=code, data=_merged(current, data, PaymentTypeUpdate))


def delete_payment_type(conn: Connection, ds: DataServer, *, code: str) -> None:
    """Receipts keep the code they were paid with; deactivate instead to keep it in reports' names."""
    get_payment_type(conn, code=code)
    conn.execute(delete(tables.payment_types).where(tables.payment_types.c.code == code))
    _publish(conn, ds, "payment_type", code, None)


def _save_payment_type(
    conn: Connection, ds: DataServer, code: str, data: PaymentTypeUpdate, *, creating: bool
) -> PaymentTypeRead:
    row = {**data.model_dump(include={"name", "method", "active", "sort"}), "updated_at": _now()}
    if creating:
        conn.execute(insert(tables.payment_types).values(code=code, **row))
    else:
        conn.execute(update(tables.payment_types).where(tables.payment_types.c.code == code).values(**row))
    saved = _payment_type({"code": code, **row})
    _publish(conn, ds, "payment_type", code, saved)
    return saved


# --- promotions -------------------------------------------------------------------------------------


def _promotion(row: Mapping[str, Any]) -> PromotionRead:
    return _read(PromotionRead, row, **{name: orjson.loads(row[name]) for name in promos.LIST_FIELDS})


def list_promotions(
    conn: Connection, *, after: str | None = None, limit: int = DEFAULT_LIMIT, active: bool | None = None
) -> Page[PromotionRead]:
    pr = tables.promotions.c
    query = select(tables.promotions)
    if active is not None:
        query = query.where(pr.active == active)
    return _page(conn, query, pr.id, after=after, limit=limit, to_read=_promotion, key_of=lambda r: r.id)


def get_promotion(conn: Connection, *, promotion_id: str) -> PromotionRead:
    row = _one(conn, tables.promotions, "id", promotion_id)
    if row is None:
        raise not_found("promotion", promotion_id)
    return _promotion(row)


def create_promotion(conn: Connection, ds: DataServer, *, data: PromotionCreate) -> PromotionRead:
    promotion_id = data.id or new_id()
    if _exists(conn, tables.promotions, "id", promotion_id):
        raise conflict(f"promotion {promotion_id} already exists")
    return _save_promotion(conn, ds, promotion_id, data, creating=True)


def update_promotion(
    conn: Connection, ds: DataServer, *, promotion_id: str, data: PromotionUpdate
) -> PromotionRead:
    get_promotion(conn, promotion_id=promotion_id)
    return _save_promotion(conn, ds, promotion_id, data, creating=False)


def delete_promotion(conn: Connection, ds: DataServer, *, promotion_id: str) -> None:
    get_promotion(conn, promotion_id=promotion_id)
    conn.execute(delete(tables.promotions).where(tables.promotions.c.id == promotion_id))
    _publish(conn, ds, "promotion", promotion_id, None)


def _save_promotion(
    conn: Connection, ds: DataServer, promotion_id: str, data: PromotionUpdate, *, creating: bool
) -> PromotionRead:
    try:
        promos.check_promotion(data)
    except RuleError as exc:
        raise _invalid(exc) from None
    fields = promos.promotion_row(data)
    missing = promos.missing_message(
        [
            promos.Reference(
                "product", fields["product_ids"], _known(conn, tables.products, fields["product_ids"])
            ),
            promos.Reference(
                "category", fields["category_ids"], _known(conn, tables.categories, fields["category_ids"])
            ),
            promos.Reference("store", fields["store_ids"], _known(conn, tables.stores, fields["store_ids"])),
        ]
    )
    if missing:
        raise _invalid(missing)
    row = {
        **fields,
        **{name: orjson.dumps(fields[name]).decode() for name in promos.LIST_FIELDS},
        "updated_at": _now(),
    }
    if creating:
        conn.execute(insert(tables.promotions).values(id=promotion_id, **row))
    else:
        conn.execute(update(tables.promotions).where(tables.promotions.c.id == promotion_id).values(**row))
    saved = _promotion({"id": promotion_id, **row})
    _publish(conn, ds, "promotion", promotion_id, saved)
    return saved


def _known(conn: Connection, table: Table, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` are rows of ``table`` (by its ``id``)."""
    found: set[str] = set()
    for chunk in _chunks(ids):
        found.update(conn.execute(select(table.c.id).where(table.c.id.in_(chunk))).scalars())
    return found


def _not_in_promotions(conn: Connection, field_name: str, key: str, what: str, alternative: str = "") -> None:
    """Refuse to delete what a promotion names (a promotion left naming nothing would cover everything)."""
    pr = tables.promotions.c
    column = pr[field_name]
    candidates = conn.execute(
        select(pr.id, pr.name, column).where(column.contains(f'"{key}"', autoescape=True)).order_by(pr.id)
    )
    naming = [f"{name!r} ({pid})" for pid, name, ids in candidates if key in orjson.loads(ids)]
    if naming:
        shown = ", ".join(naming[:5]) + (" …" if len(naming) > 5 else "")
        them = "that promotion" if len(naming) == 1 else "those promotions"
        raise conflict(
            f"{what} is named by {_count(len(naming), 'promotion', 'promotions')} ({shown}): "
            f"take it out of {them} first{', ' + alternative if alternative else ''}"
        )


# --- roles ------------------------------------------------------------------------------------------


def _role(row: Mapping[str, Any]) -> RoleRead:
    return _read(RoleRead, row, permissions=orjson.loads(row["permissions"]))


def list_roles(conn: Connection, *, after: str | None = None, limit: int = DEFAULT_LIMIT) -> Page[RoleRead]:
    return _page(
        conn,
        select(tables.roles),
        tables.roles.c.id,
        after=after,
        limit=limit,
        to_read=_role,
        key_of=lambda r: r.id,
    )


def get_role(conn: Connection, *, role_id: str) -> RoleRead:
    row = _one(conn, tables.roles, "id", role_id)
    if row is None:
        raise not_found("role", role_id)
    return _role(row)


def create_role(conn: Connection, ds: DataServer, *, data: RoleCreate) -> RoleRead:
    role_id = data.id or new_id()
    if _exists(conn, tables.roles, "id", role_id):
        raise conflict(f"role {role_id} already exists")
    return _save_role(conn, ds, role_id, data, creating=True)


def update_role(conn: Connection, ds: DataServer, *, role_id: str, data: RoleUpdate) -> RoleRead:
    get_role(conn, role_id=role_id)
    return _save_role(conn, ds, role_id, data, creating=False)


def patch_role(conn: Connection, ds: DataServer, *, role_id: str, data: RolePatch) -> RoleRead:
    current = get_role(conn, role_id=role_id)
    return update_role(conn, ds, role_id=role_id, data=_merged(current, data, RoleUpdate))


def delete_role(conn: Connection, ds: DataServer, *, role_id: str) -> None:
    current = get_role(conn, role_id=role_id)
    holders = _users_with_role(conn, role_id)
    if holders:
        shown = ", ".join(holders[:5]) + (" …" if len(holders) > 5 else "")
        raise conflict(
            f"role {current.name!r} is given to {_count(len(holders), 'user', 'users')} ({shown}): "
            "take it away from them first"
        )
    conn.execute(delete(tables.roles).where(tables.roles.c.id == role_id))
    _publish(conn, ds, "role", role_id, None)


def _users_with_role(conn: Connection, role_id: str) -> list[str]:
    u = tables.users.c
    candidates = conn.execute(
        select(u.login, u.roles).where(u.roles.contains(f'"{role_id}"', autoescape=True))
    )
    return sorted(login for login, roles in candidates if role_id in orjson.loads(roles))


def _save_role(
    conn: Connection, ds: DataServer, role_id: str, data: RoleUpdate, *, creating: bool
) -> RoleRead:
    r = tables.roles.c
    folded = rules.search_key(data.name)
    for other_id, other_name in conn.execute(select(r.id, r.name).where(r.id != role_id)):
        if rules.search_key(other_name) == folded:
            raise conflict(f"role {other_name!r} ({other_id}) already exists")
    permissions = rules.permissions(data.permissions)
    row = {"name": data.name, "permissions": orjson.dumps(permissions).decode(), "updated_at": _now()}
    if creating:
        conn.execute(insert(tables.roles).values(id=role_id, **row))
    else:
        conn.execute(update(tables.roles).where(r.id == role_id).values(**row))
    saved = _role({"id": role_id, **row})
    _publish(conn, ds, "role", role_id, saved)
    return saved


# --- users ------------------------------------------------------------------------------------------


def _user_replica(row: Mapping[str, Any]) -> UserReplica:
    return _read(
        UserReplica,
        row,
        roles=orjson.loads(row["roles"]),
        has_pin=row["pin_hash"] is not None,
        has_password=row["password_hash"] is not None,
    )


def _user(row: Mapping[str, Any]) -> UserRead:
    return UserRead.model_validate(_user_replica(row).model_dump(exclude={"pin_hash", "password_hash"}))


def list_users(conn: Connection, *, after: str | None = None, limit: int = DEFAULT_LIMIT) -> Page[UserRead]:
    return _page(
        conn,
        select(tables.users),
        tables.users.c.id,
        after=after,
        limit=limit,
        to_read=_user,
        key_of=lambda r: r.id,
    )


def get_user(conn: Connection, *, user_id: str) -> UserRead:
    return _user(_user_row(conn, user_id))


def sign_in(conn: Connection, *, login: str, password: str) -> SignedIn:
    """The active user whose password this is, with what their roles allow. One answer for every way
    it can fail, so a caller learns nothing about which logins exist."""
    row = conn.execute(select(tables.users).where(tables.users.c.login == login.strip())).mappings().first()
    stored = row["password_hash"] if row is not None else None
    if row is None or not row["active"] or stored is None or not verify_secret(password, stored):
        raise Problem(
            403, "Not signed in", "wrong login or password, or the user is not active", type_="credentials"
        )
    roles = orjson.loads(row["roles"])
    granted = conn.execute(select(tables.roles.c.permissions).where(tables.roles.c.id.in_(roles))).scalars()
    return SignedIn(
        user=_user(dict(row)),
        permissions=rules.permissions(p for permissions in granted for p in orjson.loads(permissions)),
    )


def create_user(conn: Connection, ds: DataServer, *, data: UserCreate) -> UserRead:
    user_id = data.id or new_id()
    if _exists(conn, tables.users, "id", user_id):
        raise conflict(f"user {user_id} already exists")
    fields = UserUpdate.model_validate(data.model_dump(exclude={"id"}))
    return _save_user(conn, ds, user_id, fields, current=None)


def update_user(conn: Connection, ds: DataServer, *, user_id: str, data: UserUpdate) -> UserRead:
    """Replace the user's fields; a PIN or password left out stays as it is (it is never shown)."""
    return _save_user(conn, ds, user_id, data, current=_user_row(conn, user_id))


def patch_user(conn: Connection, ds: DataServer, *, user_id: str, data: UserPatch) -> UserRead:
    current = _user_row(conn, user_id)
    merged = _merged(_user(current), data, UserUpdate)
    return _save_user(conn, ds, user_id, merged, current=current)


def delete_user(conn: Connection, ds: DataServer, *, user_id: str) -> None:
    """Documents keep the cashier's id; deactivate instead to keep the name in reports."""
    _user_row(conn, user_id)
    conn.execute(delete(tables.users).where(tables.users.c.id == user_id))
    _publish(conn, ds, "user", user_id, None)


def _user_row(conn: Connection, user_id: str) -> dict[str, Any]:
    row = _one(conn, tables.users, "id", user_id)
    if row is None:
        raise not_found("user", user_id)
    return row


def _save_user(
    conn: Connection, ds: DataServer, user_id: str, data: UserUpdate, *, current: Mapping[str, Any] | None
) -> UserRead:
    pin_hash = _secret(data.pin, data.remove_pin, current["pin_hash"] if current else None, "PIN")
    password_hash = _secret(
        data.password, data.remove_password, current["password_hash"] if current else None, "password"
    )
    try:
        rules.check_user_secrets(has_pin=pin_hash is not None, has_password=password_hash is not None)
    except RuleError as exc:
        raise _invalid(exc) from None
    u = tables.users.c
    holder = conn.execute(
        select(u.id).where(func.lower(u.login) == data.login.lower(), u.id != user_id)
    ).first()
    if holder is not None:
        raise conflict(f"login {data.login!r} is taken by user {holder.id}")
    roles = rules.distinct(data.roles)
    known = set(conn.execute(select(tables.roles.c.id).where(tables.roles.c.id.in_(roles))).scalars())
    missing = [r for r in roles if r not in known]
    if missing:
        raise _invalid(f"role {missing[0]} does not exist")
    row = {
        "login": data.login,
        "name": data.name,
        "roles": orjson.dumps(roles).decode(),
        "active": data.active,
        "pin_hash": pin_hash,
        "password_hash": password_hash,
        "updated_at": _now(),
    }
    if current is None:
        conn.execute(insert(tables.users).values(id=user_id, **row))
    else:
        conn.execute(update(tables.users).where(u.id == user_id).values(**row))
    replica = _user_replica({"id": user_id, **row})
    _publish(conn, ds, "user", user_id, replica)
    return _user({"id": user_id, **row})


def _secret(new: str | None, remove: bool, current: str | None, what: str) -> str | None:
    if new is not None and remove:
        raise _invalid(f"give a new {what} or remove it, not both")
    if remove:
        return None
    return hash_secret(new) if new is not None else current


# --- terminal settings ------------------------------------------------------------------------------


def _settings(row: Mapping[str, Any]) -> TerminalSettingsRead:
    return _read(TerminalSettingsRead, row, values=orjson.loads(row["values"]))


def list_terminal_settings(
    conn: Connection, *, after: str | None = None, limit: int = DEFAULT_LIMIT
) -> Page[TerminalSettingsRead]:
    ts = tables.terminal_settings.c
    return _page(
        conn,
        select(tables.terminal_settings),
        ts.scope,
        after=after,
        limit=limit,
        to_read=_settings,
        key_of=lambda r: r.scope,
    )


def get_terminal_settings(conn: Connection, *, scope: str) -> TerminalSettingsRead:
    row = _one(conn, tables.terminal_settings, "scope", scope)
    if row is None:
        raise not_found("terminal settings for", scope)
    return _settings(row)


def set_terminal_settings(
    conn: Connection, ds: DataServer, *, scope: str, data: TerminalSettingsUpdate
) -> TerminalSettingsRead:
    """Settings for a store's terminals (``store:<id>``) or for one client (``client:<id>``)."""
    try:
        kind, target = rules.parse_scope(scope)
    except RuleError as exc:
        raise _invalid(exc) from None
    if kind == "store":
        clients.get_store(conn, target)
    elif not _exists(conn, tables.clients, "id", target):
        raise not_found("client", target)
    row = {"scope": scope, "values": orjson.dumps(data.values).decode(), "updated_at": _now()}
    upsert_rows(conn, tables.terminal_settings, [row])
    saved = _settings(row)
    _publish(conn, ds, "terminal_settings", scope, saved)
    return saved


def delete_terminal_settings(conn: Connection, ds: DataServer, *, scope: str) -> None:
    get_terminal_settings(conn, scope=scope)
    conn.execute(delete(tables.terminal_settings).where(tables.terminal_settings.c.scope == scope))
    _publish(conn, ds, "terminal_settings", scope, None)


# --- replication from HQ ----------------------------------------------------------------------------


class _StorePayload(BaseModel):
    """A store as :func:`osuite.dataserver.clients.publish_store` publishes it."""

    id: str
    code: str
    name: str
    address: str = ""
    timezone: str = "Europe/Moscow"
    active: bool = True


@dataclass(frozen=True)
class _Spec:
    """How one replicated entity maps between HQ's payload and this server's table."""

    table: Table
    model: type[BaseModel]
    to_row: Callable[[Any], dict[str, Any]]
    key_of: Callable[[Mapping[str, Any]], str]
    refs: Callable[[Mapping[str, Any]], list[tuple[str, str]]] = lambda _row: []
    unique: str | None = None
    """A column whose value HQ may hand from one row to another (an article reused)."""


def _plain(model: BaseModel) -> dict[str, Any]:
    return model.model_dump()


def _json_columns(*names: str) -> Callable[[BaseModel], dict[str, Any]]:
    def to_row(model: BaseModel) -> dict[str, Any]:
        row = model.model_dump()
        return {**row, **{n: orjson.dumps(row[n]).decode() for n in names}}

    return to_row


def _product_from(model: ProductRead) -> dict[str, Any]:
    return {"id": model.id, **product_row(model.model_dump(), updated_at=model.updated_at)}


def _template_from(model: BarcodeTemplateRead) -> dict[str, Any]:
    definition = orjson.dumps(model.template.model_dump(mode="json")).decode()
    return {
        "id": model.id,
        "name": model.template.name,
        "definition": definition,
        "updated_at": model.updated_at,
    }


def _user_from(model: UserReplica) -> dict[str, Any]:
    row = model.model_dump(exclude={"has_pin", "has_password"})
    return {**row, "roles": orjson.dumps(row["roles"]).decode()}


def _store_from(model: _StorePayload) -> dict[str, Any]:
    return {**model.model_dump(), "updated_at": _now()}


def _placeholder(key: str, width: int) -> str:
    return "~" + key[-(width - 1) :]


def _ref(entity: str, key: object) -> list[tuple[str, str]]:
    return [(entity, key)] if isinstance(key, str) else []


_SPECS: Mapping[str, _Spec] = {
    "store": _Spec(tables.stores, _StorePayload, _store_from, lambda r: r["id"], unique="code"),
    "category": _Spec(
        tables.categories,
        CategoryRead,
        _plain,
        lambda r: r["id"],
        refs=lambda r: _ref("category", r["parent_id"]),
    ),
    "product": _Spec(
        tables.products,
        ProductRead,
        _product_from,
        lambda r: r["id"],
        refs=lambda r: _ref("category", r["category_id"]),
        unique="article",
    ),
    "barcode": _Spec(
        tables.barcodes,
        BarcodeRead,
        _plain,
        lambda r: r["code"],
        refs=lambda r: _ref("product", r["product_id"]),
    ),
    "price": _Spec(
        tables.prices,
        PriceRead,
        _plain,
        lambda r: price_key(r["store_id"], r["product_id"]),
        refs=lambda r: [("store", r["store_id"]), ("product", r["product_id"])],
    ),
    "barcode_template": _Spec(
        tables.barcode_templates, BarcodeTemplateRead, _template_from, lambda r: r["id"]
    ),
    "payment_type": _Spec(tables.payment_types, PaymentTypeRead, _plain, lambda r: r["code"]),
    # No refs: a promotion naming a product HQ has not sent yet is harmless, and waiting for ten
    # thousand products one by one would hold it back for nothing.
    "promotion": _Spec(
        tables.promotions, PromotionRead, _json_columns(*promos.LIST_FIELDS), lambda r: r["id"]
    ),
    "role": _Spec(tables.roles, RoleRead, _json_columns("permissions"), lambda r: r["id"], unique="name"),
    "user": _Spec(tables.users, UserReplica, _user_from, lambda r: r["id"], unique="login"),
    "terminal_settings": _Spec(
        tables.terminal_settings, TerminalSettingsRead, _json_columns("values"), lambda r: r["scope"]
    ),
}


def _key_filter(entity: str, keys: Sequence[str]) -> ColumnElement[bool]:
    table = _SPECS[entity].table
    if entity == "price":
        return tuple_(table.c.store_id, table.c.product_id).in_([split_price_key(k) for k in keys])
    (column,) = table.primary_key.columns
    return column.in_(keys)


def _key_columns(entity: str) -> list[ColumnElement[Any]]:
    return list(_SPECS[entity].table.primary_key.columns)


def _joined_key(entity: str, values: Sequence[Any]) -> str:
    return price_key(values[0], values[1]) if entity == "price" else str(values[0])


def _present(conn: Connection, entity: str, keys: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(sorted(set(keys))):
        rows = conn.execute(select(*_key_columns(entity)).where(_key_filter(entity, chunk)))
        found.update(_joined_key(entity, tuple(row)) for row in rows)
    return found


@dataclass
class _Applier:
    """Applies one page of HQ's changes and collects what to republish, in one changelog write."""

    conn: Connection
    ds: DataServer
    changes: list[Change] = field(default_factory=list)
    parked_any: bool = False

    def __post_init__(self) -> None:
        pending = tables.replica_pending
        self.parked_any = self.conn.execute(select(pending.c.entity).limit(1)).first() is not None

    def upsert(self, entity: str, items: Sequence[tuple[str, dict[str, Any] | None]]) -> None:
        spec = _SPECS[entity]
        rows: list[tuple[dict[str, Any], BaseModel]] = []
        for key, payload in items:
            parsed = self._parse(entity, key, payload)
            if parsed is not None:
                rows.append(parsed)
        self._unpark([spec.key_of(row) for row, _model in rows], entity)
        ready = self._ready_or_park(entity, rows)
        if not ready:
            return
        self._free_unique(entity, [row for row, _model in ready])
        upsert_rows(self.conn, spec.table, [row for row, _model in ready])
        for row, model in ready:
            if entity == "store":
                clients.publish_store(self.conn, self.ds, row)
            else:
                self.changes.append(change(entity, spec.key_of(row), model))
        self._release(entity, [spec.key_of(row) for row, _model in ready])

    def delete(self, entity: str, keys: Sequence[str]) -> None:
        self._unpark(keys, entity)
        if entity == "product":
            self.changes += _delete_products(self.conn, keys)
        elif entity == "category":
            self._delete_categories(keys)
        elif entity == "store":
            for key in keys:
                self._delete_store(key)
        else:
            self._delete_plain(entity, keys)

    def _parse(
        self, entity: str, key: str, payload: dict[str, Any] | None
    ) -> tuple[dict[str, Any], BaseModel] | None:
        """HQ's payload as a row; one this version cannot read is logged and skipped, so a newer HQ
        does not stop the whole catalog from flowing."""
        spec = _SPECS[entity]
        try:
            model = spec.model.model_validate(payload)
        except ValidationError as exc:
            log.error("HQ sent a %s %s this version cannot read; skipped: %s", entity, key, exc)
            return None
        row = spec.to_row(model)
        if spec.key_of(row) != key:
            log.error("HQ sent a %s under key %s for %s; skipped", entity, key, spec.key_of(row))
            return None
        return row, model

    def _ready_or_park(
        self, entity: str, rows: list[tuple[dict[str, Any], BaseModel]]
    ) -> list[tuple[dict[str, Any], BaseModel]]:
        """The rows whose references exist; the others wait in replica_pending for them."""
        spec = _SPECS[entity]
        wanted: dict[str, set[str]] = {}
        for row, _model in rows:
            for ref_entity, ref_key in spec.refs(row):
                wanted.setdefault(ref_entity, set()).add(ref_key)
        known = {ref_entity: _present(self.conn, ref_entity, keys) for ref_entity, keys in wanted.items()}
        ready: list[tuple[dict[str, Any], BaseModel]] = []
        parked: list[dict[str, Any]] = []
        for row, model in rows:
            missing = [ref for ref in spec.refs(row) if ref[1] not in known.get(ref[0], set())]
            if missing:
                parked.append(self._parked(entity, spec.key_of(row), model, missing[0]))
                continue
            ready.append((row, model))
            known.setdefault(entity, set()).add(spec.key_of(row))  # a parent category earlier in the page
        if parked:
            upsert_rows(self.conn, tables.replica_pending, parked)
            self.parked_any = True
        return ready

    @staticmethod
    def _parked(entity: str, key: str, model: BaseModel, waits: tuple[str, str]) -> dict[str, Any]:
        log.info("%s %s waits for %s %s from HQ", entity, key, *waits)
        payload = orjson.dumps(model.model_dump(mode="json")).decode()
        return {
            "entity": entity,
            "key": key,
            "payload": payload,
            "waits_entity": waits[0],
            "waits_key": waits[1],
        }

    def _unpark(self, keys: Sequence[str], entity: str) -> None:
        """A newer change for a parked key supersedes the parked one."""
        if not self.parked_any:
            return
        pending = tables.replica_pending.c
        for chunk in _chunks(keys):
            self.conn.execute(
                delete(tables.replica_pending).where(pending.entity == entity, pending.key.in_(chunk))
            )

    def _release(self, entity: str, keys: Sequence[str]) -> None:
        """Apply what was parked waiting for the rows just written (which may release more)."""
        if not self.parked_any:
            return
        pending = tables.replica_pending
        p = pending.c
        waiting: list[tuple[str, str, str]] = []
        for chunk in _chunks(keys):
            waiting += self.conn.execute(
                delete(pending)
                .where(p.waits_entity == entity, p.waits_key.in_(chunk))
                .returning(p.entity, p.key, p.payload)
            )
        ordered = rules.apply_order(ChangeRow(0, e, k, UPSERT, orjson.loads(body)) for e, k, body in waiting)
        for group_entity, group in itertools.groupby(ordered, key=lambda c: c.entity):
            self.upsert(group_entity, [(c.key, c.payload) for c in group])

    def _free_unique(self, entity: str, rows: Sequence[dict[str, Any]]) -> None:
        """Take a unique value (an article) from a row that HQ has since given it up, which we hear
        about only later (or, after a snapshot, through the sweep). That row keeps a ``~<its key>``
        placeholder meanwhile and is not republished in that state."""
        spec = _SPECS[entity]
        if spec.unique is None:
            return
        unique = spec.unique
        column = spec.table.c[unique]
        (key_column,) = spec.table.primary_key.columns
        width = int(getattr(column.type, "length", None) or 32)
        owner = {row[unique]: spec.key_of(row) for row in rows}  # within a page the last claim wins
        for row in rows:
            if owner[row[unique]] != spec.key_of(row):
                row[unique] = _placeholder(spec.key_of(row), width)
        for chunk in _chunks(list(owner)):
            holders = self.conn.execute(select(key_column, column).where(column.in_(chunk))).all()
            for key, value in holders:
                if owner[value] != key:
                    self.conn.execute(
                        update(spec.table).where(key_column == key).values({unique: _placeholder(key, width)})
                    )

    def _delete_plain(self, entity: str, keys: Sequence[str]) -> None:
        table = _SPECS[entity].table
        for chunk in _chunks(keys):
            gone = self.conn.execute(
                delete(table).where(_key_filter(entity, chunk)).returning(*_key_columns(entity))
            )
            self.changes += [change(entity, _joined_key(entity, tuple(row)), None) for row in gone]

    def _delete_categories(self, keys: Sequence[str]) -> None:
        """A category HQ deleted may still hold a product whose move we hear about later: loosen the
        links rather than fail; the later rows set them right."""
        c, p = tables.categories.c, tables.products.c
        for chunk in _chunks(keys):
            self.conn.execute(
                update(tables.products).where(p.category_id.in_(chunk)).values(category_id=None)
            )
            self.conn.execute(update(tables.categories).where(c.parent_id.in_(chunk)).values(parent_id=None))
        self._delete_plain("category", keys)

    def _delete_store(self, store_id: str) -> None:
        """A store that still has clients or codes here is deactivated rather than deleted."""
        s = tables.stores.c
        row = _one(self.conn, tables.stores, "id", store_id)
        if row is None:
            return
        in_use = any(
            _exists(self.conn, table, "store_id", store_id)
            for table in (tables.clients, tables.enrollment_codes)
        )
        if in_use:
            row.update(active=False, updated_at=_now())
            self.conn.execute(update(tables.stores).where(s.id == store_id).values(active=False))
            clients.publish_store(self.conn, self.ds, row)
            return
        pr, ts = tables.prices.c, tables.terminal_settings.c
        prices = self.conn.execute(
            delete(tables.prices).where(pr.store_id == store_id).returning(pr.product_id)
        ).scalars()
        self.changes += [change("price", price_key(store_id, p), None) for p in prices]
        scope = f"store:{store_id}"
        if self.conn.execute(delete(tables.terminal_settings).where(ts.scope == scope)).rowcount:
            self.changes.append(change("terminal_settings", scope, None))
        self.conn.execute(delete(tables.stores).where(s.id == store_id))
        self.changes.append(change("store", store_id, None))


def apply_replicated(conn: Connection, ds: DataServer, changes: Sequence[ChangeRow]) -> None:
    """Apply a page of HQ's change log here and republish it to this server's own clients.

    The page is applied in an order that satisfies foreign keys (see :func:`rules.apply_order`); a row
    whose reference HQ has not sent yet waits in ``replica_pending`` and is applied when it arrives.
    Deleting something absent is not an error.
    """
    applier = _Applier(conn, ds)
    for (entity, op), group in itertools.groupby(rules.apply_order(changes), key=lambda c: (c.entity, c.op)):
        batch = list(group)
        if op == UPSERT:
            applier.upsert(entity, [(c.key, c.payload) for c in batch])
        else:
            applier.delete(entity, [c.key for c in batch])
    ds.changelog.record(conn, applier.changes)


def retain_replicated(conn: Connection, ds: DataServer, entity: str, keys: set[str]) -> None:
    """After a snapshot from HQ: delete (and republish the delete of) every ``entity`` not in ``keys``."""
    if entity not in _SPECS:
        return
    rows = conn.execute(select(*_key_columns(entity)))
    local = {_joined_key(entity, row) for row in rows}
    stale = sorted(local - keys)
    pending = tables.replica_pending.c
    parked = conn.execute(select(pending.key).where(pending.entity == entity)).scalars()
    gone = [k for k in parked if k not in keys]
    for chunk in _chunks(gone):
        conn.execute(delete(tables.replica_pending).where(pending.entity == entity, pending.key.in_(chunk)))
    if not stale:
        return
    applier = _Applier(conn, ds)
    applier.delete(entity, stale)
    ds.changelog.record(conn, applier.changes)
