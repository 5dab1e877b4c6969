"""The POS's replica of the data server's reference data, and the lookups a sale needs from it.

What arrives through sync lands in plain tables (:class:`~osuite.core.sync.replica.TableReplica`);
entities this version does not know are skipped, so an older till keeps working with a newer server.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, select

from osuite.core.barcodes import BarcodeError, BarcodeTemplate, Gtin, InStoreCode, parse_scan
from osuite.core.i18n import N_
from osuite.core.sync.replica import EntityTable, TableReplica
from osuite.dataserver.wire.catalog import price_row_key
from osuite.pos import tables as t
from osuite.pos.errors import Refusal
from osuite.pos.tables import Record


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


REPLICA = TableReplica(
    [
        EntityTable(
            "store",
            t.stores,
            lambda p: {
                **{k: p[k] for k in ("id", "code", "name")},
                "address": p.get("address", ""),
                "timezone": p.get("timezone", "Europe/Moscow"),
            },
        ),
        EntityTable("category", t.categories, lambda p: {k: p[k] for k in ("id", "name", "parent_id")}),
        EntityTable(
            "product",
            t.products,
            lambda p: {
                **{k: p[k] for k in ("id", "article", "name", "unit", "weighted", "vat_rate", "category_id")},
                "age_limit": p["age_limit"],
                "active": p["active"],
                "search": f"{p['article']} {p['name']}".lower(),
            },
        ),
        EntityTable(
            "barcode",
            t.barcodes,
            lambda p: {"code": p["code"], "product_id": p["product_id"], "multiplier": str(p["multiplier"])},
            key_columns=("code",),
            key_values=lambda key: {"code": key},
        ),
        EntityTable(
            "price",
            t.prices,
            lambda p: {"store_id": p["store_id"], "product_id": p["product_id"], "price": p["price"]},
            key_columns=("store_id", "product_id"),
            key_values=price_row_key,
        ),
        EntityTable(
            "barcode_template",
            t.barcode_templates,
            lambda p: {"id": p["id"], "template": _json(p["template"])},
        ),
        EntityTable(
            "payment_type",
            t.payment_types,
            lambda p: {k: p[k] for k in ("code", "name", "method", "active", "sort")},
            key_columns=("code",),
            key_values=lambda key: {"code": key},
        ),
        EntityTable(
            "role",
            t.roles,
            lambda p: {"id": p["id"], "name": p["name"], "permissions": _json(p["permissions"])},
        ),
        EntityTable(
            "user",
            t.users,
            lambda p: {
                **{k: p[k] for k in ("id", "login", "name", "active", "pin_hash")},
                "roles": _json(p["roles"]),
            },
        ),
        EntityTable(
            "terminal_settings",
            t.terminal_settings,
            lambda p: {"scope": p["scope"], "settings": _json(p["values"])},
            key_columns=("scope",),
            key_values=lambda key: {"scope": key},
        ),
        EntityTable("promotion", t.promotions, lambda p: {"id": p["id"], "payload": _json(p)}),
    ]
)


class NotFound(Refusal, LookupError):
    """Nothing in the catalog answers to what was scanned or typed; the message says what."""


class LabelMismatch(Refusal, ValueError):
    """An in-store label whose kind does not fit its product (a weight on a piece good …)."""


@dataclass(frozen=True)
class Product:
    id: str
    article: str
    name: str
    unit: str
    weighted: bool
    vat_rate: str
    category_id: str | None
    age_limit: int
    active: bool
    price: int | None  # kopecks at this store; None when the store has no price for it


@dataclass(frozen=True)
class Found:
    """A product found by a scan, with what the code itself says about the quantity or price."""

    product: Product
    barcode: str | None
    quantity: Decimal | None = None  # a pack's multiplier, a weight or a count from the label
    price: int | None = None  # a price label: the amount to charge for this item


def _product(row: Record) -> Product:
    return Product(
        id=row["id"],
        article=row["article"],
        name=row["name"],
        unit=row["unit"],
        weighted=bool(row["weighted"]),
        vat_rate=row["vat_rate"],
        category_id=row["category_id"],
        age_limit=int(row["age_limit"]),
        active=bool(row["active"]),
        price=None if row["price"] is None else int(row["price"]),
    )


# Built once with bound parameters: a scan is the till's most frequent question, and building the
# statement cost more than SQLite's answer.
_PRODUCTS = select(t.products, t.prices.c.price).outerjoin(
    t.prices, (t.prices.c.product_id == t.products.c.id) & (t.prices.c.store_id == bindparam("store_id"))
)
_BY_ID = _PRODUCTS.where(t.products.c.id == bindparam("key"))
_BY_ARTICLE = _PRODUCTS.where(t.products.c.article == bindparam("key"))
_BY_CODE = (
    _PRODUCTS.add_columns(t.barcodes.c.multiplier)
    .join(t.barcodes, t.barcodes.c.product_id == t.products.c.id)
    .where(t.barcodes.c.code == bindparam("key"))
)


def _one(conn: Connection, statement: Any, store_id: str, key: str) -> Any:
    return conn.execute(statement, {"store_id": store_id, "key": key}).mappings().first()


def product_by_id(conn: Connection, store_id: str, product_id: str) -> Product:
    row = _one(conn, _BY_ID, store_id, product_id)
    if row is None:
        raise NotFound(N_("no product with id {product_id}"), product_id=product_id)
    return _product(row)


def product_by_article(conn: Connection, store_id: str, article: str) -> Product:
    row = _one(conn, _BY_ARTICLE, store_id, article.strip())
    if row is None:
        raise NotFound(N_("no product with article {article}"), article=repr(article.strip()))
    return _product(row)


def search(conn: Connection, store_id: str, text: str, *, limit: int = 20) -> list[Product]:
    """Products whose article or name contains every word typed, active ones first."""
    words = [w for w in text.lower().split() if w]
    if not words:
        return []
    query = _PRODUCTS
    for word in words:
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(t.products.c.search.like(f"%{escaped}%", escape="\\"))
    rows = conn.execute(
        query.order_by(t.products.c.active.desc(), t.products.c.name).limit(limit), {"store_id": store_id}
    ).mappings()
    return [_product(r) for r in rows]


def templates(conn: Connection) -> list[BarcodeTemplate]:
    rows = conn.execute(select(t.barcode_templates.c.template).order_by(t.barcode_templates.c.id)).scalars()
    return [BarcodeTemplate.model_validate_json(r) for r in rows]


def by_scan(conn: Connection, store_id: str, code: str) -> Found:
    """The product a scanned code sells: a catalog barcode (a pack's code carries its multiplier), or an
    in-store label whose item code is the product's article, carrying a weight, a price or a count.

    A code in the catalog wins over reading it as a label: a shop may list a code that happens to
    start like a template.
    """
    cleaned = "".join(code.split())
    if not cleaned:
        raise NotFound(N_("the scan is empty"))
    row = _one(conn, _BY_CODE, store_id, cleaned)
    if row is not None:
        product = _product(row)
        if product.weighted:  # a weighed product's own code says nothing of its weight: weigh it
            return Found(product, cleaned)
        return Found(product, cleaned, quantity=Decimal(row["multiplier"]))
    try:
        scanned = parse_scan(cleaned, templates(conn))
    except BarcodeError as exc:
        raise NotFound(
            N_("barcode {code} is not in the catalog ({reason})"), code=cleaned, reason=str(exc)
        ) from None
    if isinstance(scanned, Gtin):
        raise NotFound(N_("barcode {code} is not in the catalog"), code=cleaned)
    return _label(conn, store_id, scanned)


def _label(conn: Connection, store_id: str, label: InStoreCode) -> Found:
    try:
        product = product_by_article(conn, store_id, label.item_code)
    except NotFound:
        raise NotFound(
            N_("label {code}: no product with item code {item_code}"),
            code=label.code,
            item_code=label.item_code,
        ) from None
    if label.weight is not None:
        if not product.weighted:
            raise LabelMismatch(
                N_(
                    "label {code} carries a weight, but {name} (item code {item_code}) is sold by the piece:"
                    " check the scale's settings for this item"
                ),
                code=label.code,
                name=product.name,
                item_code=label.item_code,
            )
        return Found(product, label.code, quantity=label.weight)
    if label.count is not None:
        if product.weighted:
            raise LabelMismatch(
                N_(
                    "label {code} carries a count of pieces, but {name} (item code {item_code}) is sold by"
                    " weight: check the scale's settings for this item"
                ),
                code=label.code,
                name=product.name,
                item_code=label.item_code,
            )
        return Found(product, label.code, quantity=Decimal(label.count))
    return Found(product, label.code, price=label.price)


def ancestors(conn: Connection, category_id: str | None) -> list[str]:
    """The category and every category above it (a promotion on a category covers its subcategories)."""
    chain: list[str] = []
    while category_id is not None and category_id not in chain:
        chain.append(category_id)
        category_id = conn.execute(
            select(t.categories.c.parent_id).where(t.categories.c.id == category_id)
        ).scalar()
    return chain


def payment_types(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(t.payment_types).where(t.payment_types.c.active).order_by(t.payment_types.c.sort)
    ).mappings()
    return [dict(r) for r in rows]


def payment_type(conn: Connection, code: str) -> dict[str, Any]:
    row = conn.execute(select(t.payment_types).where(t.payment_types.c.code == code)).mappings().first()
    if row is None or not row["active"]:
        raise NotFound(N_("no payment type {code} at this till"), code=repr(code))
    return dict(row)


def promotions(conn: Connection) -> list[dict[str, Any]]:
    return [orjson.loads(p) for p in conn.execute(select(t.promotions.c.payload)).scalars()]


def store_timezone(conn: Connection, store_id: str) -> str:
    zone = conn.execute(select(t.stores.c.timezone).where(t.stores.c.id == store_id)).scalar()
    return zone or "Europe/Moscow"


def permissions_of(conn: Connection, user_id: str) -> set[str]:
    row = conn.execute(select(t.users.c.roles).where(t.users.c.id == user_id)).scalar()
    role_ids = orjson.loads(row) if row else []
    granted: set[str] = set()
    for raw in conn.execute(select(t.roles.c.permissions).where(t.roles.c.id.in_(role_ids))).scalars():
        granted.update(orjson.loads(raw))
    return granted


def users_with_pin(conn: Connection) -> Sequence[Record]:
    return (
        conn.execute(
            select(t.users.c.id, t.users.c.name, t.users.c.pin_hash).where(
                t.users.c.active, t.users.c.pin_hash.is_not(None)
            )
        )
        .mappings()
        .all()
    )


def user_name(conn: Connection, user_id: str | None) -> str:
    if user_id is None:
        return ""
    return conn.execute(select(t.users.c.name).where(t.users.c.id == user_id)).scalar() or ""


def select_terminal() -> Any:
    return select(t.terminal).where(t.terminal.c.id == 1)
