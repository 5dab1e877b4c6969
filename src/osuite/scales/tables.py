"""The scale server's own tables: a replica of the catalog it loads scales from (products, prices,
categories, barcode templates), the scales and their rules, the PLU numbers given out, what each scale
last accepted, the uploads, and the sync engine's edge tables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Table, Text, UniqueConstraint

from osuite.core.db import UtcDateTime, named_metadata
from osuite.core.sync.tables import edge_tables
from osuite.dataserver.client import commands_table

metadata = named_metadata()
edge = edge_tables(metadata)

Record = Mapping[Any, Any]
Id = String(36)
TZ = UtcDateTime()

# --- who this scale server is -------------------------------------------------------------------------

enrollment = Table(
    "enrollment",
    metadata,
    Column("id", Integer, primary_key=True),  # always 1
    Column("client_id", Id, nullable=False),
    Column("store_id", Id, nullable=False),
    Column("name", String(200), nullable=False),
    Column("server_url", String(400), nullable=False),
    Column("token", String(200), nullable=False),
    Column("enrolled_at", TZ, nullable=False),
)

# --- the catalog, as the data server publishes it ------------------------------------------------------

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
    Column("article", String(64), nullable=False),
    Column("name", String(300), nullable=False),
    Column("unit", String(8), nullable=False),
    Column("weighted", Boolean, nullable=False),
    Column("category_id", Id),
    Column("active", Boolean, nullable=False),
)

prices = Table(
    "prices",
    metadata,
    Column("store_id", Id, primary_key=True),
    Column("product_id", Id, primary_key=True),
    Column("price", BigInteger, nullable=False),
)

barcode_templates = Table(
    "barcode_templates",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("template", Text, nullable=False),  # JSON of osuite.core.barcodes.BarcodeTemplate
)

# --- the scales ---------------------------------------------------------------------------------------

scales = Table(
    "scales",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("department", String(200), nullable=False, default=""),
    Column("model", String(100), nullable=False, default=""),
    Column("protocol", String(16), nullable=False),  # cas | shtrih | massak
    Column("host", String(200), nullable=False),
    Column("port", Integer, nullable=False),
    Column("scale_number", Integer, nullable=False, default=1),
    Column("password", String(64), nullable=False, default=""),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("barcode_template", String(64), nullable=False, default="weight"),
    Column("label_format", Integer, nullable=False, default=1),
    Column("hotkeys", Integer, nullable=False, default=0),  # speed keys the model has
    Column("created_at", TZ, nullable=False),
    Column("updated_at", TZ, nullable=False),
)

rules = Table(
    "rules",
    metadata,
    Column("id", Id, primary_key=True),
    Column("scale_id", Id, nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # category | products
    Column("values", Text, nullable=False),  # JSON list of ids
)

plu_numbers = Table(
    "plu_numbers",
    metadata,
    Column("scale_id", Id, primary_key=True),
    Column("product_id", Id, primary_key=True),
    Column("number", Integer, nullable=False),
    UniqueConstraint("scale_id", "number"),
)

sent = Table(
    "sent",
    metadata,
    # What the scale last accepted at each PLU number (its digest), or why it refused.
    Column("scale_id", Id, primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("product_id", Id),
    Column("digest", String(32)),  # None: refused, nothing there we know of
    Column("at", TZ, nullable=False),
    Column("answer", Text, nullable=False, default=""),
)

uploads = Table(
    "uploads",
    metadata,
    Column("id", Id, primary_key=True),
    Column("scale_id", Id, nullable=False),
    Column("kind", String(12), nullable=False),  # changes | full
    Column("started_at", TZ, nullable=False),
    Column("finished_at", TZ),
    Column("written", Integer, nullable=False, default=0),
    Column("deleted", Integer, nullable=False, default=0),
    Column("refused", Integer, nullable=False, default=0),
    Column("error", Text),
    Index("ix_uploads_scale_started", "scale_id", "started_at"),
)

states = Table(
    "states",
    metadata,
    Column("scale_id", Id, primary_key=True),
    Column("online", Boolean, nullable=False, default=False),
    Column("busy", Boolean, nullable=False, default=False),
    Column("checked_at", TZ),
    Column("message", Text, nullable=False, default=""),
    Column("pending", Boolean, nullable=False, default=True),  # something may be left to send
    Column("full", Boolean, nullable=False, default=False),  # a full reload was ordered
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", TZ),
)

commands = commands_table(metadata)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("token_digest", String(64), nullable=False, unique=True),
    Column("created_at", TZ, nullable=False),
    Column("revoked_at", TZ),
)

catalog_version = Table(
    "catalog_version",
    metadata,
    Column("id", Integer, primary_key=True),  # always 1
    Column("version", BigInteger, nullable=False),  # raised by every page of catalog changes applied
)
