"""remote signing sessions; archive renewals

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "remote_signing_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=64), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("signer_index", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("requested_by", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("certificate", sa.LargeBinary(), nullable=False),
        sa.Column("chain", JSON_TYPE, nullable=False),
        sa.Column("source_pdf_sha256", sa.String(length=64), nullable=False),
        sa.Column("state", JSON_TYPE, nullable=True),
        sa.Column("challenge", JSON_TYPE, nullable=True),
        sa.Column("signature_value", sa.LargeBinary(), nullable=True),
        sa.Column("failure", JSON_TYPE, nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_remote_signing_sessions_document_id_documents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remote_signing_sessions")),
        sa.UniqueConstraint("public_id", name=op.f("uq_remote_signing_sessions_public_id")),
    )
    op.create_index(
        op.f("ix_remote_signing_sessions_document_id"),
        "remote_signing_sessions",
        ["document_id"],
        unique=False,
    )
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("renewals", JSON_TYPE, nullable=False, server_default=sa.text("'[]'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_column("renewals")
    op.drop_index(
        op.f("ix_remote_signing_sessions_document_id"), table_name="remote_signing_sessions"
    )
    op.drop_table("remote_signing_sessions")
