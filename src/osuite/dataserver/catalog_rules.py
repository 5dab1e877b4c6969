"""The catalog's rules in plain Python, no I/O: what makes a product, barcode, user or category tree
valid, who hears about a change, in what order a replicated page can be applied, and how a CSV row
an IT person exported from somewhere becomes a typed row (or a reason it cannot).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, Literal, Protocol, TypeVar, get_args

from osuite.core.barcodes import BarcodeTemplate, gtin_check_digit, is_valid_gtin
from osuite.core.money import MoneyError, parse_money, quantity
from osuite.core.sync.wire import DELETE, EVERYONE, UPSERT, client_audience, store_audience
from osuite.dataserver.wire.catalog import (
    ImportKind,
    PaymentMethod,
    Permission,
    Unit,
    VatRate,
    split_price_key,
)

PERMISSIONS: Final[tuple[str, ...]] = get_args(Permission)
"""Everything a role can allow, by the names the POS checks."""
UNITS: Final[tuple[str, ...]] = get_args(Unit)
VAT_RATES: Final[tuple[str, ...]] = get_args(VatRate)
PAYMENT_METHODS: Final[tuple[str, ...]] = get_args(PaymentMethod)
WEIGHED_UNITS: Final = frozenset({"kg", "l"})
MAX_PRICE: Final = 100_000_000_000
"""Kopecks: a billion rubles, far above any price and far below what the column holds."""

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,35}$")
_INTERNAL_CODE = re.compile(r"^[0-9A-Za-z]{1,64}$")
_GTIN_LENGTHS = frozenset({8, 12, 13})
_DIGITS = frozenset("0123456789")


class RuleError(ValueError):
    """Input that breaks a rule; the message says what is wrong in words a shop's staff understand."""


class FileError(RuleError):
    """A whole import file that cannot be read (encoding, header): nothing in it is applied."""


# --- entities ---------------------------------------------------------------------------------------


def check_product(*, unit: str, weighted: bool) -> None:
    if unit not in UNITS:
        raise RuleError(f"unit {unit!r} is not one of {', '.join(UNITS)}")
    if weighted and unit not in WEIGHED_UNITS:
        raise RuleError(f"a weighted product is sold by kg or l, not by {unit}")


def barcode_code(text: str) -> str:
    """The code as stored: spaces dropped (digits under the bars are printed in groups), checked.

    All-digit codes of GTIN lengths must carry the right check digit, since a scanner never produces
    a wrong one and a typo would otherwise sell the wrong product; anything else is a shop's own code.
    """
    code = "".join(text.split())
    if not code:
        raise RuleError("the barcode is empty")
    if set(code) <= _DIGITS and len(code) in _GTIN_LENGTHS:
        if not is_valid_gtin(code):
            expected = gtin_check_digit(code[:-1])
            raise RuleError(f"barcode {code} has check digit {code[-1]}, expected {expected}")
        return code
    if not _INTERNAL_CODE.match(code):
        raise RuleError(
            f"barcode {code!r} is not an EAN-13, EAN-8 or UPC-A, and an internal code may only have "
            "Latin letters and digits, up to 64"
        )
    return code


def multiplier(value: Decimal) -> Decimal:
    """Units per scan with exactly three places, so the same pack reads the same everywhere."""
    try:
        q = quantity(value)
    except MoneyError as exc:
        raise RuleError(f"multiplier {value}: {exc}") from None
    if q <= 0:
        raise RuleError(f"multiplier must be more than 0, got {value}")
    return q


def check_user_secrets(*, has_pin: bool, has_password: bool) -> None:
    if not (has_pin or has_password):
        raise RuleError("a user needs a PIN or a password to log in")


def permissions(names: Iterable[str]) -> list[str]:
    """Known permission names, each once, in the catalogue's order (stable payloads, readable lists)."""
    wanted = set(names)
    unknown = wanted - set(PERMISSIONS)
    if unknown:
        raise RuleError(f"unknown permissions: {', '.join(sorted(unknown))}")
    return [p for p in PERMISSIONS if p in wanted]


def distinct(ids: Iterable[str]) -> list[str]:
    """Each id once, first occurrence first."""
    return list(dict.fromkeys(ids))


def search_key(text: str) -> str:
    """Text folded for case-insensitive search in any language: SQLite's lower() folds only ASCII.

    Ё is searched as Е, as Russian speakers type it.
    """
    return text.casefold().replace("ё", "е")


def prefix_clash(template: BarcodeTemplate, others: Iterable[BarcodeTemplate]) -> str | None:
    """Why ``template`` cannot join ``others``: a prefix already read by another template would make a
    scanned code mean two different things."""
    for other in others:
        shared = sorted(set(template.prefixes) & set(other.prefixes))
        if shared:
            return f"prefix {shared[0]} is already read by template {other.name!r}"
    return None


