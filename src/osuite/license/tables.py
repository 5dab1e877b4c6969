"""The license server's tables: the seats the license gives each program (one row per program, the row
every lease of that program locks), the leases held, what happened to seats, and API keys."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text, UniqueConstraint

from osuite.core.db import UtcDateTime, named_metadata

metadata = named_metadata()

Id = String(36)
Program = String(40)
MachineId = String(100)
TZ = UtcDateTime()

seat_pools = Table(
    "seat_pools",
    metadata,
    Column("program", Program, primary_key=True),
    Column("seats", Integer, nullable=False),
    Column("license_id", String(64), nullable=False),
    Column("updated_at", TZ, nullable=False),
)
"""One row per program kind the license names. Taking, renewing or giving back a seat first locks its
program's row (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite has one writer at a time), so counting the
leases and adding one is never interleaved with another request for the same program."""

leases = Table(
    "leases",
    metadata,
    Column("id", Id, primary_key=True),
    Column("program", Program, nullable=False),
    Column("machine_id", MachineId, nullable=False),
    Column("name", String(200), nullable=False),
    Column("address", String(64), nullable=False),
    Column("acquired_at", TZ, nullable=False),
    Column("renewed_at", TZ, nullable=False),
    Column("expires_at", TZ, nullable=False),
    UniqueConstraint("program", "machine_id", name="uq_leases_program_machine"),
)

seat_events = Table(
    "seat_events",
    metadata,
    Column("id", Id, primary_key=True),
    Column("at", TZ, nullable=False),
    Column("event", String(20), nullable=False),  # acquired, released, expired, refused, revoked
    Column("program", Program, nullable=False),
    Column("machine_id", MachineId, nullable=False),
    Column("name", String(200), nullable=False),
    Column("lease_id", Id),
    Column("detail", Text, nullable=False),
    Index("ix_seat_events_at", "at"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("token_digest", String(64), nullable=False, unique=True),
    Column("created_at", TZ, nullable=False),
    Column("revoked_at", TZ),
)
