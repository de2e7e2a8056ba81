"""external QA record: the institution's external quality assurance (ESG 1.10), one row

The agency, whether it is EQAR-registered, its decision and date, the next review and the DEQAR report. It fills
the "type of quality assurance" element of drafts and of the catalogue's current editions.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "external_qa_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("eqar_registered", sa.Boolean(), nullable=False),
        sa.Column("decision", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("decision_on", sa.Date(), nullable=False),
        sa.Column("next_review_on", sa.Date(), nullable=False),
        sa.Column("deqar_report_id", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
        sa.Column("deqar_report_url", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["user_account.id"], name=op.f("fk_external_qa_record_updated_by_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_external_qa_record")),
    )


def downgrade() -> None:
    op.drop_table("external_qa_record")
