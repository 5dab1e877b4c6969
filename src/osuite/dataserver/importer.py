"""CSV import of products, barcodes and prices, as a store's IT person exports them from a spreadsheet
or an accounting system.

Valid rows are applied even when others are rejected. The report names every rejected row by its line
and says why; the IT person fixes those rows and imports the same file again. Rows are matched by
article (barcodes by code, prices by store and article) and a row that changes nothing is left alone,
so importing a file twice changes nothing the second time and terminals download only what changed.

A large file is applied :data:`CHUNK` rows per transaction, so terminals' documents keep flowing into
the database meanwhile instead of waiting behind one long write; if an import is interrupted, the
chunks already applied stay, and importing the file again finishes the job.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, insert, select, tuple_
from sqlalchemy.exc import IntegrityError

from osuite.core.http import Problem
from osuite.core.ids import new_id
from osuite.core.sync.changelog import Change
from osuite.dataserver import catalog, tables
from osuite.dataserver import catalog_rules as rules
from osuite.dataserver.catalog_rules import BarcodeRow, CsvFile, CsvRow, FileError, ProductRow, RuleError
from osuite.dataserver.context import DataServer
from osuite.dataserver.wire.catalog import (
    BarcodeRead,
    ImportKind,
    ImportRejection,
    ImportReport,
    PriceRead,
    ProductRead,
    price_key,
)

CHUNK = 10_000
"""Rows per transaction: big enough for bulk statements to pay off, short enough not to hold the
database for long."""

SQLITE_CACHE_KIB = 256 * 1024

T = TypeVar("T")
Parsed = tuple[CsvRow, T]


def import_csv(ds: DataServer, *, kind: ImportKind, data: bytes, store: str | None = None) -> ImportReport:
    """Import a CSV file of ``kind``; ``store`` (code or id) prices the rows that name no store.

    A file that cannot be read at all (encoding, header) is refused with a 422 and changes nothing.
    """
    try:
        csv_file = rules.open_csv(rules.decode_csv(data), kind)
    except FileError as exc:
        raise Problem(422, "Unreadable file", str(exc)) from None
    with ds.db.read() as conn:
        loader = _loader(conn, ds, csv_file, store)
    report = ImportReport(accepted=0, rejected=[])
    for chunk in _batches(csv_file.rows(), CHUNK):
        try:
            accepted, rejected = _load_chunk(ds, loader, chunk)
        except IntegrityError as exc:
            raise Problem(
                409,
                "Conflict",
                f"rows from line {chunk[0].line} on met a change saved at the same moment by someone else; "
                f"{report.accepted} rows before them were applied: import the file again",
            ) from exc
        report.accepted += accepted
        report.rejected += rejected
    return report


def _load_chunk(
    ds: DataServer, loader: _Loader[Any], chunk: list[CsvRow]
) -> tuple[int, list[ImportRejection]]:
    with ds.db.write() as conn:
        if ds.db.is_sqlite:  # this connection only: room for the indexes a big chunk touches
            conn.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        return loader.load(conn, chunk)


def _loader(conn: Connection, ds: DataServer, csv_file: CsvFile, store: str | None) -> _Loader[Any]:
    if csv_file.kind == "products":
        return _Products(ds, _Categories(conn))
    if csv_file.kind == "barcodes":
        return _Barcodes(ds)
    return _Prices(ds, _Stores(conn, csv_file, store))


def _batches(rows: Iterable[CsvRow], size: int) -> Iterator[list[CsvRow]]:
    batch: list[CsvRow] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _now() -> datetime:
    return datetime.now(UTC)


def _rejection(row: CsvRow, reason: str) -> ImportRejection:
    return ImportRejection(line=row.line, reason=reason, row=row.cells)


def _chunks(items: Sequence[Any], size: int = 5000) -> Iterator[Sequence[Any]]:
    """Values per ``IN (…)`` lookup: few round trips, under SQLite's 32766 parameters."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _changes(entity: str, keys: list[str], payloads: list[dict[str, Any]]) -> list[Change]:
    audience = {key: rules.audience_of(entity, key) for key in keys} if entity == "price" else None
    common = rules.audience_of(entity, keys[0]) if keys and audience is None else ""
    return [
        Change(entity, key, audience[key] if audience else common, payload)
        for key, payload in zip(keys, payloads, strict=True)
    ]


def _product_ids(conn: Connection, articles: Iterable[str]) -> dict[str, str]:
    p = tables.products.c
    found: dict[str, str] = {}
    for chunk in _chunks(sorted(set(articles))):
        rows = conn.execute(select(p.article, p.id).where(p.article.in_(chunk)))
        found.update((article, product_id) for article, product_id in rows)
    return found


