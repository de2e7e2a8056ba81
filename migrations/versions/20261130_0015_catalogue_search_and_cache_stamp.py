"""catalogue full-text search (PostgreSQL GIN over a tsvector, SQLite FTS5) and the catalogue's cache stamp

``credential.search_text`` now also holds the descriptions of the current edition (assessment, participation,
prerequisites, further information), so a search finds words there too; it is recomputed here for every
published credential. PostgreSQL searches it through a GIN index over ``to_tsvector('simple', search_text)``
(prefix matching: "ML" finds "ML", "mach" finds "machine"); SQLite through the FTS5 table ``credential_fts``,
an external-content index kept by three triggers on ``credential``. Neither is in the SQLModel metadata:
migrations/env.py leaves them out of ``alembic check``.

Note for later migrations: a SQLite batch operation that recreates ``credential`` drops these triggers; such a
migration must call ``create_sqlite_fts_triggers`` again (and rebuild the index).

``catalogue_stamp`` is one row whose generation every change to the catalogue raises (app.catalogue.cache).

Revision ID: 0015
Revises: 0016
Create Date: 2026-11-30 12:00:00.000000
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0015"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The text a search looks in, as app.catalogue.service.search_text_of builds it (frozen here).
_TEXT_FIELDS = (
    "target_group",
    "assessment_description",
    "participation_description",
    "prerequisites",
    "further_information",
)

SQLITE_FTS_TRIGGERS = (
    """CREATE TRIGGER credential_fts_insert AFTER INSERT ON credential BEGIN
         INSERT INTO credential_fts(rowid, search_text) VALUES (new.id, new.search_text);
       END""",
    """CREATE TRIGGER credential_fts_delete AFTER DELETE ON credential BEGIN
         INSERT INTO credential_fts(credential_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
       END""",
    """CREATE TRIGGER credential_fts_update AFTER UPDATE OF search_text ON credential BEGIN
         INSERT INTO credential_fts(credential_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
         INSERT INTO credential_fts(rowid, search_text) VALUES (new.id, new.search_text);
       END""",
)


def create_sqlite_fts_triggers() -> None:
    for statement in SQLITE_FTS_TRIGGERS:
        op.execute(statement)


def _search_text(content: dict) -> str:  # type: ignore[type-arg]
    parts = [content.get("title") or "", *(content.get("learning_outcomes") or [])]
    parts += [content.get(name) or "" for name in _TEXT_FIELDS]
    return " ".join(str(p) for p in parts if p).lower()


def upgrade() -> None:
    op.create_table(
        "catalogue_stamp",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), server_default="0", nullable=False),
        sa.Column("changed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_stamp")),
    )
    stamp = sa.table(
        "catalogue_stamp", sa.column("id", sa.Integer), sa.column("generation", sa.Integer), sa.column("changed_at")
    )
    op.bulk_insert(stamp, [{"id": 1, "generation": 0, "changed_at": datetime.now(UTC)}])

    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT c.id, v.content FROM credential c JOIN credential_version v "
            "ON v.credential_id = c.id AND v.version_no = c.current_version_no WHERE c.current_version_no > 0"
        )
    ).all()
    for credential_id, content in rows:
        value = json.loads(content) if isinstance(content, str) else content
        bind.execute(
            sa.text("UPDATE credential SET search_text = :t WHERE id = :id"),
            {"t": _search_text(value or {}), "id": credential_id},
        )

    if bind.dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX ix_credential_search ON credential USING gin (to_tsvector('simple', search_text)) "
            "WHERE current_version_no > 0"
        )
    else:
        op.execute(
            "CREATE VIRTUAL TABLE credential_fts USING fts5("
            "search_text, content='credential', content_rowid='id', tokenize='unicode61')"
        )
        create_sqlite_fts_triggers()
        op.execute("INSERT INTO credential_fts(credential_fts) VALUES ('rebuild')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_credential_search")
    else:
        for name in ("credential_fts_insert", "credential_fts_delete", "credential_fts_update"):
            op.execute(f"DROP TRIGGER {name}")
        op.execute("DROP TABLE credential_fts")
    op.drop_table("catalogue_stamp")
