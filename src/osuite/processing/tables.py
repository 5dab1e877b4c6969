"""The processing center's tables (SQLAlchemy Core).

The journal (``movements``) is append-only: one row per domain movement, its id the movement's own
UUIDv7, the whole movement as JSON beside the columns that are searched. An account's ``version``
counts the movements stored for it and is raised in the transaction that stores them, so a journal
kept in memory is known to be current when its version matches (see :mod:`.journals`).

Replicated tables (customers, cards, accounts, programs, movements, sales, returns) carry no foreign
keys: between centers they arrive in any order.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text

from osuite.core.db import UtcDateTime, named_metadata
from osuite.core.sync.tables import center_tables, edge_tables

metadata = named_metadata()

# The sync engine: a root is the center of its subordinates; a subordinate is an edge of its root.
center = center_tables(metadata)
edge = edge_tables(metadata)

Id = String(36)
Points = BigInteger
TZ = UtcDateTime

# --- this center, its link, who may call it ---------------------------------------------------------

identity = Table(
    "center",
    metadata,
    Column("id", Integer, primary_key=True),  # always 1
    Column("center_id", Id, nullable=False),  # the origin of the movements recorded here
    Column("role", String(16), nullable=False),
    Column("created_at", TZ, nullable=False),
)

upstream = Table(
    "upstream",
    metadata,
    Column("id", Integer, primary_key=True),  # always 1: a subordinate's root
    Column("url", String(400), nullable=False),
    Column("token", String(200), nullable=False),  # our own credential at the root, needed in clear
    Column("root_id", Id, nullable=False),
    Column("joined_at", TZ, nullable=False),
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

enrollment_codes = Table(
    "enrollment_codes",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", TZ, nullable=False),
    Column("expires_at", TZ, nullable=False),
    Column("used_at", TZ),
    Column("center_id", Id),
)

subordinates = Table(
    "subordinates",
    metadata,
    Column("id", Id, primary_key=True),  # the subordinate's center id: the holder of its grants
    Column("name", String(200), nullable=False),
    Column("token_digest", String(64), nullable=False, unique=True),
    Column("enrolled_at", TZ, nullable=False),
    Column("revoked_at", TZ),
)

# --- customers, cards, accounts, programs -----------------------------------------------------------

customers = Table(
    "customers",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("phone", String(32)),
    Column("email", String(200)),
    Column("created_at", TZ, nullable=False),
    Column("updated_at", TZ, nullable=False),
    Index("ix_customers_phone", "phone"),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("customer_id", Id),
    Column("type", String(16), nullable=False),  # bonus, discount, gift
    Column("program_id", Id, nullable=False),
    Column("nominal", Points),  # a gift card's
    Column("created_at", TZ, nullable=False),
    # Local, never replicated as such: derived from what this center stored.
    Column("version", BigInteger, nullable=False, default=0),
    Column("turnover", Points, nullable=False, default=0),
    Index("ix_accounts_customer", "customer_id"),
)

cards = Table(
    "cards",
    metadata,
    Column("number", String(64), primary_key=True),
    Column("account_id", Id, nullable=False),
    Column("status", String(16), nullable=False),  # active, blocked, lost
    Column("replaced_by", String(64)),
    Column("created_at", TZ, nullable=False),
    Column("updated_at", TZ, nullable=False),
    Index("ix_cards_account", "account_id"),
)

programs = Table(
    "programs",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("settings", Text, nullable=False),  # JSON of the rules.Program fields, plus gift_valid_days
    Column("updated_at", TZ, nullable=False),
)

program_versions = Table(
    "program_versions",
    metadata,
    Column("program_id", Id, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("settings", Text, nullable=False),
    Column("created_at", TZ, nullable=False),
)

# --- the journal, the POS's transactions, sales and returns -----------------------------------------

movements = Table(
    "movements",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", Id, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("amount", Points, nullable=False),
    Column("occurred_at", TZ, nullable=False),
    Column("origin", Id, nullable=False),
    Column("body", Text, nullable=False),  # Movement.to_json()
    Column("recorded_at", TZ, nullable=False),
    Index("ix_movements_account", "account_id"),
)

# At the root: movements stored but not in the change log yet. The hot path only queues them here;
# the publisher moves them into the change log in batches (see osuite.processing.publish).
unpublished = Table(
    "unpublished_movements",
    metadata,
    Column("id", Id, primary_key=True),
)

transactions = Table(
    "transactions",
    metadata,
    Column("id", String(64), primary_key=True),  # the transaction id made at the POS
    Column("operation", String(16), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("answer", Text, nullable=False),
    Column("account_id", Id),
    Column("created_at", TZ, nullable=False),
)

sales = Table(
    "sales",
    metadata,
    Column("receipt_id", String(64), primary_key=True),
    Column("account_id", Id, nullable=False),
    Column("transaction_id", String(64), nullable=False),
    Column("total", Points, nullable=False),
    Column("points_paid", Points, nullable=False),
    Column("accrual_id", Id),
    Column("redemption_id", Id),
    Column("lines", Text, nullable=False),  # JSON: line_no, quantity, amount, accrued, redeemed
    Column("origin", Id, nullable=False),
    Column("sold_at", TZ, nullable=False),
    Index("ix_sales_account", "account_id"),
)

returns = Table(
    "returns",
    metadata,
    Column("id", String(64), primary_key=True),  # the POS's transaction id of the return
    Column("receipt_id", String(64), nullable=False),  # the sale
    Column("account_id", Id, nullable=False),
    Column("amount", Points, nullable=False),  # of the goods returned
    Column("lines", Text, nullable=False),  # JSON: line_no, quantity, reverse, give_back
    Column("origin", Id, nullable=False),
    Column("returned_at", TZ, nullable=False),
    Index("ix_returns_receipt", "receipt_id"),
)

audit = Table(
    "audit",
    metadata,
    Column("id", Id, primary_key=True),
    Column("at", TZ, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(32), nullable=False),
    Column("subject", String(64), nullable=False),
    Column("detail", Text, nullable=False),
    Index("ix_audit_subject", "subject"),
)
