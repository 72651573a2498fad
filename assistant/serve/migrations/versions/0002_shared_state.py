"""The end user of an exchange (a keyed hash), and the state several replicas share: the
server-kept conversations (`sessions`) and the rate-limit buckets (`buckets`).

Each step is skipped when its result is there already, so a database that an unreleased
build made with these tables (without a revision) is brought along too.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    present = set(inspector.get_table_names())
    if "user_hash" not in {c["name"] for c in inspector.get_columns("exchanges")}:
        op.add_column("exchanges", sa.Column("user_hash", sa.String(64)))
    if "ix_exchanges_user_hash" not in {i["name"] for i in inspector.get_indexes("exchanges")}:
        op.create_index("ix_exchanges_user_hash", "exchanges", ["user_hash"])
    if "sessions" not in present:
        op.create_table(
            "sessions",
            sa.Column("key", sa.String(64), primary_key=True),
            sa.Column("used", sa.Float, nullable=False),
            sa.Column("turns", sa.Text, nullable=False),
        )
        op.create_index("ix_sessions_used", "sessions", ["used"])
    if "buckets" not in present:
        op.create_table(
            "buckets",
            sa.Column("key", sa.String(64), primary_key=True),
            sa.Column("tokens", sa.Float, nullable=False),
            sa.Column("updated", sa.Float, nullable=False),
        )
        op.create_index("ix_buckets_updated", "buckets", ["updated"])


def downgrade() -> None:
    op.drop_table("buckets")
    op.drop_table("sessions")
    op.drop_index("ix_exchanges_user_hash", table_name="exchanges")
    with op.batch_alter_table("exchanges") as batch:  # SQLite rebuilds the table to drop one
        batch.drop_column("user_hash")