# --- keys and audiences -----------------------------------------------------------------------------


ScopeKind = Literal["store", "client"]


def parse_scope(scope: str) -> tuple[ScopeKind, str]:
    """``store:<id>`` (a store's terminals) or ``client:<id>`` (one client)."""
    kind, _, target = scope.partition(":")
    if kind not in ("store", "client") or not _ID.match(target):
        raise RuleError(f"scope {scope!r} is neither 'store:<id>' nor 'client:<id>'")
    return ("store" if kind == "store" else "client"), target


def audience_of(entity: str, key: str) -> str:
    """Who receives a change: prices and a store's settings go to that store, a client's settings to
    that client, everything else to everyone. A delete reaches exactly who had the upsert."""
    if entity == "price":
        return store_audience(split_price_key(key)[0])
    if entity == "terminal_settings":
        kind, target = parse_scope(key)
        return store_audience(target) if kind == "store" else client_audience(target)
    return EVERYONE


# --- the category tree ------------------------------------------------------------------------------


def creates_cycle(category_id: str, parent_id: str | None, parent_of: Mapping[str, str | None]) -> bool:
    """Whether putting ``category_id`` under ``parent_id`` would make it its own ancestor."""
    seen: set[str] = set()
    current = parent_id
    while current is not None and current not in seen:
        if current == category_id:
            return True
        seen.add(current)
        current = parent_of.get(current)
    return False


def parents_first(pairs: Sequence[tuple[str, str | None]]) -> list[int]:
    """Indexes of ``(id, parent_id)`` pairs ordered so that a parent among them comes before its
    children; otherwise the input order stands. A cycle (possible for a moment while a replica catches
    up) is broken where it is found rather than looped on."""
    index = {key: i for i, (key, _parent) in enumerate(pairs)}
    done: set[int] = set()
    order: list[int] = []
    for start in range(len(pairs)):
        chain: list[int] = []
        i: int | None = start
        while i is not None and i not in done and i not in chain:
            chain.append(i)
            parent = pairs[i][1]
            i = index.get(parent) if parent is not None else None
        for j in reversed(chain):
            done.add(j)
            order.append(j)
    return order


# --- replication ------------------------------------------------------------------------------------


