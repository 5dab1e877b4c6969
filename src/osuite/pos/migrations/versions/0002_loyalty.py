"""Loyalty: the card on a receipt, the processing center's hold behind a points payment, and the outbox
of what the processing center has yet to hear.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("card", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("loyalty", sa.Text(), nullable=True))
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hold_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("committed", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "loyalty_outbox",
        sa.Column("position", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_loyalty_outbox")),
        sa.UniqueConstraint("id", name=op.f("uq_loyalty_outbox_id")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("loyalty_outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_loyalty_outbox_due", ["delivered_at", "rejected_at", "next_attempt_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("loyalty_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_loyalty_outbox_due")
    op.drop_table("loyalty_outbox")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_column("committed")
        batch_op.drop_column("hold_id")
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.drop_column("loyalty")
        batch_op.drop_column("card")
