"""The data server's first schema.

Revision ID: 0001
Revises:
Create Date: 2026-11-24

While the first release is being built this revision creates the tables from the metadata; it is
replaced by explicit operations before the first release so that later revisions build on a frozen base.
"""

from collections.abc import Sequence

from alembic import op

from osuite.dataserver.tables import metadata

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