class _Loader(Generic[T]):
    """Parses a chunk of rows, refuses repeats, and applies the rest in bulk with one changelog write."""

    def __init__(self, ds: DataServer) -> None:
        self.ds = ds
        self.seen: dict[object, int] = {}

    def load(self, conn: Connection, rows: Sequence[CsvRow]) -> tuple[int, list[ImportRejection]]:
        rejected: list[ImportRejection] = []
        parsed: list[Parsed[T]] = []
        for row in rows:
            try:
                if row.problem:
                    raise RuleError(row.problem)
                item = self.parse(row.cells)
                self._first_time(item, row.line)
            except RuleError as exc:
                rejected.append(_rejection(row, str(exc)))
                continue
            parsed.append((row, item))
        changes: list[Change] = []
        refused = self.apply(conn, parsed, changes)
        self.ds.changelog.record(conn, changes)
        rejected += refused
        rejected.sort(key=lambda r: r.line)
        return len(rows) - len(rejected), rejected

    def _first_time(self, item: T, line: int) -> None:
        """A file that names a product twice is ambiguous: the later row is refused, whatever
        became of the earlier one."""
        identity, described = self.identity(item)
        earlier = self.seen.get(identity)
        if earlier is not None:
            raise RuleError(f"{described} is also on line {earlier}")
        self.seen[identity] = line

    def parse(self, cells: dict[str, str]) -> T:
        raise NotImplementedError

    def identity(self, item: T) -> tuple[object, str]:
        raise NotImplementedError

    def apply(
        self, conn: Connection, parsed: list[Parsed[T]], changes: list[Change]
    ) -> list[ImportRejection]:
        """Write the parsed rows, add what to publish to ``changes``; the rows refused on the way."""
        raise NotImplementedError


# --- products ---------------------------------------------------------------------------------------


class _Categories:
    """Category ids by path of names, creating the missing ones (names compare case-insensitively)."""

    def __init__(self, conn: Connection) -> None:
        c = tables.categories.c
        self.ids: set[str] = set()
        self.by_name: dict[tuple[str | None, str], str] = {}
        self.resolved: dict[str, str | None] = {}
        for category_id, parent_id, name in conn.execute(select(c.id, c.parent_id, c.name).order_by(c.id)):
            self.ids.add(category_id)
            self.by_name.setdefault((parent_id, rules.search_key(name)), category_id)

    def resolve(self, conn: Connection, text: str, changes: list[Change]) -> str | None:
        """Memoized per import: a big file names the same few hundred categories on every row."""
        if text not in self.resolved:
            self.resolved[text] = self._resolve(conn, text.strip(), changes)
        return self.resolved[text]

    def _resolve(self, conn: Connection, text: str, changes: list[Change]) -> str | None:
        if not text:
            return None
        if text in self.ids:
            return text
        parent: str | None = None
        for name in rules.category_path(text):
            found = self.by_name.get((parent, rules.search_key(name)))
            if found is None:
                found = self._create(conn, name, parent, changes)
            parent = found
        return parent

    def _create(self, conn: Connection, name: str, parent_id: str | None, changes: list[Change]) -> str:
        category_id = new_id()
        row = {"id": category_id, "name": name, "parent_id": parent_id, "sort": 0, "updated_at": _now()}
        conn.execute(insert(tables.categories).values(**row))
        changes.append(catalog.change("category", category_id, catalog.category_read(row)))
        self.ids.add(category_id)
        self.by_name[(parent_id, rules.search_key(name))] = category_id
        return category_id


class _Products(_Loader[ProductRow]):
    def __init__(self, ds: DataServer, categories: _Categories) -> None:
        super().__init__(ds)
        self.categories = categories

    def parse(self, cells: dict[str, str]) -> ProductRow:
        return rules.parse_product_row(cells)

    def identity(self, item: ProductRow) -> tuple[object, str]:
        return item.article, f"article {item.article!r}"

    def apply(
        self, conn: Connection, parsed: list[Parsed[ProductRow]], changes: list[Change]
    ) -> list[ImportRejection]:
        existing = self._existing(conn, [item.article for _row, item in parsed])
        now = _now()
        rows: list[dict[str, Any]] = []
        rejected: list[ImportRejection] = []
        for csv_row, item in parsed:
            old = existing.get(item.article)
            try:
                fields = rules.merge_product(old, item)
                if item.category is not None:
                    fields["category_id"] = self.categories.resolve(conn, item.category, changes)
            except RuleError as exc:
                rejected.append(_rejection(csv_row, str(exc)))
                continue
            if old is not None and all(old[name] == fields[name] for name in rules.PRODUCT_FIELDS):
                continue
            rows.append({"id": old["id"] if old else new_id(), **catalog.product_row(fields, updated_at=now)})
        catalog.upsert_rows(conn, tables.products, rows)
        changes += _changes("product", [row["id"] for row in rows], catalog.bulk_payloads(ProductRead, rows))
        return rejected

    @staticmethod
    def _existing(conn: Connection, articles: list[str]) -> dict[str, dict[str, Any]]:
        """The compared fields only: decoding every row's timestamp is a good part of a re-import."""
        p = tables.products.c
        columns = [p.id, *(p[name] for name in rules.PRODUCT_FIELDS)]
        found: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(articles):
            for row in conn.execute(select(*columns).where(p.article.in_(chunk))).mappings():
                found[row["article"]] = dict(row)
        return found


