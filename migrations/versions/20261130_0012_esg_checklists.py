"""ESG Part 1 checklists: one answer per (subject, item), and the checklist as it stood on each decision

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "checklist_response",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_type", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("item_key", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("standard", sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
        sa.Column("body", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("item_version", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("policy_version", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("item_snapshot", sa.JSON(), nullable=False),
        sa.Column("comment", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("evidence_text", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("evidence_links", sa.JSON(), nullable=False),
        sa.Column("attachment_ids", sa.JSON(), nullable=False),
        sa.Column("automatic", sa.JSON(), nullable=True),
        sa.Column("condition_text", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("condition_due_on", sa.Date(), nullable=True),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.Column("answered_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("lock_version", sa.Integer(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(["answered_by_id"], ["user_account.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subject_type", "subject_id", "item_key", name="uq_checklist_response_item"),
    )
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.add_column(sa.Column("checklist", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.drop_column("checklist")
    op.drop_table("checklist_response")