class ChangeLike(Protocol):
    @property
    def entity(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def op(self) -> str: ...
    @property
    def payload(self) -> dict[str, Any] | None: ...


C = TypeVar("C", bound=ChangeLike)

# Rows are written referenced-first: a store and a category before the products in them, a product
# before its barcodes and prices; deletes go the other way round.
APPLY_RANK: Final[Mapping[str, int]] = {
    "store": 0,
    "category": 1,
    "product": 2,
    "barcode_template": 3,
    "payment_type": 3,
    "promotion": 3,
    "role": 3,
    "barcode": 4,
    "price": 4,
    "user": 5,
    "terminal_settings": 6,
}


def apply_order(changes: Iterable[C]) -> list[C]:
    """A page of changes in an order that satisfies foreign keys, with the same end state.

    The change log keeps only the latest row per key, so a barcode may come before its product (the
    product was edited after the barcode was added). Only the last change per key counts; upserts go
    first, referenced entities before referencing ones and parent categories before children; then
    deletes, referencing entities first, each entity in log order (a child category was deleted before
    its parent, or the center would have refused).
    """
    latest: dict[tuple[str, str], C] = {}
    for change in changes:
        latest.pop((change.entity, change.key), None)
        latest[(change.entity, change.key)] = change
    known = [c for c in latest.values() if c.entity in APPLY_RANK]
    upserts = sorted((c for c in known if c.op == UPSERT), key=lambda c: APPLY_RANK[c.entity])
    categories = [c for c in upserts if c.entity == "category"]
    if categories:
        pairs = [(c.key, _parent(c)) for c in categories]
        start = upserts.index(categories[0])
        upserts[start : start + len(categories)] = [categories[i] for i in parents_first(pairs)]
    deletes = sorted((c for c in known if c.op == DELETE), key=lambda c: -APPLY_RANK[c.entity])
    return upserts + deletes


def _parent(change: ChangeLike) -> str | None:
    parent = (change.payload or {}).get("parent_id")
    return parent if isinstance(parent, str) else None


# --- CSV import -------------------------------------------------------------------------------------

REQUIRED_COLUMNS: Final[Mapping[str, tuple[str, ...]]] = {
    "products": ("article", "name", "vat_rate"),
    "barcodes": ("barcode", "article"),
    "prices": ("article", "price"),
}
OPTIONAL_COLUMNS: Final[Mapping[str, tuple[str, ...]]] = {
    "products": ("unit", "weighted", "category", "age_limit", "active"),
    "barcodes": ("multiplier",),
    "prices": ("store",),
}

_TRUE = frozenset({"1", "true", "yes", "y", "да", "д", "+"})
_FALSE = frozenset({"0", "false", "no", "n", "нет", "н", "-"})
_UNIT_ALIASES: Final[Mapping[str, str]] = {
    "pcs": "pcs",
    "pc": "pcs",
    "шт": "pcs",
    "шт.": "pcs",
    "kg": "kg",
    "кг": "kg",
    "l": "l",
    "л": "l",
}
_NO_VAT = frozenset({"none", "безндс", "нет", "no", "novat"})
_DELIMITERS = (";", ",", "\t")
_BOM = b"\xef\xbb\xbf"


def decode_csv(data: bytes) -> str:
    """Text from an uploaded file: UTF-8 with or without a BOM, else Windows-1251 (Russian Excel's
    default "CSV" encoding), never a silent mix of the two."""
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1251")
    except UnicodeDecodeError:
        raise FileError("the file is neither UTF-8 nor Windows-1251 text") from None


def sniff_delimiter(header_line: str) -> str:
    """``;`` (Russian Excel), ``,`` or tab: whichever the header line uses most."""
    counts = {d: header_line.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


@dataclass(frozen=True)
class CsvRow:
    line: int
    """Where the row starts in the file; the header is line 1."""
    cells: dict[str, str]
    problem: str | None = None
    """Set when the row could not be split into the header's columns."""


@dataclass(frozen=True)
class CsvFile:
    kind: str
    columns: tuple[str, ...]
    delimiter: str
    text: str

    def rows(self) -> Iterator[CsvRow]:
        """The data rows; blank lines are skipped."""
        reader = csv.reader(io.StringIO(self.text), delimiter=self.delimiter)
        next(reader, None)
        line = reader.line_num + 1
        width = len(self.columns)
        for fields in reader:
            start, line = line, reader.line_num + 1
            values = [f.strip() for f in fields]
            if not any(values):
                continue
            cells = dict(zip(self.columns, values, strict=False))
            if any("\x00" in v for v in values):
                yield CsvRow(
                    start, {k: v.replace("\x00", "") for k, v in cells.items()}, "the row has a NUL character"
                )
            elif len(values) != width:
                yield CsvRow(start, cells, f"expected {width} fields as in the header, found {len(values)}")
            else:
                yield CsvRow(start, cells)


def open_csv(text: str, kind: ImportKind) -> CsvFile:
    """Check the header and that the whole file splits into rows, before anything is applied."""
    header_line = text.split("\n", 1)[0]
    delimiter = sniff_delimiter(header_line)
    try:
        reader = csv.reader(io.StringIO(text), delimiter=delimiter)
        header = next(reader, None)
        for _ in reader:
            pass
    except csv.Error as exc:
        raise FileError(f"line {reader.line_num}: {exc}") from None
    if not header or not any(h.strip() for h in header):
        raise FileError("the file is empty: the first line must name the columns")
    columns = tuple(h.strip().lower() for h in header)
    _check_columns(kind, columns)
    return CsvFile(kind=kind, columns=columns, delimiter=delimiter, text=text)


def _check_columns(kind: str, columns: tuple[str, ...]) -> None:
    required, optional = REQUIRED_COLUMNS[kind], OPTIONAL_COLUMNS[kind]
    allowed = ", ".join((*required, *optional))
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise FileError(f"column {repeated[0]!r} appears twice in the header")
    unknown = [c for c in columns if c not in required and c not in optional]
    if unknown:
        raise FileError(f"unknown column {unknown[0]!r}; the columns for {kind} are: {allowed}")
    missing = [c for c in required if c not in columns]
    if missing:
        raise FileError(f"the header lacks column {missing[0]!r}; the columns for {kind} are: {allowed}")


def parse_bool(text: str, column: str) -> bool | None:
    """1/0, true/false, yes/no, да/нет; empty means "the default"."""
    value = text.strip().lower()
    if not value:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise RuleError(f"{column} {text!r} is neither yes nor no (use 1 or 0)")


def parse_unit(text: str) -> str | None:
    value = text.strip().lower()
    if not value:
        return None
    if value not in _UNIT_ALIASES:
        raise RuleError(f"unit {text!r} is not one of pcs, kg, l")
    return _UNIT_ALIASES[value]


def parse_vat_rate(text: str) -> str:
    """A VAT rate as people write it: ``20``, ``20%``, ``10/110``, ``без НДС``."""
    value = "".join(text.lower().split()).removesuffix("%")
    if value in _NO_VAT:
        return "none"
    if value not in VAT_RATES:
        raise RuleError(f"vat_rate {text!r} is not one of {', '.join(VAT_RATES)}")
    return value


def parse_age_limit(text: str) -> int | None:
    value = text.strip()
    if not value:
        return None
    if not value.isascii() or not value.isdigit() or int(value) > 21:
        raise RuleError(f"age_limit {text!r} is not a whole number from 0 to 21")
    return int(value)


def _required(cells: Mapping[str, str], column: str, longest: int) -> str:
    value = cells.get(column, "").strip()
    if not value:
        raise RuleError(f"{column} is empty")
    if len(value) > longest:
        raise RuleError(f"{column} is longer than {longest} characters")
    return value


@dataclass(frozen=True)
class ProductRow:
    """A product as a file gives it; None means the column is absent (keep what the product has)."""

    article: str
    name: str
    vat_rate: str
    unit: str | None = None
    weighted: bool | None = None
    category: str | None = None
    """A category id, or a path of names like ``Молочные продукты/Сыры``; "" for none."""
    age_limit: int | None = None
    active: bool | None = None


def parse_product_row(cells: Mapping[str, str]) -> ProductRow:
    category = cells.get("category")
    return ProductRow(
        article=_required(cells, "article", 64),
        name=_required(cells, "name", 300),
        vat_rate=parse_vat_rate(_required(cells, "vat_rate", 20)),
        unit=parse_unit(cells.get("unit", "")),
        weighted=parse_bool(cells.get("weighted", ""), "weighted"),
        category=category,
        age_limit=parse_age_limit(cells.get("age_limit", "")),
        active=parse_bool(cells.get("active", ""), "active"),
    )


PRODUCT_FIELDS: Final = (
    "article",
    "name",
    "unit",
    "weighted",
    "vat_rate",
    "category_id",
    "age_limit",
    "active",
)


def merge_product(existing: Mapping[str, Any] | None, row: ProductRow) -> dict[str, Any]:
    """The product's fields after the row: columns in the file overwrite, absent ones keep what the
    product has (or take the defaults for a new one). The category stays as it was: resolving a
    category path needs the database, so the caller sets ``category_id`` when the file has the column."""
    old: Mapping[str, Any] = existing or {}
    weighted = row.weighted if row.weighted is not None else bool(old.get("weighted", False))
    unit = row.unit or old.get("unit") or ("kg" if weighted else "pcs")
    check_product(unit=unit, weighted=weighted)
    return {
        "article": row.article,
        "name": row.name,
        "unit": unit,
        "weighted": weighted,
        "vat_rate": row.vat_rate,
        "category_id": old.get("category_id"),
        "age_limit": row.age_limit if row.age_limit is not None else int(old.get("age_limit", 0)),
        "active": row.active if row.active is not None else bool(old.get("active", True)),
    }


def category_path(path: str) -> list[str]:
    """``"Молочные продукты / Сыры"`` → its names, top first."""
    names = [part.strip() for part in path.split("/") if part.strip()]
    for name in names:
        if len(name) > 200:
            raise RuleError(f"category name {name[:20]!r}… is longer than 200 characters")
    return names


@dataclass(frozen=True)
class BarcodeRow:
    code: str
    article: str
    multiplier: Decimal


def parse_barcode_row(cells: Mapping[str, str]) -> BarcodeRow:
    text = cells.get("multiplier", "").strip()
    try:
        factor = quantity(text) if text else Decimal(1)
    except MoneyError:
        raise RuleError(f"multiplier {text!r} is not a number with at most 3 decimals") from None
    return BarcodeRow(
        code=barcode_code(_required(cells, "barcode", 64)),
        article=_required(cells, "article", 64),
        multiplier=multiplier(factor),
    )


@dataclass(frozen=True)
class PriceRow:
    article: str
    price: int
    """Kopecks."""
    store: str | None
    """Store code or id; None when the row leaves it to the import's default store."""


def parse_price_row(cells: Mapping[str, str]) -> PriceRow:
    text = _required(cells, "price", 20)
    try:
        price = parse_money(text)
    except MoneyError as exc:
        raise RuleError(f"price {exc}") from None
    if price < 0:
        raise RuleError(f"price {text!r} is negative")
    if price > MAX_PRICE:
        raise RuleError(f"price {text!r} is more than {MAX_PRICE // 100} rubles")
    return PriceRow(
        article=_required(cells, "article", 64), price=price, store=cells.get("store", "").strip() or None
    )
