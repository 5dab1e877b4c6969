"""Documents from terminals: how each kind is checked and stored by the sync intake, and the queries,
exports and reports over what was stored.

The intake path is hot (thousands of receipts a second at HQ): a batch is validated in memory and
stored with one executemany per table; the only reads are a store's timezone, cached, and, for shifts
and Z reports, which of the two arrived first.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import logging
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
from pydantic import BaseModel
from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Select,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    text,
    update,
)

from osuite.core.db import Database, insert_rows
from osuite.core.http import Principal, Problem, not_found
from osuite.core.money import format_money
from osuite.core.sync.intake import Accepted, DocumentKind, DocumentRejected
from osuite.dataserver import tables
from osuite.dataserver.commands import CommandResultKind
from osuite.dataserver.context import RELAY, DataServer
from osuite.dataserver.documents_rules import (
    receipt_problems,
    sender_problems,
    z_report_problems,
)
from osuite.dataserver.wire import documents as wire

log = logging.getLogger("osuite.dataserver.documents")

DEFAULT_TIMEZONE = "Europe/Moscow"
# Every moment of business day D, in any timezone on Earth (UTC-12 … UTC+14), lies in
# [D 00:00 UTC - 14 h, D+1 00:00 UTC + 12 h): bounding the moment too lets a date filter use the
# (…, moment, id) indexes that pagination walks.
_EARLIEST_OFFSET = timedelta(hours=14)
_LATEST_OFFSET = timedelta(hours=12)

M = TypeVar("M", bound=BaseModel)


# --- intake -----------------------------------------------------------------------------------------------


def document_kinds(ds: DataServer) -> list[DocumentKind[Any]]:
    zones = StoreZones()
    kinds: list[DocumentKind[Any]] = [
        ShiftKind(zones, is_sqlite=ds.db.is_sqlite),
        ReceiptKind(zones),
        CashOperationKind(zones),
        ZReportKind(zones, is_sqlite=ds.db.is_sqlite),
        CommandResultKind(),
    ]
    return kinds


class StoreZones:
    """Each store's timezone, which decides a document's business day. Read at most once a minute per
    store, so a batch costs one small query only when it names a store not seen lately."""

    def __init__(self, ttl: float = 60.0) -> None:
        self.ttl = ttl
        self._known: dict[str, tuple[float, ZoneInfo]] = {}

    def for_stores(self, conn: Connection, store_ids: set[str]) -> dict[str, ZoneInfo]:
        now = time.monotonic()
        stale = [s for s in store_ids if (hit := self._known.get(s)) is None or hit[0] < now]
        if stale:
            s = tables.stores.c
            found: dict[str, str] = {
                store_id: zone
                for store_id, zone in conn.execute(select(s.id, s.timezone).where(s.id.in_(stale)))
            }
            for store_id in stale:
                self._known[store_id] = (now + self.ttl, _zone(found.get(store_id), store_id))
        return {store_id: self._known[store_id][1] for store_id in store_ids}


def _zone(name: str | None, store_id: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("store %s has an unknown timezone %r; using %s", store_id, name, DEFAULT_TIMEZONE)
        return ZoneInfo(DEFAULT_TIMEZONE)


@dataclass(frozen=True, slots=True)
class WithBody(Generic[M]):
    """A parsed document and its JSON text as handed in, serialized once while the payload is at hand."""

    doc: M
    body: str


def _check(problems: list[str]) -> None:
    if problems:
        raise DocumentRejected("; ".join(problems))


def _check_sender(doc: Any, source: Principal) -> list[str]:
    return sender_problems(
        store_id=doc.store_id,
        terminal_id=doc.terminal_id,
        sender_id=source.id,
        sender_store_id=source.store_id,
        relay=RELAY in source.scopes,
    )


def _body(payload: dict[str, Any]) -> str:
    body = orjson.dumps(payload).decode()
    # No database text column takes a NUL, and no document needs one. The text search is the fast
    # test; the walk tells a NUL from a backslash someone typed before "u0000".
    if "\\u0000" in body and _has_nul(payload):
        raise DocumentRejected("text in a document must not contain NUL characters")
    return body


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _no_nul(payload: dict[str, Any]) -> None:
    _body(payload)


# Shifts and Z reports arrive in any order, in concurrent batches. On PostgreSQL a transaction-scoped
# advisory lock makes "insert the shift, look for its Z report" and "insert the Z report, close its
# shift" take turns, so neither misses the other; SQLite writers take turns anyway.
_SHIFT_CLOSING_LOCK = 0x6F_73_73_68_69_66_74  # "osshift"


def _lock_shift_closing(conn: Connection, *, is_sqlite: bool) -> None:
    if not is_sqlite:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SHIFT_CLOSING_LOCK})


class ShiftKind:
    kind = wire.SHIFT

    def __init__(self, zones: StoreZones, *, is_sqlite: bool) -> None:
        self.zones = zones
        self.is_sqlite = is_sqlite

    def parse(self, payload: dict[str, Any], source: Principal) -> wire.ShiftDocument:
        doc = wire.ShiftDocument.model_validate(payload)
        _check(_check_sender(doc, source))
        _no_nul(payload)
        return doc

    def store(
        self, conn: Connection, documents: Sequence[Accepted[wire.ShiftDocument]], source: Principal
    ) -> None:
        _lock_shift_closing(conn, is_sqlite=self.is_sqlite)
        zones = self.zones.for_stores(conn, {d.body.store_id for d in documents})
        z = tables.z_reports.c
        earliest = conn.execute(
            select(z.shift_id, func.min(z.closed_at))
            .where(z.shift_id.in_([d.id for d in documents]))
            .group_by(z.shift_id)
        )
        closed: dict[str, datetime] = {shift_id: closed_at for shift_id, closed_at in earliest}
        conn.execute(
            insert(tables.shifts),
            [
                {
                    "id": d.id,
                    "store_id": d.body.store_id,
                    "terminal_id": d.body.terminal_id,
                    "number": d.body.number,
                    "cashier_id": d.body.cashier_id,
                    "opened_at": d.body.opened_at,
                    "closed_at": closed.get(d.id),
                    "business_day": d.body.opened_at.astimezone(zones[d.body.store_id]).date(),
                }
                for d in documents
            ],
        )


class ReceiptKind:
    kind = wire.RECEIPT

    def __init__(self, zones: StoreZones) -> None:
        self.zones = zones

    def parse(self, payload: dict[str, Any], source: Principal) -> WithBody[wire.ReceiptDocument]:
        doc = wire.ReceiptDocument.model_validate(payload)
        _check(_check_sender(doc, source) + receipt_problems(doc))
        return WithBody(doc, _body(payload))

    def store(
        self,
        conn: Connection,
        documents: Sequence[Accepted[WithBody[wire.ReceiptDocument]]],
        source: Principal,
    ) -> None:
        zones = self.zones.for_stores(conn, {d.body.doc.store_id for d in documents})
        receipts: list[dict[str, Any]] = []
        lines: list[dict[str, Any]] = []
        payments: list[dict[str, Any]] = []
        for accepted in documents:
            receipt_id = accepted.id
            r = accepted.body.doc
            receipts.append(
                {
                    "id": receipt_id,
                    "store_id": r.store_id,
                    "terminal_id": r.terminal_id,
                    "shift_id": r.shift_id,
                    "number": r.number,
                    "kind": r.kind,
                    "original_receipt_id": r.original_receipt_id,
                    "cashier_id": r.cashier_id,
                    "opened_at": r.opened_at,
                    "closed_at": r.closed_at,
                    "business_day": r.closed_at.astimezone(zones[r.store_id]).date(),
                    "total": r.total,
                    "discount": r.discount_total,
                    "body": accepted.body.body,
                }
            )
            lines.extend(
                {
                    "receipt_id": receipt_id,
                    "line_no": li.line_no,
                    "product_id": li.product_id,
                    "article": li.article,
                    "name": li.name,
                    "barcode": li.barcode,
                    "quantity": li.quantity,
                    "price": li.price,
                    "discount": li.discount,
                    "amount": li.amount,
                    "vat_rate": li.vat_rate,
                }
                for li in r.lines
            )
            payments.extend(
                {"receipt_id": receipt_id, "line_no": n, "payment_type": p.payment_type, "amount": p.amount}
                for n, p in enumerate(r.payments, start=1)
            )
        insert_rows(conn, tables.receipts, receipts)
        insert_rows(conn, tables.receipt_lines, lines)
        if payments:
            insert_rows(conn, tables.receipt_payments, payments)


class CashOperationKind:
    kind = wire.CASH_OPERATION

    def __init__(self, zones: StoreZones) -> None:
        self.zones = zones

    def parse(self, payload: dict[str, Any], source: Principal) -> wire.CashOperationDocument:
        doc = wire.CashOperationDocument.model_validate(payload)
        _check(_check_sender(doc, source))
        _no_nul(payload)
        return doc

    def store(
        self,
        conn: Connection,
        documents: Sequence[Accepted[wire.CashOperationDocument]],
        source: Principal,
    ) -> None:
        zones = self.zones.for_stores(conn, {d.body.store_id for d in documents})
        conn.execute(
            insert(tables.cash_operations),
            [
                {
                    "id": d.id,
                    "store_id": d.body.store_id,
                    "terminal_id": d.body.terminal_id,
                    "shift_id": d.body.shift_id,
                    "kind": d.body.kind,
                    "amount": d.body.amount,
                    "cashier_id": d.body.cashier_id,
                    "reason": d.body.reason,
                    "at": d.body.at,
                    "business_day": d.body.at.astimezone(zones[d.body.store_id]).date(),
                    "approved_by": d.body.approved_by,
                    "fiscal": d.body.fiscal.model_dump_json() if d.body.fiscal is not None else None,
                }
                for d in documents
            ],
        )


class ZReportKind:
    kind = wire.Z_REPORT

    def __init__(self, zones: StoreZones, *, is_sqlite: bool) -> None:
        self.zones = zones
        self.is_sqlite = is_sqlite

    def parse(self, payload: dict[str, Any], source: Principal) -> WithBody[wire.ZReportDocument]:
        doc = wire.ZReportDocument.model_validate(payload)
        _check(_check_sender(doc, source) + z_report_problems(doc))
        return WithBody(doc, _body(payload))

    def store(
        self,
        conn: Connection,
        documents: Sequence[Accepted[WithBody[wire.ZReportDocument]]],
        source: Principal,
    ) -> None:
        _lock_shift_closing(conn, is_sqlite=self.is_sqlite)
        zones = self.zones.for_stores(conn, {d.body.doc.store_id for d in documents})
        conn.execute(
            insert(tables.z_reports),
            [
                {
                    "id": d.id,
                    "store_id": d.body.doc.store_id,
                    "terminal_id": d.body.doc.terminal_id,
                    "shift_id": d.body.doc.shift_id,
                    "number": d.body.doc.number,
                    "closed_at": d.body.doc.closed_at,
                    "business_day": d.body.doc.closed_at.astimezone(zones[d.body.doc.store_id]).date(),
                    "body": d.body.body,
                }
                for d in documents
            ],
        )
        # The earliest Z report of a shift closes it; a shift not here yet picks it up when it arrives.
        s = tables.shifts.c
        conn.execute(
            update(tables.shifts)
            .where(
                s.id == bindparam("z_shift_id"),
                or_(s.closed_at.is_(None), s.closed_at > bindparam("z_closed_at")),
            )
            .values(closed_at=bindparam("z_closed_at")),
            [{"z_shift_id": d.body.doc.shift_id, "z_closed_at": d.body.doc.closed_at} for d in documents],
        )


# --- filters and pages ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A ``from``/``to`` filter: a date bounds business days (both included); a moment bounds the
    document's time (``from`` included, ``to`` excluded)."""

    start: date | datetime | None = None
    end: date | datetime | None = None

    @classmethod
    def between(cls, start: date | datetime | None, end: date | datetime | None) -> Period:
        """The period, refused when its bounds are swapped (a day counts from its start in UTC here:
        close enough to catch a swap without knowing the store)."""
        if start is not None and end is not None:
            first = start if isinstance(start, datetime) else _midnight(start)
            last = end if isinstance(end, datetime) else _midnight(end)
            if first > last:
                raise Problem(
                    422, "Invalid request", f"from {start.isoformat()} is after to {end.isoformat()}"
                )
        return cls(start, end)

    def where(self, moment: Column[Any], day: Column[Any]) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if isinstance(self.start, datetime):
            conditions.append(moment >= self.start.astimezone(UTC))
        elif isinstance(self.start, date):
            conditions += [day >= self.start, moment >= _midnight(self.start) - _EARLIEST_OFFSET]
        if isinstance(self.end, datetime):
            conditions.append(moment < self.end.astimezone(UTC))
        elif isinstance(self.end, date):
            conditions += [day <= self.end, moment < _midnight(self.end + timedelta(days=1)) + _LATEST_OFFSET]
        return conditions


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything is stored in UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def encode_cursor(moment: datetime, row_id: str) -> str:
    raw = f"{_utc(moment).isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, row_id = raw.split("|", 1)
        if "\x00" in row_id:
            raise ValueError("NUL in a cursor")
        return _utc(datetime.fromisoformat(moment)), row_id
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise Problem(
            422, "Invalid request", "after: not a cursor this server gave out; send a page's `next` as is"
        ) from None


