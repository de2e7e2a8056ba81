"""review checklist snapshot: the review's ESG checklist as it stood when its outcome was recorded

A periodic review owns an ESG checklist (its answers are ``checklist_response`` rows with subject type "review",
which needs no change); the outcome keeps a copy of it, unchanged by later answers or policy edits.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("review", schema=None) as batch_op:
        batch_op.add_column(sa.Column("checklist", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("review", schema=None) as batch_op:
        batch_op.drop_column("checklist")
