"""matches: the (kind, ref) index becomes a partial index of the fact rows by ref (nothing looks up a
watch's or relevance's rows by ref, and indexing them cost more than storing them)

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_FACT = sa.text("kind = 'fact'")


def upgrade() -> None:
    op.drop_index("ix_matches_kind_ref", table_name="matches")
    op.create_index("ix_matches_fact_ref", "matches", ["ref"], sqlite_where=_FACT, postgresql_where=_FACT)


def downgrade() -> None:
    op.drop_index("ix_matches_fact_ref", table_name="matches")
    op.create_index("ix_matches_kind_ref", "matches", ["kind", "ref"])