def _page(
    conn: Connection, query: Select[Any], moment: Column[Any], key: Column[Any], after: str | None, limit: int
) -> tuple[list[Any], str | None]:
    """One page in (moment, id) order, and the cursor of the next one (keyset: stable under inserts)."""
    if after:
        since, last_id = decode_cursor(after)
        query = query.where(or_(moment > since, and_(moment == since, key > last_id)))
    rows = conn.execute(query.order_by(moment, key).limit(limit + 1)).mappings().all()
    if len(rows) <= limit:
        return list(rows), None
    last = rows[limit - 1]
    return list(rows[:limit]), encode_cursor(last[moment.name], last[key.name])


def _equal(conditions: list[ColumnElement[bool]], column: Column[Any], value: object) -> None:
    if value is not None:
        conditions.append(column == value)


# --- receipts ---------------------------------------------------------------------------------------------


def list_receipts(
    conn: Connection,
    *,
    store_id: str | None = None,
    terminal_id: str | None = None,
    shift_id: str | None = None,
    kind: str | None = None,
    period: Period = Period(),
    after: str | None = None,
    limit: int = 100,
) -> wire.ReceiptsPage:
    r = tables.receipts.c
    conditions = period.where(r.closed_at, r.business_day)
    _equal(conditions, r.store_id, store_id)
    _equal(conditions, r.terminal_id, terminal_id)
    _equal(conditions, r.shift_id, shift_id)
    _equal(conditions, r.kind, kind)
    columns = [c for c in tables.receipts.c if c.name != "body"]
    rows, cursor = _page(conn, select(*columns).where(*conditions), r.closed_at, r.id, after, limit)
    return wire.ReceiptsPage(items=[_receipt_summary(row) for row in rows], next=cursor)


