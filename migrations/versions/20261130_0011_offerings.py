"""offerings: the runs of a published micro-credential, with dates, capacity, language, mode and figures

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 13:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "offering",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("credential_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
        sa.Column("participation_form", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("enrolled", sa.Integer(), nullable=True),
        sa.Column("completed", sa.Integer(), nullable=True),
        sa.Column("passed", sa.Integer(), nullable=True),
        sa.Column("dropped_out", sa.Integer(), nullable=True),
        sa.Column("figures_recorded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("lock_version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint("ends_on >= starts_on", name=op.f("ck_offering_dates_in_order")),
        sa.CheckConstraint(
            "completed IS NULL OR enrolled IS NULL OR completed <= enrolled",
            name=op.f("ck_offering_completed_within_enrolled"),
        ),
        sa.CheckConstraint(
            "passed IS NULL OR completed IS NULL OR passed <= completed",
            name=op.f("ck_offering_passed_within_completed"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user_account.id"], name=op.f("fk_offering_created_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["credential_id"], ["credential.id"], name=op.f("fk_offering_credential_id_credential")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offering")),
    )
    op.create_index("ix_offering_credential", "offering", ["credential_id", "starts_on"], unique=False)
    op.create_index("ix_offering_ends_on", "offering", ["ends_on"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_offering_ends_on", table_name="offering")
    op.drop_index("ix_offering_credential", table_name="offering")
    op.drop_table("offering")
