"""Alembic environment: the connection comes from leadscore.store.db.upgrade."""

from __future__ import annotations

from alembic import context

from leadscore.store.tables import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # `alembic` run by hand: use the URL in the config
    import sqlalchemy as sa

    engine = sa.create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