def _receipt_summary(row: Any) -> wire.ReceiptSummary:
    return wire.ReceiptSummary(
        id=row["id"],
        store_id=row["store_id"],
        terminal_id=row["terminal_id"],
        shift_id=row["shift_id"],
        number=row["number"],
        kind=row["kind"],
        original_receipt_id=row["original_receipt_id"],
        cashier_id=row["cashier_id"],
        opened_at=_utc(row["opened_at"]),
        closed_at=_utc(row["closed_at"]),
        business_day=row["business_day"],
        total=row["total"],
        discount_total=row["discount"],
    )


def get_receipt(conn: Connection, *, receipt_id: str) -> wire.ReceiptRead:
    r = tables.receipts.c
    row = conn.execute(select(r.id, r.business_day, r.body).where(r.id == receipt_id)).first()
    if row is None:
        raise not_found("receipt", receipt_id)
    return _receipt_read(row.id, row.business_day, row.body)


def _receipt_read(receipt_id: str, business_day: date, body: str) -> wire.ReceiptRead:
    """The receipt from its stored document, which keeps what the tables do not (discount sources,
    payment details); the envelope's id and the business day are the server's."""
    return wire.ReceiptRead.model_validate(
        {**orjson.loads(body), "id": receipt_id, "business_day": business_day}
    )


