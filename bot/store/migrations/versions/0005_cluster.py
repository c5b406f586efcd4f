"""several workers on one database: the order articles were put in stories (so each process's story
index catches up with the others'), the held-alert summary clock, and the one sender of each channel

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("story_seq", sa.Integer(), nullable=True))
        batch.create_index("ix_articles_story_seq", ["story_seq"])
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("summary_clock_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("sender_owner", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("sender_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("sender_until")
        batch.drop_column("sender_owner")
        batch.drop_column("summary_clock_at")
    with op.batch_alter_table("articles") as batch:
        batch.drop_index("ix_articles_story_seq")
        batch.drop_column("story_seq")
