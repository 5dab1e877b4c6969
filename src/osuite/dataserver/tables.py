"""The data server's tables (SQLAlchemy Core). Documents have no foreign keys to reference data on
purpose: a receipt for a product deleted since must still be stored, never refused."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    Time,
    column,
    table,
)

from osuite.core.db import named_metadata
from osuite.core.sync.tables import center_tables, edge_tables

metadata = named_metadata()

# The sync engine: this server is a center for its clients and, when enrolled with an HQ data
# server, an edge towards it.
center = center_tables(metadata)
edge = edge_tables(metadata)

Id = String(36)
Qty = Numeric(12, 3)
TZ = DateTime(timezone=True)

# --- stores, clients, keys -------------------------------------------------------------------------

stores = Table(
    "stores",
    metadata,
    Column("id", Id, primary_key=True),
    Column("code", String(32), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("address", String(400), nullable=False, default=""),
    Column("timezone", String(64), nullable=False, default="Europe/Moscow"),
    Column("active", Boolean, nullable=False, default=True),
    Column("updated_at", TZ, nullable=False),
)

enrollment_codes = Table(
    "enrollment_codes",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("store_id", Id, ForeignKey("stores.id"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("name", String(200), nullable=False),
    Column("created_at", TZ, nullable=False),
    Column("expires_at", TZ, nullable=False),
    Column("used_at", TZ),
    Column("client_id", Id),
)

clients = Table(
    "clients",
    metadata,
    Column("id", Id, primary_key=True),
    Column("store_id", Id, ForeignKey("stores.id"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("name", String(200), nullable=False),
    Column("token_digest", String(64), nullable=False, unique=True),
    Column("enrolled_at", TZ, nullable=False),
    Column("revoked_at", TZ),
    Column("last_heartbeat_at", TZ),
    Column("version", String(64)),
    Column("state", Text),  # the last heartbeat's JSON
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("token_digest", String(64), nullable=False, unique=True),
    Column("scopes", String(200), nullable=False),
    Column("created_at", TZ, nullable=False),
    Column("revoked_at", TZ),
)

commands = Table(
    "commands",
    metadata,
    Column("id", Id, primary_key=True),
    Column("client_id", Id, ForeignKey("clients.id"), nullable=False),
    Column("command", String(64), nullable=False),
    Column("args", Text, nullable=False, default="{}"),
    Column("status", String(16), nullable=False),  # queued, sent, done, failed
    Column("created_at", TZ, nullable=False),
    Column("sent_at", TZ),
    Column("finished_at", TZ),
    Column("result", Text),
    Index("ix_commands_client_status", "client_id", "status"),
)

# The link to an HQ data server, when this one is a store server enrolled there (at most one row).
upstream = Table(
    "upstream",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", String(400), nullable=False),
    Column("token", String(200), nullable=False),  # our own credential for HQ, needed in clear
    Column("client_id", Id, nullable=False),
    Column("store_id", Id, nullable=False),
    Column("joined_at", TZ, nullable=False),
)

# --- reference data ---------------------------------------------------------------------------------

categories = Table(
    "categories",
    metadata,
    Column("id", Id, primary_key=True),
    Column("parent_id", Id, ForeignKey("categories.id")),
    Column("name", String(200), nullable=False),
    Column("sort", Integer, nullable=False, default=0),
    Column("updated_at", TZ, nullable=False),
)

products = Table(
    "products",
    metadata,
    Column("id", Id, primary_key=True),
    Column("article", String(64), nullable=False, unique=True),
    Column("name", String(300), nullable=False),
    Column("unit", String(8), nullable=False),  # pcs, kg, l
    Column("weighted", Boolean, nullable=False, default=False),
    Column("vat_rate", String(8), nullable=False),  # none, 0, 10, 20, 10/110, 20/120
    Column("category_id", Id, ForeignKey("categories.id")),
    Column("age_limit", Integer, nullable=False, default=0),
    Column("active", Boolean, nullable=False, default=True),
    Column("updated_at", TZ, nullable=False),
    # The name case-folded (Ё as Е) for search: SQLite's lower() folds only ASCII, not Cyrillic.
    Column("search", String(300), nullable=False, default=""),
    Index("ix_products_name", "name"),
    Index("ix_products_category", "category_id"),
    # PostgreSQL: a trigram index that LIKE '%…%' on the folded name uses (migration 0003; SQLite's
    # equivalent is products_search below).
    Index(
        "ix_products_search_trgm",
        "search",
        postgresql_using="gin",
        postgresql_ops={"search": "gin_trgm_ops"},
    ).ddl_if(dialect="postgresql"),
)

# SQLite: the FTS5 trigram index of products.search (migration 0003), external content keyed by the
# products' implicit rowid and kept in step by triggers on products. Not in ``metadata``: SQLAlchemy
# cannot describe a virtual table, and create_all/autogenerate must leave it alone. Declared here only
# to query it. Its rowids are products' rowids, so a migration that rebuilds products (a batch
# ALTER on SQLite copies the table, drops the triggers and may renumber the rows) must recreate the
# triggers and run ``INSERT INTO products_search(products_search) VALUES ('rebuild')``; so must a
# VACUUM, which may renumber the rowids of a table without an INTEGER PRIMARY KEY.
products_search = table("products_search", column("rowid"), column("search"))

barcodes = Table(
    "barcodes",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("product_id", Id, ForeignKey("products.id", ondelete="CASCADE"), nullable=False),
    Column("multiplier", Qty, nullable=False, default=1),
    Column("updated_at", TZ, nullable=False),
    Index("ix_barcodes_product", "product_id"),
)

prices = Table(
    "prices",
    metadata,
    Column("store_id", Id, ForeignKey("stores.id"), primary_key=True),
    Column("product_id", Id, ForeignKey("products.id", ondelete="CASCADE"), primary_key=True),
    Column("price", BigInteger, nullable=False),  # kopecks per unit (per kg for weighted goods)
    Column("updated_at", TZ, nullable=False),
    Index("ix_prices_product", "product_id"),
)

barcode_templates = Table(
    "barcode_templates",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("definition", Text, nullable=False),  # JSON of osuite.core.barcodes.BarcodeTemplate
    Column("updated_at", TZ, nullable=False),
)

payment_types = Table(
    "payment_types",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("method", String(16), nullable=False),  # cash, card, bonus, gift, other
    Column("active", Boolean, nullable=False, default=True),
    Column("sort", Integer, nullable=False, default=0),
    Column("updated_at", TZ, nullable=False),
)

roles = Table(
    "roles",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("permissions", Text, nullable=False),  # JSON list of permission names
    Column("updated_at", TZ, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True),
    Column("login", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("pin_hash", String(200)),
    Column("password_hash", String(200)),
    Column("roles", Text, nullable=False),  # JSON list of role ids
    Column("active", Boolean, nullable=False, default=True),
    Column("updated_at", TZ, nullable=False),
)

terminal_settings = Table(
    "terminal_settings",
    metadata,
    Column("scope", String(80), primary_key=True),  # "store:<id>" defaults or "client:<id>"
    Column("values", Text, nullable=False),  # JSON object
    Column("updated_at", TZ, nullable=False),
)

# Rules the tills apply by themselves (osuite.dataserver.wire.catalog.PromotionUpdate). The goods and
# stores they name are JSON lists without foreign keys: a store server may hear of a promotion before
# the products it names.
promotions = Table(
    "promotions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(32), nullable=False),  # percent_off, amount_off, n_for_m, receipt_threshold
    Column("product_ids", Text, nullable=False),  # JSON lists of ids
    Column("category_ids", Text, nullable=False),
    Column("store_ids", Text, nullable=False),
    Column("percent", Numeric(5, 2)),
    Column("amount", BigInteger),  # kopecks
    Column("buy", Integer),
    Column("pay", Integer),
    Column("threshold", BigInteger),  # kopecks
    Column("starts_on", Date),
    Column("ends_on", Date),
    Column("time_from", Time),  # the store's local time
    Column("time_to", Time),
    Column("weekdays", Text, nullable=False),  # JSON list, 1 Monday … 7 Sunday
    Column("stackable", Boolean, nullable=False, default=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("updated_at", TZ, nullable=False),
)

# Changes from HQ that refer to a row HQ has not sent yet (a barcode whose product was edited later, so
# its log row comes later): parked here until that row arrives, then applied.
replica_pending = Table(
    "replica_pending",
    metadata,
    Column("entity", String(64), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("payload", Text, nullable=False),
    Column("waits_entity", String(64), nullable=False),
    Column("waits_key", String(200), nullable=False),
    Index("ix_replica_pending_waits", "waits_entity", "waits_key"),
)

# --- documents from clients -------------------------------------------------------------------------
# terminal_id is the terminal that made the document: the sending client itself, or, for documents a
# store data server relays to HQ, one of that store's terminals. business_day is the local date (in the
# store's timezone) of the moment the document is filed under; reports and date filters use it.

shifts = Table(
    "shifts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("store_id", Id, nullable=False),
    Column("terminal_id", Id, nullable=False),
    Column("number", Integer, nullable=False),
    Column("cashier_id", Id),
    Column("opened_at", TZ, nullable=False),
    Column("closed_at", TZ),  # from the shift's Z report, whichever of the two arrives first
    Column("business_day", Date, nullable=False),
    Index("ix_shifts_store_opened", "store_id", "opened_at", "id"),
    Index("ix_shifts_terminal_opened", "terminal_id", "opened_at"),
    Index("ix_shifts_opened", "opened_at", "id"),
)

receipts = Table(
    "receipts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("store_id", Id, nullable=False),
    Column("terminal_id", Id, nullable=False),
    Column("shift_id", Id, nullable=False),
    Column("number", Integer, nullable=False),
    Column("kind", String(8), nullable=False),  # sale, return
    Column("original_receipt_id", Id),
    Column("cashier_id", Id),
    Column("opened_at", TZ, nullable=False),
    Column("closed_at", TZ, nullable=False),
    Column("business_day", Date, nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("discount", BigInteger, nullable=False),
    Column("body", Text, nullable=False),  # the document's JSON as it was handed in
    Index("ix_receipts_store_closed", "store_id", "closed_at", "id"),
    Index("ix_receipts_terminal_closed", "terminal_id", "closed_at"),
    Index("ix_receipts_closed", "closed_at", "id"),
    Index("ix_receipts_shift", "shift_id"),
    Index("ix_receipts_day", "business_day", "store_id"),
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
    Column("quantity", Qty, nullable=False),
    Column("price", BigInteger, nullable=False),
    Column("discount", BigInteger, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("vat_rate", String(8), nullable=False),
)

receipt_payments = Table(
    "receipt_payments",
    metadata,
    Column("receipt_id", Id, ForeignKey("receipts.id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),  # the payment's place in the receipt, from 1
    Column("payment_type", String(32), nullable=False),
    Column("amount", BigInteger, nullable=False),
)

cash_operations = Table(
    "cash_operations",
    metadata,
    Column("id", Id, primary_key=True),
    Column("store_id", Id, nullable=False),
    Column("terminal_id", Id, nullable=False),
    Column("shift_id", Id, nullable=False),
    Column("kind", String(8), nullable=False),  # in, out
    Column("amount", BigInteger, nullable=False),
    Column("cashier_id", Id),
    Column("reason", String(400), nullable=False, default=""),
    Column("at", TZ, nullable=False),
    Column("business_day", Date, nullable=False),
    Column("approved_by", Id),  # the supervisor who allowed it
    Column("fiscal", Text),  # JSON of the fiscal registrar's mark
    Index("ix_cash_operations_shift", "shift_id"),
    Index("ix_cash_operations_store_at", "store_id", "at", "id"),
    Index("ix_cash_operations_at", "at", "id"),
)

z_reports = Table(
    "z_reports",
    metadata,
    Column("id", Id, primary_key=True),
    Column("store_id", Id, nullable=False),
    Column("terminal_id", Id, nullable=False),
    # Not unique: a second Z report for a shift is a terminal's mistake, but refusing it would need a
    # lookup the intake cannot make, and failing the batch would block every document behind it.
    Column("shift_id", Id, nullable=False),
    Column("number", Integer, nullable=False),
    Column("closed_at", TZ, nullable=False),
    Column("business_day", Date, nullable=False),
    Column("body", Text, nullable=False),  # the document's JSON as it was handed in
    Index("ix_z_reports_shift", "shift_id"),
    Index("ix_z_reports_store_closed", "store_id", "closed_at", "id"),
    Index("ix_z_reports_closed", "closed_at", "id"),
)

command_results = Table(
    "command_results",
    metadata,
    Column("id", Id, primary_key=True),
    Column("command_id", Id, nullable=False),
    Column("client_id", Id, nullable=False),
    Column("status", String(16), nullable=False),
    Column("output", Text, nullable=False),
    Column("at", TZ, nullable=False),
)
