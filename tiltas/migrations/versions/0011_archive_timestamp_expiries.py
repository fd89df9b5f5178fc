"""archive_timestamp_expiries: each stored signed PDF's last TSA certificate expiry, read once

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "archive_timestamp_expiries",
        sa.Column("pdf_sha256", sa.String(length=64), nullable=False),
        sa.Column("tsa_expires", sa.DateTime(timezone=True), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pdf_sha256", name=op.f("pk_archive_timestamp_expiries")),
    )
    op.create_index(
        op.f("ix_archive_timestamp_expiries_tsa_expires"),
        "archive_timestamp_expiries",
        ["tsa_expires"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_archive_timestamp_expiries_tsa_expires"), table_name="archive_timestamp_expiries"
    )
    op.drop_table("archive_timestamp_expiries")
