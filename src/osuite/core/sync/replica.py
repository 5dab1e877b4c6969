"""A replica kept in ordinary tables, one per entity, applied a page at a time with bulk upserts and
deletes: what a terminal needs to take a catalog of a million products in seconds, not hours.

A replica's tables are a copy, not a source of truth: they carry no foreign keys, so a page can be
applied in any order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, and_, delete, select

from osuite.core.db import upsert_rows
from osuite.core.sync.transport import ChangeRow
from osuite.core.sync.wire import DELETE


def _by_id(key: str) -> dict[str, Any]:
    return {"id": key}


@dataclass(frozen=True)
class EntityTable:
    """Where one entity lands: the table, how a payload becomes a row, and how a key names the row."""

    entity: str
    table: Table
    row: Callable[[Mapping[str, Any]], dict[str, Any]]
    key_columns: tuple[str, ...] = ("id",)
    key_values: Callable[[str], dict[str, Any]] = _by_id

    def key_of(self, row: Mapping[str, Any]) -> str:
        return ":".join(str(row[c]) for c in self.key_columns)


class TableReplica:
    """Implements the puller's ``Replica`` over :class:`EntityTable` mappings; unknown entities are
    ignored (a newer center may publish more than this edge keeps)."""

    def __init__(self, tables: Sequence[EntityTable]) -> None:
        self.by_entity = {t.entity: t for t in tables}
        self.entities: Sequence[str] = tuple(self.by_entity)

    def apply(self, conn: Connection, changes: Sequence[ChangeRow]) -> None:
        upserts: dict[str, dict[str, dict[str, Any]]] = {}
        deletes: dict[str, list[str]] = {}
        for change in changes:  # the last change of a key within the page wins
            target = self.by_entity.get(change.entity)
            if target is None:
                continue
            if change.op == DELETE or change.payload is None:
                upserts.get(change.entity, {}).pop(change.key, None)
                deletes.setdefault(change.entity, []).append(change.key)
            else:
                upserts.setdefault(change.entity, {})[change.key] = target.row(change.payload)
        for entity, keys in deletes.items():
            self._delete(conn, self.by_entity[entity], keys)
        for entity, rows in upserts.items():
            target = self.by_entity[entity]
            upsert_rows(conn, target.table, list(rows.values()), target.key_columns)

    def retain(self, conn: Connection, entity: str, keys: set[str]) -> None:
        target = self.by_entity.get(entity)
        if target is None:
            return
        columns = [target.table.c[c] for c in target.key_columns]
        stale = [
            key
            for key in (":".join(str(v) for v in r) for r in conn.execute(select(*columns)))
            if key not in keys
        ]
        self._delete(conn, target, stale)

    @staticmethod
    def _delete(conn: Connection, target: EntityTable, keys: list[str]) -> None:
        for key in keys:
            values = target.key_values(key)
            conn.execute(
                delete(target.table).where(and_(*(target.table.c[c] == v for c, v in values.items())))
            )
