"""The tables of the database that `ASSISTANT_DATABASE_URL` names (SQLite under the index
folder by default, PostgreSQL for several replicas).

Records for staff: the exchanges, their feedback and the saved checks. State the replicas
share, so that any of them can answer any request: the server-kept conversations and the
rate-limit buckets (per key, per key and end user, and the wrong-key counters per address).
Bucket and session keys are keyed hashes, never raw user ids or addresses.

A change here needs its revision in `migrations/versions/` as well: databases are created
and changed by the migrations, and tests/test_migrations.py checks that the two agree.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()
exchanges = sa.Table(
    "exchanges",
    metadata,
    sa.Column("message_id", sa.String(64), primary_key=True),
    sa.Column("created", sa.String(32), nullable=False, index=True),  # UTC ISO, sorts as text
    sa.Column("client", sa.String(100), nullable=False),  # API key name or "anonymous"
    sa.Column("session_id", sa.String(64)),
    # A keyed hash of the end user the app named (a mini-program's openid), never the id.
    sa.Column("user_hash", sa.String(64), index=True),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("answer", sa.Text, nullable=False),
    sa.Column("citations", sa.Text, nullable=False),  # JSON list of Citation.to_json()
    sa.Column("abstained", sa.Boolean, nullable=False),
    sa.Column("mode", sa.String(20), nullable=False),
    sa.Column("intent", sa.String(40), nullable=False),
    sa.Column("latency_ms", sa.Float, nullable=False),
)
feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("message_id", sa.String(64), nullable=False, index=True),
    sa.Column("rating", sa.Integer, nullable=False),  # +1 or -1
    sa.Column("comment", sa.Text),
    sa.Column("created", sa.String(32), nullable=False),
)
checks = sa.Table(
    "checks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created", sa.String(32), nullable=False),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("expect", sa.Text, nullable=False),  # JSON list: words the answer must hold
    sa.Column("abstain", sa.Boolean, nullable=False),  # the answer must say "not stated"
    # The last run (all None before the first): when, what ran it, against which index
    # version, its outcome, the start of the answer, a fingerprint of the whole answer (so a
    # change shows without keeping every answer), and whether it differs from the run before.
    sa.Column("ran", sa.String(32)),
    sa.Column("trigger", sa.String(20)),
    sa.Column("index_version", sa.String(64)),
    sa.Column("passed", sa.Boolean),
    sa.Column("was_passed", sa.Boolean),  # the outcome of the run before, None if none
    sa.Column("excerpt", sa.Text),
    sa.Column("fingerprint", sa.String(16)),
    sa.Column("changed", sa.Boolean),
)


# A conversation kept by the server: its last turns as JSON ([[role, text], …]), and when it
# was last used (epoch seconds, wall clock, so that every replica reads the same age).
sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),  # keyed hash of (key, user, session id)
    sa.Column("used", sa.Float, nullable=False, index=True),
    sa.Column("turns", sa.Text, nullable=False),
)
# A token bucket: the tokens left when it was last updated (epoch seconds, wall clock).
buckets = sa.Table(
    "buckets",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),  # keyed hash of the bucket's name
    sa.Column("tokens", sa.Float, nullable=False),
    sa.Column("updated", sa.Float, nullable=False, index=True),
)
