"""documents.requeued_at: when the re-enqueue sweep last put a stalled document back

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("requeued_at", sa.DateTime(timezone=True), nullable=True))
    # A failure cleared by a later step was stored as JSON null, which IS NOT NULL counts.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE documents SET failure = NULL WHERE failure = 'null'::jsonb")
    else:
        op.execute("UPDATE documents SET failure = NULL WHERE failure = 'null'")


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("requeued_at")
