"""the ESG coverage matrix's rows from an index: proposals by title with the columns its filters read

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30 14:25:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ["title", "id", "status", "credential_id", "revision_no", "org_unit_id", "kind"]


def upgrade() -> None:
    with op.batch_alter_table("proposal", schema=None) as batch_op:
        batch_op.create_index("ix_proposal_coverage", COLUMNS, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("proposal", schema=None) as batch_op:
        batch_op.drop_index("ix_proposal_coverage")
