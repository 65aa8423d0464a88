"""idempotent requests remember the steps a retry must finish (a provider's checkout that failed)

Revision ID: 3b9d2f6a1c70
Revises: 8c821a249487
Create Date: 2026-12-02 02:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '3b9d2f6a1c70'
down_revision: str | None = '8c821a249487'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('idempotent_request') as batch_op:
        batch_op.add_column(sa.Column('unfinished', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('idempotent_request') as batch_op:
        batch_op.drop_column('unfinished')
