"""full text: the pages table, articles' page text and its source, matches' source, feeds' full_text

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("full_text", sa.String(8), nullable=True))
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("body", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("text_source", sa.String(8), nullable=False, server_default="feed"))
    with op.batch_alter_table("matches") as batch:
        batch.add_column(sa.Column("text_source", sa.String(8), nullable=False, server_default="feed"))
    op.create_table(
        "pages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("state", sa.String(8), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_try_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=False, server_default=""),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pages")),
        sa.UniqueConstraint("url", name=op.f("uq_pages_url")),
    )
    op.create_index(op.f("ix_pages_state_next_try_at"), "pages", ["state", "next_try_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_pages_state_next_try_at"), table_name="pages")
    op.drop_table("pages")
    with op.batch_alter_table("matches") as batch:
        batch.drop_column("text_source")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("text_source")
        batch.drop_column("body")
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("full_text")
