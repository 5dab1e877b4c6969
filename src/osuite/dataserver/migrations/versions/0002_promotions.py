"""Promotions; a cash operation's supervisor and fiscal mark.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "promotions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("product_ids", sa.Text(), nullable=False),
        sa.Column("category_ids", sa.Text(), nullable=False),
        sa.Column("store_ids", sa.Text(), nullable=False),
        sa.Column("percent", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("buy", sa.Integer(), nullable=True),
        sa.Column("pay", sa.Integer(), nullable=True),
        sa.Column("threshold", sa.BigInteger(), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("time_from", sa.Time(), nullable=True),
        sa.Column("time_to", sa.Time(), nullable=True),
        sa.Column("weekdays", sa.Text(), nullable=False),
        sa.Column("stackable", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotions")),
    )
    with op.batch_alter_table("cash_operations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approved_by", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("fiscal", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cash_operations", schema=None) as batch_op:
        batch_op.drop_column("fiscal")
        batch_op.drop_column("approved_by")

    op.drop_table("promotions")
