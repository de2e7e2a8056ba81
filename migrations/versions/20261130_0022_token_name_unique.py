"""API token names: unique per person among the tokens still in use, in the database too, so two parallel requests
(a double click) cannot both issue the same name (the service checks it alone, ignoring case, before)

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-30 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "uq_api_token_live_name"
LIVE = "revoked_at IS NULL"


def upgrade() -> None:
    # A duplicate that slipped through before keeps working under a distinct name (its id appended).
    op.execute(
        sa.text(
            "UPDATE api_token SET name = substr(name, 1, 80) || ' (' || CAST(id AS VARCHAR(20)) || ')' "
            "WHERE revoked_at IS NULL AND EXISTS (SELECT 1 FROM api_token AS older "
            "WHERE older.user_id = api_token.user_id AND lower(older.name) = lower(api_token.name) "
            "AND older.revoked_at IS NULL AND older.id < api_token.id)"
        )
    )
    op.create_index(
        INDEX,
        "api_token",
        ["user_id", "name"],
        unique=True,
        postgresql_where=sa.text(LIVE),
        sqlite_where=sa.text(LIVE),
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="api_token")