def iter_receipts(
    db: Database,
    *,
    store_id: str | None = None,
    period: Period = Period(),
    page_size: int = 500,
) -> Iterator[list[wire.ReceiptRead]]:
    """Receipts in (closed_at, id) order, a page at a time, each page read in its own short transaction
    so that a slow download never holds the database."""
    r = tables.receipts.c
    conditions = period.where(r.closed_at, r.business_day)
    _equal(conditions, r.store_id, store_id)
    query = select(r.id, r.closed_at, r.business_day, r.body).where(*conditions)
    after: str | None = None
    while True:
        with db.read() as conn:
            rows, after = _page(conn, query, r.closed_at, r.id, after, page_size)
        yield [_receipt_read(row["id"], row["business_day"], row["body"]) for row in rows]
        if after is None:
            return


RECEIPT_CSV_COLUMNS = (
    "receipt_id",
    "store_id",
    "terminal_id",
    "shift_id",
    "number",
    "kind",
    "original_receipt_id",
    "cashier_id",
    "opened_at",
    "closed_at",
    "business_day",
    "receipt_total",
    "receipt_discount",
    "payments",
    "line_no",
    "product_id",
    "article",
    "name",
    "barcode",
    "quantity",
    "price",
    "discount",
    "amount",
    "vat_rate",
)


