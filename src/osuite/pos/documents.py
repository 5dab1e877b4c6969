"""The documents this till hands to its data server, built from its own rows in the same transaction
that closes them, and queued in the outbox there: a closed receipt and its document commit together or
not at all."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from pydantic import BaseModel
from sqlalchemy import Connection, select

from osuite.dataserver.wire import documents as wire
from osuite.pos import tables as t
from osuite.pos.context import Pos, Terminal
from osuite.pos.tables import Record


def queue(pos: Pos, conn: Connection, kind: str, document: BaseModel, doc_id: str) -> None:
    pos.outbox.add(conn, id=doc_id, kind=kind, payload=document.model_dump(mode="json", exclude_none=True))


def shift_document(terminal: Terminal, shift: Record) -> wire.ShiftDocument:
    return wire.ShiftDocument(
        id=shift["id"],
        store_id=terminal.store_id,
        terminal_id=terminal.client_id,
        number=shift["number"],
        cashier_id=shift["cashier_id"],
        opened_at=shift["opened_at"],
    )


def receipt_document(conn: Connection, terminal: Terminal, receipt: Record) -> wire.ReceiptDocument:
    lines = conn.execute(
        select(t.receipt_lines)
        .where(t.receipt_lines.c.receipt_id == receipt["id"], t.receipt_lines.c.voided.is_(False))
        .order_by(t.receipt_lines.c.line_no)
    ).mappings()
    payments = conn.execute(
        select(t.payments)
        .where(t.payments.c.receipt_id == receipt["id"], t.payments.c.status == "approved")
        .order_by(t.payments.c.created_at, t.payments.c.id)
    ).mappings()
    wire_lines = [
        wire.ReceiptLine(
            line_no=n,
            product_id=line["product_id"],
            article=line["article"],
            name=line["name"],
            barcode=line["barcode"],
            quantity=Decimal(line["quantity"]),
            price=line["price"],
            discount=line["discount"],
            amount=line["amount"],
            vat_rate=line["vat_rate"],
            discounts=[wire.LineDiscount(**d) for d in orjson.loads(line["discounts"])] or None,
        )
        for n, line in enumerate(lines, start=1)
    ]
    fiscal = orjson.loads(receipt["fiscal"]) if receipt["fiscal"] else None
    return wire.ReceiptDocument(
        id=receipt["id"],
        store_id=terminal.store_id,
        terminal_id=terminal.client_id,
        shift_id=receipt["shift_id"],
        number=receipt["number"],
        kind=receipt["kind"],
        original_receipt_id=receipt["original_receipt_id"],
        cashier_id=receipt["cashier_id"],
        opened_at=receipt["opened_at"],
        closed_at=receipt["closed_at"],
        lines=wire_lines,
        payments=[
            wire.Payment(payment_type=p["payment_type"], amount=p["amount"], extra=_payment_extra(p))
            for p in payments
        ],
        discount_total=sum(line.discount for line in wire_lines),
        total=sum(line.amount for line in wire_lines),
        **({"fiscal": fiscal} if fiscal else {}),
        **({"approvals": orjson.loads(receipt["approvals"])} if receipt["approvals"] != "[]" else {}),
    )


def _payment_extra(payment: Record) -> dict[str, Any] | None:
    extra = {
        "tendered": payment["tendered"] if payment["tendered"] != payment["amount"] else None,
        "change": payment["tendered"] - payment["amount"] or None,
        "rrn": payment["rrn"],
        "auth_code": payment["auth_code"],
        "card_mask": payment["card_mask"],
    }
    kept = {k: v for k, v in extra.items() if v}
    return kept or None


def cash_document(terminal: Terminal, op: Record) -> wire.CashOperationDocument:
    fiscal = orjson.loads(op["fiscal"]) if op["fiscal"] else None
    return wire.CashOperationDocument(
        id=op["id"],
        store_id=terminal.store_id,
        terminal_id=terminal.client_id,
        shift_id=op["shift_id"],
        kind=op["kind"],
        amount=op["amount"],
        cashier_id=op["cashier_id"],
        reason=op["reason"],
        at=op["at"],
        **({"fiscal": fiscal} if fiscal else {}),
        **({"approved_by": op["approved_by"]} if op["approved_by"] else {}),
    )


def z_document(
    terminal: Terminal, shift: Record, closed_at: datetime, totals: wire.ZTotals, doc_id: str
) -> wire.ZReportDocument:
    return wire.ZReportDocument(
        id=doc_id,
        store_id=terminal.store_id,
        terminal_id=terminal.client_id,
        shift_id=shift["id"],
        number=shift["number"],
        closed_at=closed_at,
        totals=totals,
    )
