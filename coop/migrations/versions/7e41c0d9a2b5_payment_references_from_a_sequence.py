"""payment references from a sequence on PostgreSQL (unique, not gap-free), continuing the counter

Revision ID: 7e41c0d9a2b5
Revises: 3b9d2f6a1c70
Create Date: 2026-12-02 03:00:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '7e41c0d9a2b5'
down_revision: str | None = '3b9d2f6a1c70'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return  # SQLite keeps the counter row: one writer at a time there anyway
    op.execute("CREATE SEQUENCE payment_reference_seq AS bigint MINVALUE 1")
    op.execute("SELECT setval('payment_reference_seq', coalesce((SELECT last_value FROM number_series "
               "WHERE name = 'payment_reference'), 0) + 1, false)")


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute("INSERT INTO number_series (name, last_value) SELECT 'payment_reference', last_value "
               "FROM payment_reference_seq WHERE is_called "
               "ON CONFLICT (name) DO UPDATE SET last_value = excluded.last_value")
    op.execute("DROP SEQUENCE payment_reference_seq")
