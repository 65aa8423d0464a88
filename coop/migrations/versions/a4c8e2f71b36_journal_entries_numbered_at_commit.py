"""journal entries carry a provisional number (from a sequence on PostgreSQL) until their transaction commits

Revision ID: a4c8e2f71b36
Revises: 7e41c0d9a2b5
Create Date: 2026-12-02 11:40:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = 'a4c8e2f71b36'
down_revision: str | None = '7e41c0d9a2b5'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return  # SQLite draws provisional numbers from a counter row: one writer at a time there anyway
    op.execute("CREATE SEQUENCE ledger_entry_provisional_seq AS bigint MINVALUE 1")


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute("DROP SEQUENCE ledger_entry_provisional_seq")