def receipts_csv(pages: Iterator[list[wire.ReceiptRead]]) -> Iterator[str]:
    """One row per receipt line with the receipt's fields repeated; money in rubles ("123.45")."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(RECEIPT_CSV_COLUMNS)
    for page in pages:
        for receipt in page:
            head = [
                receipt.id,
                receipt.store_id,
                receipt.terminal_id,
                receipt.shift_id,
                receipt.number,
                receipt.kind,
                receipt.original_receipt_id or "",
                receipt.cashier_id or "",
                _iso(receipt.opened_at),
                _iso(receipt.closed_at),
                receipt.business_day.isoformat(),
                format_money(receipt.total),
                format_money(receipt.discount_total),
                ";".join(f"{p.payment_type}={format_money(p.amount)}" for p in receipt.payments),
            ]
            for line in receipt.lines:
                writer.writerow(
                    [
                        *head,
                        line.line_no,
                        line.product_id or "",
                        line.article or "",
                        line.name,
                        line.barcode or "",
                        f"{line.quantity:.3f}",
                        format_money(line.price),
                        format_money(line.discount),
                        format_money(line.amount),
                        line.vat_rate,
                    ]
                )
        yield out.getvalue()
        out.seek(0)
        out.truncate()
    yield out.getvalue()


def receipts_json(pages: Iterator[list[wire.ReceiptRead]]) -> Iterator[bytes]:
    """A JSON array of full receipts, written a page at a time."""
    yield b"["
    first = True
    for page in pages:
        if not page:
            continue
        chunk = b",".join(receipt.model_dump_json().encode() for receipt in page)
        yield chunk if first else b"," + chunk
        first = False
    yield b"]"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- shifts, cash operations, Z reports -------------------------------------------------------------------


def list_shifts(
    conn: Connection,
    *,
    store_id: str | None = None,
    terminal_id: str | None = None,
    closed: bool | None = None,
    period: Period = Period(),
    after: str | None = None,
    limit: int = 100,
) -> wire.ShiftsPage:
    s = tables.shifts.c
    conditions = period.where(s.opened_at, s.business_day)
    _equal(conditions, s.store_id, store_id)
    _equal(conditions, s.terminal_id, terminal_id)
    if closed is not None:
        conditions.append(s.closed_at.is_not(None) if closed else s.closed_at.is_(None))
    rows, cursor = _page(conn, select(tables.shifts).where(*conditions), s.opened_at, s.id, after, limit)
    return wire.ShiftsPage(items=[_shift(row) for row in rows], next=cursor)


def _shift(row: Any) -> wire.ShiftRead:
    return wire.ShiftRead(
        id=row["id"],
        store_id=row["store_id"],
        terminal_id=row["terminal_id"],
        number=row["number"],
        cashier_id=row["cashier_id"],
        opened_at=_utc(row["opened_at"]),
        closed_at=_utc(row["closed_at"]) if row["closed_at"] is not None else None,
        business_day=row["business_day"],
    )


def get_shift(conn: Connection, *, shift_id: str) -> wire.ShiftDetail:
    s = tables.shifts.c
    row = conn.execute(select(tables.shifts).where(s.id == shift_id)).mappings().first()
    if row is None:
        raise not_found("shift", shift_id)
    c = tables.cash_operations.c
    operations = conn.execute(
        select(tables.cash_operations).where(c.shift_id == shift_id).order_by(c.at, c.id)
    ).mappings()
    z = tables.z_reports.c
    report = (
        conn.execute(
            select(tables.z_reports).where(z.shift_id == shift_id).order_by(z.closed_at, z.id).limit(1)
        )
        .mappings()
        .first()
    )
    return wire.ShiftDetail(
        **_shift(row).model_dump(),
        cash_operations=[_cash_operation(op) for op in operations],
        z_report=_z_report(report) if report is not None else None,
    )


def list_cash_operations(
    conn: Connection,
    *,
    store_id: str | None = None,
    terminal_id: str | None = None,
    shift_id: str | None = None,
    kind: str | None = None,
    period: Period = Period(),
    after: str | None = None,
    limit: int = 100,
) -> wire.CashOperationsPage:
    c = tables.cash_operations.c
    conditions = period.where(c.at, c.business_day)
    _equal(conditions, c.store_id, store_id)
    _equal(conditions, c.terminal_id, terminal_id)
    _equal(conditions, c.shift_id, shift_id)
    _equal(conditions, c.kind, kind)
    query = select(tables.cash_operations).where(*conditions)
    rows, cursor = _page(conn, query, c.at, c.id, after, limit)
    return wire.CashOperationsPage(items=[_cash_operation(row) for row in rows], next=cursor)


def _cash_operation(row: Any) -> wire.CashOperationRead:
    return wire.CashOperationRead(
        id=row["id"],
        store_id=row["store_id"],
        terminal_id=row["terminal_id"],
        shift_id=row["shift_id"],
        kind=row["kind"],
        amount=row["amount"],
        cashier_id=row["cashier_id"],
        reason=row["reason"],
        at=_utc(row["at"]),
        business_day=row["business_day"],
        fiscal=wire.FiscalMark.model_validate_json(row["fiscal"]) if row["fiscal"] else None,
        approved_by=row["approved_by"],
    )


def list_z_reports(
    conn: Connection,
    *,
    store_id: str | None = None,
    terminal_id: str | None = None,
    shift_id: str | None = None,
    period: Period = Period(),
    after: str | None = None,
    limit: int = 100,
) -> wire.ZReportsPage:
    z = tables.z_reports.c
    conditions = period.where(z.closed_at, z.business_day)
    _equal(conditions, z.store_id, store_id)
    _equal(conditions, z.terminal_id, terminal_id)
    _equal(conditions, z.shift_id, shift_id)
    query = select(tables.z_reports).where(*conditions)
    rows, cursor = _page(conn, query, z.closed_at, z.id, after, limit)
    return wire.ZReportsPage(items=[_z_report(row) for row in rows], next=cursor)


def _z_report(row: Any) -> wire.ZReportRead:
    return wire.ZReportRead(
        id=row["id"],
        store_id=row["store_id"],
        terminal_id=row["terminal_id"],
        shift_id=row["shift_id"],
        number=row["number"],
        closed_at=_utc(row["closed_at"]),
        business_day=row["business_day"],
        totals=wire.ZTotals.model_validate(orjson.loads(row["body"])["totals"]),
    )


# --- daily sales ------------------------------------------------------------------------------------------


def daily_sales(
    conn: Connection, *, store_id: str | None = None, period: Period = Period()
) -> wire.DailySales:
    """Per business day and store: counts and sums of sales and returns, discounts, and what was paid
    with each payment type, returns subtracted."""
    r = tables.receipts.c
    conditions = period.where(r.closed_at, r.business_day)
    _equal(conditions, r.store_id, store_id)
    rows: dict[tuple[date, str], dict[str, Any]] = {}

    def row_for(day: Any, store: str) -> dict[str, Any]:
        key = (_day(day), store)
        if key not in rows:
            rows[key] = {
                "business_day": key[0],
                "store_id": store,
                "receipts": 0,
                "sales_count": 0,
                "returns_count": 0,
                "sales": 0,
                "returns": 0,
                "net": 0,
                "discounts": 0,
                "payments": defaultdict(int),
            }
        return rows[key]

    sums = select(
        r.business_day, r.store_id, r.kind, func.count(), func.sum(r.total), func.sum(r.discount)
    ).where(*conditions)
    for day, store, kind, count, total, discount in conn.execute(
        sums.group_by(r.business_day, r.store_id, r.kind)
    ):
        row = row_for(day, store)
        sign = 1 if kind == "sale" else -1
        row["receipts"] += count
        row["sales_count" if sign > 0 else "returns_count"] += count
        row["sales" if sign > 0 else "returns"] += int(total)
        row["net"] += sign * int(total)
        row["discounts"] += sign * int(discount)
    p = tables.receipt_payments.c
    paid = (
        select(r.business_day, r.store_id, r.kind, p.payment_type, func.sum(p.amount))
        .select_from(tables.receipts.join(tables.receipt_payments, p.receipt_id == r.id))
        .where(*conditions)
        .group_by(r.business_day, r.store_id, r.kind, p.payment_type)
    )
    for day, store, kind, payment_type, amount in conn.execute(paid):
        row_for(day, store)["payments"][payment_type] += int(amount) if kind == "sale" else -int(amount)
    ordered = [wire.DailySalesRow(**rows[key]) for key in sorted(rows)]
    totals: dict[str, Any] = {
        name: sum(getattr(day_row, name) for day_row in ordered)
        for name in ("receipts", "sales_count", "returns_count", "sales", "returns", "net", "discounts")
    }
    payments: dict[str, int] = defaultdict(int)
    for day_row in ordered:
        for payment_type, amount in day_row.payments.items():
            payments[payment_type] += amount
    return wire.DailySales(
        rows=ordered, totals=wire.DailySalesTotals(**totals, payments=dict(sorted(payments.items())))
    )


def _day(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


DAILY_SALES_CSV_COLUMNS = (
    "business_day",
    "store_id",
    "receipts",
    "sales_count",
    "returns_count",
    "sales",
    "returns",
    "net",
    "discounts",
)


def daily_sales_csv(report: wire.DailySales) -> str:
    """The report as CSV: money in rubles, a ``payment:<type>`` column for each payment type used."""
    payment_types = sorted(report.totals.payments)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*DAILY_SALES_CSV_COLUMNS, *(f"payment:{t}" for t in payment_types)])
    for row in report.rows:
        writer.writerow(
            [
                row.business_day.isoformat(),
                row.store_id,
                row.receipts,
                row.sales_count,
                row.returns_count,
                format_money(row.sales),
                format_money(row.returns),
                format_money(row.net),
                format_money(row.discounts),
                *(format_money(row.payments.get(t, 0)) for t in payment_types),
            ]
        )
    return out.getvalue()
