"""The POS's own SQLite tables: a replica of the reference data it sells from, its documents (shifts,
receipts, cash operations), and the sync engine's edge tables.

Quantities are kept as text ("1.500") so they come back as the exact ``Decimal`` that went in. Receipt
lines copy the name, price and VAT of the product when added, so a later price change never alters a
receipt that is already on the screen.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from osuite.core.db import UtcDateTime, named_metadata
from osuite.core.sync.tables import edge_tables, outbox_table
from osuite.dataserver.client import commands_table

metadata = named_metadata()

edge = edge_tables(metadata)
loyalty_outbox = outbox_table(metadata, "loyalty_outbox")
"""What the processing center has yet to hear: accruals and returns of receipts closed while it did not
answer, and holds let go."""

Record = Mapping[Any, Any]
"""A row as SQLAlchemy gives it (``RowMapping``), or a dict of the same columns."""

Id = String(36)
TZ = UtcDateTime()
Money = BigInteger

# --- this terminal ----------------------------------------------------------------------------------

terminal = Table(
    "terminal",
    metadata,
    Column("id", Integer, primary_key=True),  # always 1: a POS database belongs to one terminal
    Column("client_id", Id, nullable=False),
    Column("store_id", Id, nullable=False),
    Column("name", String(200), nullable=False),
    Column("server_url", String(400), nullable=False),
    Column("token", String(200), nullable=False),
    Column("enrolled_at", TZ, nullable=False),
    Column("locked", Boolean, nullable=False, default=False),
    Column("lock_reason", String(400), nullable=False, default=""),
)

sessions = Table(
    "sessions",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("user_id", Id, nullable=False),
    Column("created_at", TZ, nullable=False),
)

# --- the replica of the data server's reference data ------------------------------------------------

stores = Table(
    "stores",
    metadata,
    Column("id", Id, primary_key=True),
    Column("code", String(32), nullable=False),
    Column("name", String(200), nullable=False),
    Column("address", String(400), nullable=False),
    Column("timezone", String(64), nullable=False),
)

categories = Table(
    "categories",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("parent_id", Id),
)

products = Table(
    "products",
    metadata,
    Column("id", Id, primary_key=True),
    Column("article", String(64), nullable=False, index=True),
    Column("name", String(300), nullable=False),
    Column("search", String(400), nullable=False),  # lower-case article and name, for name search
    Column("unit", String(8), nullable=False),
    Column("weighted", Boolean, nullable=False),
    Column("vat_rate", String(8), nullable=False),
    Column("category_id", Id),
    Column("age_limit", Integer, nullable=False),
    Column("active", Boolean, nullable=False),
)

barcodes = Table(
    "barcodes",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("product_id", Id, nullable=False),
    Column("multiplier", String(16), nullable=False),
)

prices = Table(
    "prices",
    metadata,
    Column("store_id", Id, primary_key=True),
    Column("product_id", Id, primary_key=True),
    Column("price", Money, nullable=False),
)

barcode_templates = Table(
    "barcode_templates",
    metadata,
    Column("id", Id, primary_key=True),
    Column("template", Text, nullable=False),  # JSON of core.barcodes.BarcodeTemplate
)

payment_types = Table(
    "payment_types",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("method", String(16), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("sort", Integer, nullable=False),
)

roles = Table(
    "roles",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("permissions", Text, nullable=False),  # JSON list
)

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True),
    Column("login", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("roles", Text, nullable=False),  # JSON list of role ids
    Column("active", Boolean, nullable=False),
    Column("pin_hash", String(200)),
)

terminal_settings = Table(
    "terminal_settings",
    metadata,
    Column("scope", String(80), primary_key=True),
    Column("settings", Text, nullable=False),  # JSON object
)

promotions = Table(
    "promotions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("payload", Text, nullable=False),  # JSON of the data server's PromotionRead
)

# --- documents made here ----------------------------------------------------------------------------

shifts = Table(
    "shifts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("number", Integer, nullable=False),
    Column("cashier_id", Id),
    Column("opened_at", TZ, nullable=False),
    Column("closed_at", TZ),
    Column("fiscal_shift_number", Integer),
    Column("z_totals", Text),  # JSON, once closed
)

receipts = Table(
    "receipts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("shift_id", Id, ForeignKey("shifts.id")),
    Column("number", Integer),  # given when it is registered
    Column("kind", String(8), nullable=False),  # sale | return
    # open → (fiscalizing → closed) | held | cancelled; at most one is open or fiscalizing
    Column("status", String(12), nullable=False),
    Column("original_receipt_id", Id),
    Column("cashier_id", Id),
    Column("opened_at", TZ, nullable=False),
    Column("closed_at", TZ),
    Column("manual_discount", Text),  # JSON {"percent": "5"} or {"amount": 1000}, on the whole receipt
    Column("age_confirmed", Boolean, nullable=False, default=False),
    Column("approvals", Text, nullable=False, default="[]"),  # JSON list
    Column("fiscal", Text),  # JSON of the registrar's mark
    Column("last_error", Text),
    Column("card", String(64)),  # the customer's loyalty card
    Column("loyalty", Text),  # JSON: what the processing center said of the card, and of the receipt
    Index("ix_receipts_status", "status"),
)

receipt_lines = Table(
    "receipt_lines",
    metadata,
    Column("receipt_id", Id, ForeignKey("receipts.id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("product_id", Id),
    Column("article", String(64)),
    Column("name", String(300), nullable=False),
    Column("barcode", String(64)),
    Column("unit", String(8), nullable=False),
    Column("weighted", Boolean, nullable=False),
    Column("vat_rate", String(8), nullable=False),
    Column("category_ids", Text, nullable=False, default="[]"),  # JSON: its category and ancestors
    Column("age_limit", Integer, nullable=False, default=0),
    Column("quantity", String(16), nullable=False),
    Column("price", Money, nullable=False),
    Column("manual_discount", Text),  # JSON, as on receipts
    Column("original_line_no", Integer),  # a return's line: the sale line it gives back
    Column("voided", Boolean, nullable=False, default=False),
    Column("discount", Money, nullable=False, default=0),
    Column("amount", Money, nullable=False, default=0),
    Column("discounts", Text, nullable=False, default="[]"),  # JSON: where the discount came from
)

payments = Table(
    "payments",
    metadata,
    Column("id", Id, primary_key=True),
    Column("receipt_id", Id, ForeignKey("receipts.id"), nullable=False, index=True),
    Column("payment_type", String(32), nullable=False),
    Column("method", String(16), nullable=False),
    Column("amount", Money, nullable=False),  # what pays the receipt (cash: tendered less change)
    Column("tendered", Money, nullable=False),
    # card: authorizing → approved | declined; points: approved once held at the processing center,
    # authorizing while its commit has no answer; cash and others: approved; cancelled when voided
    Column("status", String(12), nullable=False),
    Column("rrn", String(32)),
    Column("auth_code", String(16)),
    Column("card_mask", String(32)),
    Column("slip", Text),  # JSON list of lines
    Column("message", Text),
    Column("created_at", TZ, nullable=False),
    Column("hold_id", String(36)),  # points: the processing center's hold
    Column("committed", Boolean, nullable=False, default=False),  # points: the hold is spent
)

cash_operations = Table(
    "cash_operations",
    metadata,
    Column("id", Id, primary_key=True),
    Column("shift_id", Id, ForeignKey("shifts.id"), nullable=False),
    Column("kind", String(4), nullable=False),  # in | out
    Column("amount", Money, nullable=False),
    Column("cashier_id", Id),
    Column("approved_by", Id),
    Column("reason", String(400), nullable=False, default=""),
    Column("at", TZ, nullable=False),
    Column("status", String(12), nullable=False),  # fiscalizing → done
    Column("fiscal", Text),
)

audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", TZ, nullable=False),
    Column("action", String(64), nullable=False),
    Column("user_id", Id),
    Column("approved_by", Id),
    Column("receipt_id", Id),
    Column("detail", Text, nullable=False, default=""),
    sqlite_autoincrement=True,
)

commands = commands_table(metadata)