# --- barcodes ---------------------------------------------------------------------------------------


class _Barcodes(_Loader[BarcodeRow]):
    def parse(self, cells: dict[str, str]) -> BarcodeRow:
        return rules.parse_barcode_row(cells)

    def identity(self, item: BarcodeRow) -> tuple[object, str]:
        return item.code, f"barcode {item.code}"

    def apply(
        self, conn: Connection, parsed: list[Parsed[BarcodeRow]], changes: list[Change]
    ) -> list[ImportRejection]:
        products = _product_ids(conn, (item.article for _row, item in parsed))
        existing = self._existing(conn, [item.code for _row, item in parsed])
        now = _now()
        rows: list[dict[str, Any]] = []
        rejected: list[ImportRejection] = []
        for csv_row, item in parsed:
            product_id = products.get(item.article)
            if product_id is None:
                rejected.append(_rejection(csv_row, f"no product has article {item.article!r}"))
                continue
            if existing.get(item.code) == (product_id, item.multiplier):
                continue
            rows.append(
                {
                    "code": item.code,
                    "product_id": product_id,
                    "multiplier": item.multiplier,
                    "updated_at": now,
                }
            )
        catalog.upsert_rows(conn, tables.barcodes, rows)
        changes += _changes(
            "barcode", [row["code"] for row in rows], catalog.bulk_payloads(BarcodeRead, rows)
        )
        return rejected

    @staticmethod
    def _existing(conn: Connection, codes: list[str]) -> dict[str, tuple[str, Any]]:
        b = tables.barcodes.c
        found: dict[str, tuple[str, Any]] = {}
        for chunk in _chunks(codes):
            query = select(b.code, b.product_id, b.multiplier).where(b.code.in_(chunk))
            found.update((code, (product_id, factor)) for code, product_id, factor in conn.execute(query))
        return found


# --- prices -----------------------------------------------------------------------------------------


class _Stores:
    """Store ids by code or id, and the import's default store for rows that name none."""

    def __init__(self, conn: Connection, csv_file: CsvFile, default: str | None) -> None:
        s = tables.stores.c
        self.ids: dict[str, str] = {}
        for store_id, code in conn.execute(select(s.id, s.code)):
            self.ids[store_id] = store_id
            self.ids.setdefault(code, store_id)
        self.default: str | None = None
        if default is not None:
            self.default = self.ids.get(default.strip())
            if self.default is None:
                raise Problem(422, "Unknown store", f"store {default!r} does not exist")
        elif "store" not in csv_file.columns:
            raise Problem(
                422,
                "No store",
                "the file has no store column: name the store for its prices (?store= or --store)",
            )

    def resolve(self, text: str | None) -> str:
        if text is None:
            if self.default is None:
                raise RuleError("no store: fill the store column or give the import a store")
            return self.default
        found = self.ids.get(text)
        if found is None:
            raise RuleError(f"store {text!r} does not exist")
        return found


@dataclass(frozen=True)
class _PriceItem:
    store_id: str
    article: str
    price: int


class _Prices(_Loader[_PriceItem]):
    def __init__(self, ds: DataServer, stores: _Stores) -> None:
        super().__init__(ds)
        self.stores = stores

    def parse(self, cells: dict[str, str]) -> _PriceItem:
        row = rules.parse_price_row(cells)
        return _PriceItem(store_id=self.stores.resolve(row.store), article=row.article, price=row.price)

    def identity(self, item: _PriceItem) -> tuple[object, str]:
        return (item.store_id, item.article), f"article {item.article!r} in this store"

    def apply(
        self, conn: Connection, parsed: list[Parsed[_PriceItem]], changes: list[Change]
    ) -> list[ImportRejection]:
        products = _product_ids(conn, (item.article for _row, item in parsed))
        wanted = [
            (item.store_id, products[item.article]) for _row, item in parsed if item.article in products
        ]
        existing = self._existing(conn, wanted)
        now = _now()
        rows: list[dict[str, Any]] = []
        rejected: list[ImportRejection] = []
        for csv_row, item in parsed:
            product_id = products.get(item.article)
            if product_id is None:
                rejected.append(_rejection(csv_row, f"no product has article {item.article!r}"))
                continue
            if existing.get((item.store_id, product_id)) == item.price:
                continue
            rows.append(
                {"store_id": item.store_id, "product_id": product_id, "price": item.price, "updated_at": now}
            )
        catalog.upsert_rows(conn, tables.prices, rows)
        keys = [price_key(row["store_id"], row["product_id"]) for row in rows]
        changes += _changes("price", keys, catalog.bulk_payloads(PriceRead, rows))
        return rejected

    @staticmethod
    def _existing(conn: Connection, keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
        pr = tables.prices.c
        found: dict[tuple[str, str], int] = {}
        for chunk in _chunks(keys):
            query = select(pr.store_id, pr.product_id, pr.price).where(
                tuple_(pr.store_id, pr.product_id).in_(chunk)
            )
            found.update(
                ((store_id, product_id), price) for store_id, product_id, price in conn.execute(query)
            )
        return found
