"""CSV import of customers and cards, as a store's IT person exports them from a spreadsheet or the
previous loyalty system.

Valid rows are applied even when others are rejected; the report names every rejected row by its line
and says why. Rows are matched (customers by ``id``, else by ``phone``; cards by ``number``), and a row
that changes nothing is left alone, so importing a file twice changes nothing the second time.

Customers: ``name`` and at least one of ``id``, ``phone``; optional ``email``.
Cards: ``number``; the owner by ``customer`` (id) or ``phone``, or ``account`` (another card on an
existing account); optional ``type`` (bonus, discount, gift), ``program`` (id, ``default`` if left
out), ``nominal`` (a gift card's, in rubles: ``1000`` or ``1000,00``) and ``status`` (active, blocked).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, select

from osuite.processing import accounts, ledger, tables
from osuite.processing.context import Processing
from osuite.processing.domain.cards import CardStatus
from osuite.processing.domain.errors import DomainError
from osuite.processing.wire import CardIssue, CustomerCreate, CustomerUpdate

CHUNK = 500
"""Rows per transaction."""

COLUMNS = {
    "customers": (("name",), ("id", "phone", "email")),
    "cards": (("number",), ("customer", "phone", "account", "type", "program", "nominal", "status")),
}

_BOM = b"\xef\xbb\xbf"
_DELIMITERS = (";", ",", "\t")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,35}$")
_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")
_PHONE = re.compile(r"^\+?[0-9]{5,15}$")


class Unreadable(ValueError):
    """The whole file cannot be read (encoding, header): nothing in it is applied."""


class RowError(ValueError):
    """One row cannot be applied as it is; the message says why."""


@dataclass(frozen=True)
class Row:
    line: int
    cells: dict[str, str]
    problem: str | None = None


def decode(data: bytes) -> str:
    """UTF-8 with or without a BOM, else Windows-1251 (Russian Excel's "CSV")."""
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1251")
    except UnicodeDecodeError:
        raise Unreadable("the file is neither UTF-8 nor Windows-1251 text") from None


def read_rows(text: str, kind: str) -> list[Row]:
    """The data rows, after the header is checked; blank lines are skipped."""
    header_line = text.split("\n", 1)[0]
    counts = {d: header_line.count(d) for d in _DELIMITERS}
    delimiter = max(_DELIMITERS, key=lambda d: counts[d]) if any(counts.values()) else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            raise Unreadable("the file is empty: the first line must name the columns")
        columns = tuple(h.strip().lower() for h in header)
        _check_columns(kind, columns)
        rows: list[Row] = []
        line = reader.line_num + 1
        for fields in reader:
            start, line = line, reader.line_num + 1
            values = [f.strip() for f in fields]
            if not any(values):
                continue
            cells = dict(zip(columns, values, strict=False))
            if any("\x00" in v for v in values):
                rows.append(
                    Row(start, {k: v.replace("\x00", "") for k, v in cells.items()}, "the row has a NUL")
                )
            elif len(values) != len(columns):
                found = len(values)
                rows.append(
                    Row(start, cells, f"expected {len(columns)} fields as in the header, found {found}")
                )
            else:
                rows.append(Row(start, cells))
    except csv.Error as exc:
        raise Unreadable(f"line {reader.line_num}: {exc}") from None
    return rows


def _check_columns(kind: str, columns: tuple[str, ...]) -> None:
    required, optional = COLUMNS[kind]
    allowed = ", ".join((*required, *optional))
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise Unreadable(f"column {repeated[0]!r} appears twice in the header")
    unknown = [c for c in columns if c not in required and c not in optional]
    if unknown:
        raise Unreadable(f"unknown column {unknown[0]!r}; the columns for {kind} are: {allowed}")
    missing = [c for c in required if c not in columns]
    if missing:
        raise Unreadable(f"the header lacks column {missing[0]!r}; the columns for {kind} are: {allowed}")


def import_csv(p: Processing, *, kind: str, data: bytes, actor: str) -> dict[str, Any]:
    """Import a file of ``kind`` (customers or cards); the report of what was accepted and rejected.
    A file that cannot be read at all raises :class:`Unreadable` and changes nothing."""
    rows = read_rows(decode(data), kind)
    apply: Callable[[Connection, dict[str, str]], None]
    if kind == "customers":
        apply = lambda conn, cells: _customer(conn, p, cells)  # noqa: E731
        identity = _customer_identity
    else:
        apply = lambda conn, cells: _card(conn, p, cells, actor)  # noqa: E731
        identity = _card_identity
    accepted = 0
    rejected: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for chunk in _chunks(rows, CHUNK):
        with p.write() as conn:
            for row in chunk:
                try:
                    if row.problem:
                        raise RowError(row.problem)
                    key, described = identity(row.cells)
                    if key in seen:
                        raise RowError(f"{described} is also on line {seen[key]}")
                    seen[key] = row.line
                    with conn.begin_nested():
                        apply(conn, row.cells)
                except (RowError, DomainError, ValidationError) as exc:
                    reason = _reason(exc)
                    rejected.append({"line": row.line, "reason": reason, "row": row.cells})
                    continue
                accepted += 1
    return {"accepted": accepted, "rejected": rejected}


def _reason(exc: Exception) -> str:
    if isinstance(exc, DomainError):
        return exc.message
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
    return str(exc)


def _chunks(rows: list[Row], size: int) -> Iterator[list[Row]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


# --- customers ----------------------------------------------------------------------------------------


def phone_of(text: str) -> str | None:
    """A phone as stored: spaces, dashes, dots and brackets dropped (``+7 (900) 123-45-67`` →
    ``+79001234567``)."""
    phone = re.sub(r"[\s().-]", "", text)
    if not phone:
        return None
    if not _PHONE.match(phone):
        raise RowError(f"phone {text!r} is not a phone number")
    return phone


def _customer_identity(cells: dict[str, str]) -> tuple[str, str]:
    customer_id, phone = cells.get("id", ""), phone_of(cells.get("phone", ""))
    if customer_id:
        return f"id:{customer_id}", f"customer {customer_id}"
    if phone:
        return f"phone:{phone}", f"phone {phone}"
    raise RowError("a customer needs an id or a phone, so that importing the file again finds it")


def _customer(conn: Connection, p: Processing, cells: dict[str, str]) -> None:
    name = cells.get("name", "").strip()
    if not name:
        raise RowError("name is empty")
    if len(name) > 200:
        raise RowError("name is longer than 200 characters")
    customer_id = cells.get("id", "") or None
    if customer_id is not None and not _ID.match(customer_id):
        raise RowError(
            f"id {customer_id!r} may hold only latin letters, digits, '.', '_' and '-' (36 at most)"
        )
    phone = phone_of(cells.get("phone", ""))
    email = cells.get("email", "").strip() or None
    if email is not None and ("@" not in email or len(email) > 200):
        raise RowError(f"email {email!r} is not an e-mail address")
    c = tables.customers.c
    by_phone = conn.execute(select(c.id).where(c.phone == phone)).scalar() if phone else None
    if customer_id is None:
        customer_id = by_phone
    elif by_phone is not None and by_phone != customer_id:
        raise RowError(f"phone {phone} belongs to customer {by_phone}")
    update = CustomerUpdate(name=name, phone=phone, email=email)
    exists = customer_id is not None and conn.execute(select(c.id).where(c.id == customer_id)).first()
    if exists and customer_id is not None:
        accounts.update_customer(conn, p, customer_id, update)
    else:
        accounts.create_customer(conn, p, CustomerCreate(id=customer_id, **update.model_dump()))


# --- cards --------------------------------------------------------------------------------------------


def _card_identity(cells: dict[str, str]) -> tuple[str, str]:
    number = cells.get("number", "").strip()
    return f"card:{number}", f"card {number}"


def _kopecks(text: str) -> int | None:
    text = text.replace(" ", "").replace(",", ".")
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise RowError(f"nominal {text!r} is not an amount in rubles") from None
    if not value.is_finite() or value <= 0 or value * 100 % 1 or value > Decimal(10) ** 12:
        raise RowError(f"nominal {text!r} is not an amount in rubles")
    return int(value * 100)


def _card(conn: Connection, p: Processing, cells: dict[str, str], actor: str) -> None:
    number = cells.get("number", "").strip()
    if not _NUMBER.match(number):
        raise RowError(f"card number {number!r} may hold only latin letters, digits and '-' (64 at most)")
    kind = (cells.get("type", "") or "bonus").lower()
    if kind not in ledger.ACCOUNT_TYPES:
        raise RowError(f"type {kind!r} is not one of {', '.join(ledger.ACCOUNT_TYPES)}")
    status = (cells.get("status", "") or "active").lower()
    if status not in (CardStatus.ACTIVE, CardStatus.BLOCKED):
        raise RowError(f"status {status!r} is not active or blocked")
    nominal = _kopecks(cells.get("nominal", ""))
    program = cells.get("program", "") or "default"
    account_id = cells.get("account", "") or None
    customer_id = cells.get("customer", "") or None
    phone = phone_of(cells.get("phone", ""))
    c = tables.customers.c
    if phone is not None:
        by_phone = conn.execute(select(c.id).where(c.phone == phone)).scalar()
        if by_phone is None:
            raise RowError(f"no customer has phone {phone}; import the customers first")
        if customer_id is not None and customer_id != by_phone:
            raise RowError(f"phone {phone} belongs to customer {by_phone}, not {customer_id}")
        customer_id = by_phone
    elif customer_id is not None and conn.execute(select(c.id).where(c.id == customer_id)).first() is None:
        raise RowError(f"there is no customer {customer_id}; import the customers first")
    k = tables.cards.c
    existing = conn.execute(select(k.account_id, k.status).where(k.number == number)).first()
    if existing is not None:
        acc = ledger.account(conn, existing.account_id)
        if account_id is not None and account_id != acc.id:
            raise RowError(f"card {number} belongs to account {acc.id}, not {account_id}")
        if customer_id is not None and customer_id != acc.customer_id:
            raise RowError(f"card {number} belongs to customer {acc.customer_id}, not {customer_id}")
        if existing.status != status:
            if existing.status == CardStatus.LOST:
                raise RowError(f"card {number} was reported lost; it cannot become {status} again")
            change = accounts.block_card if status == CardStatus.BLOCKED else accounts.unblock_card
            change(conn, p, number, actor=actor)
        return
    if kind == ledger.GIFT and nominal is None:
        raise RowError("a gift card needs its nominal")
    if kind != ledger.GIFT and nominal is not None:
        raise RowError("only a gift card has a nominal")
    if account_id is None and customer_id is None and kind != ledger.GIFT:
        raise RowError("a card needs its customer (customer or phone) or an account")
    issue = CardIssue(
        number=number,
        customer_id=None if account_id else customer_id,
        account_id=account_id,
        type=kind,
        program_id=program,
        nominal=nominal,
    )
    accounts.issue_card(conn, p, issue, actor=actor)
    if status == CardStatus.BLOCKED:
        accounts.block_card(conn, p, number, actor=actor)
