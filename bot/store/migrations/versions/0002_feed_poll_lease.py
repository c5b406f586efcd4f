"""feeds: a poll lease, so two processes never poll one feed at once

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("poll_owner", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("poll_lease_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("poll_lease_until")
        batch.drop_column("poll_owner")
