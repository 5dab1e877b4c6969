"""The scale server's replica of the data server's catalog: products, prices, categories and barcode
templates land in plain tables; any page of changes marks every scale as having something to receive,
in the same transaction, so a price changed at the data server reaches the scales by itself."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from sqlalchemy import Connection

from osuite.core.sync.replica import EntityTable, TableReplica
from osuite.core.sync.transport import ChangeRow
from osuite.dataserver.wire.catalog import price_row_key
from osuite.scales import service
from osuite.scales import tables as t

CATEGORY = ("id", "name", "parent_id")
PRODUCT = ("id", "article", "name", "unit", "weighted", "category_id", "active")


class CatalogReplica(TableReplica):
    def __init__(self) -> None:
        super().__init__(
            [
                EntityTable(
                    "category", t.categories, lambda p: {k: p[k] for k in ("id", "name", "parent_id")}
                ),
                EntityTable(
                    "product",
                    t.products,
                    lambda p: {
                        k: p[k]
                        for k in ("id", "article", "name", "unit", "weighted", "category_id", "active")
                    },
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
                    lambda p: {"id": p["id"], "template": orjson.dumps(p["template"]).decode()},
                ),
            ]
        )

    def apply(self, conn: Connection, changes: Sequence[ChangeRow]) -> None:
        super().apply(conn, changes)
        if any(change.entity in self.by_entity for change in changes):
            service.mark_all(conn)

    def retain(self, conn: Connection, entity: str, keys: set[str]) -> None:
        super().retain(conn, entity, keys)
        service.mark_all(conn)


REPLICA = CatalogReplica()
