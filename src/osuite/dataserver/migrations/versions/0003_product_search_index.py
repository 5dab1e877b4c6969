"""A trigram index for the product search by name, so a word few products have is found without reading
every name (issue 8: under 200 ms on 1,000,000 products).

SQLite: an FTS5 table ``products_search`` with the ``trigram`` tokenizer over ``products.search``,
external content (it stores only the index; the text stays in ``products``), kept in step by triggers
whatever writes ``products`` (the API, the CSV import's bulk upsert, the HQ replica), and filled here
from the rows already there. PostgreSQL: ``pg_trgm`` and a GIN index on ``products.search``, which the
unchanged ``LIKE '%…%'`` uses.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# case_sensitive 1: the column is already folded by catalog_rules.search_key, and FTS5's own folding
# would differ from Python's casefold for a few characters; unfolded trigrams make a quoted phrase
# match exactly the substrings LIKE finds.
SQLITE_UP = (
    "CREATE VIRTUAL TABLE products_search USING fts5("
    "search, content='products', content_rowid='rowid', tokenize='trigram case_sensitive 1')",
    # The 'delete' command of an external-content table must be given the old text exactly: the
    # triggers have it, nothing else does.
    "CREATE TRIGGER products_search_insert AFTER INSERT ON products BEGIN "
    "INSERT INTO products_search(rowid, search) VALUES (new.rowid, new.search); END",
    "CREATE TRIGGER products_search_delete AFTER DELETE ON products BEGIN "
    "INSERT INTO products_search(products_search, rowid, search) VALUES ('delete', old.rowid, old.search); "
    "END",
    # A bulk upsert rewrites every column: only a changed name costs index work.
    "CREATE TRIGGER products_search_update AFTER UPDATE OF search ON products "
    "WHEN old.search IS NOT new.search BEGIN "
    "INSERT INTO products_search(products_search, rowid, search) VALUES ('delete', old.rowid, old.search); "
    "INSERT INTO products_search(rowid, search) VALUES (new.rowid, new.search); END",
    "INSERT INTO products_search(products_search) VALUES ('rebuild')",
)
SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS products_search_update",
    "DROP TRIGGER IF EXISTS products_search_delete",
    "DROP TRIGGER IF EXISTS products_search_insert",
    "DROP TABLE IF EXISTS products_search",
)


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        for statement in SQLITE_UP:
            op.execute(statement)
        return
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may create it. It may live
    # in a schema that is not on this connection's search_path (each test has a schema of its own), so
    # the operator class is named with the extension's schema.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema = conn.exec_driver_sql(
        "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'"
    ).scalar_one()
    op.execute(f"CREATE INDEX ix_products_search_trgm ON products USING gin (search {schema}.gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_DOWN:
            op.execute(statement)
        return
    op.execute("DROP INDEX IF EXISTS ix_products_search_trgm")
