"""The Manager's own tables: who is logged in (a session is a row, so logging out or a stale login ends
it at once), and the log of what people changed through it (the programs behind it see only the
Manager's key, so the person is recorded here)."""

from __future__ import annotations

from sqlalchemy import Column, Index, String, Table, Text

from osuite.core.db import UtcDateTime, named_metadata

metadata = named_metadata()

TZ = UtcDateTime()

sessions = Table(
    "sessions",
    metadata,
    Column("token_digest", String(64), primary_key=True),
    Column("user_id", String(36), nullable=False),
    Column("login", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("created_at", TZ, nullable=False),
    Column("seen_at", TZ, nullable=False),
    Column("expires_at", TZ, nullable=False),
)

actions = Table(
    "actions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("at", TZ, nullable=False),
    Column("login", String(64), nullable=False),
    Column("section", String(20), nullable=False),
    Column("action", String(100), nullable=False),
    Column("target", String(200), nullable=False),
    Column("detail", Text, nullable=False),
)
Index("ix_actions_at", actions.c.at)
