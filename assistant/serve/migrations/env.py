"""How Alembic runs the revisions: on the connection the caller hands over (see upgrade)."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("migrations run through assistant.serve.migrations.upgrade(engine)")
context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
