"""The baseline: the tables as the releases before migrations created them.

A database written by one of those releases keeps its tables and rows: only a table it lacks
is created (the oldest have no `checks`).

Revision ID: 0001
Revises: none
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    present = set(sa.inspect(op.get_bind()).get_table_names())
    if "exchanges" not in present:
        op.create_table(
            "exchanges",
            sa.Column("message_id", sa.String(64), primary_key=True),
            sa.Column("created", sa.String(32), nullable=False),
            sa.Column("client", sa.String(100), nullable=False),
            sa.Column("session_id", sa.String(64)),
            sa.Column("question", sa.Text, nullable=False),
            sa.Column("answer", sa.Text, nullable=False),
            sa.Column("citations", sa.Text, nullable=False),
            sa.Column("abstained", sa.Boolean, nullable=False),
            sa.Column("mode", sa.String(20), nullable=False),
            sa.Column("intent", sa.String(40), nullable=False),
            sa.Column("latency_ms", sa.Float, nullable=False),
        )
        op.create_index("ix_exchanges_created", "exchanges", ["created"])
    if "feedback" not in present:
        op.create_table(
            "feedback",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("message_id", sa.String(64), nullable=False),
            sa.Column("rating", sa.Integer, nullable=False),
            sa.Column("comment", sa.Text),
            sa.Column("created", sa.String(32), nullable=False),
        )
        op.create_index("ix_feedback_message_id", "feedback", ["message_id"])
    if "checks" not in present:
        op.create_table(
            "checks",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("created", sa.String(32), nullable=False),
            sa.Column("question", sa.Text, nullable=False),
            sa.Column("expect", sa.Text, nullable=False),
            sa.Column("abstain", sa.Boolean, nullable=False),
            sa.Column("ran", sa.String(32)),
            sa.Column("trigger", sa.String(20)),
            sa.Column("index_version", sa.String(64)),
            sa.Column("passed", sa.Boolean),
            sa.Column("was_passed", sa.Boolean),
            sa.Column("excerpt", sa.Text),
            sa.Column("fingerprint", sa.String(16)),
            sa.Column("changed", sa.Boolean),
        )


def downgrade() -> None:
    for table in ("checks", "feedback", "exchanges"):
        op.drop_table(table)
