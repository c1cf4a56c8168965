"""Alembic runs on the connection Store hands it (see ``service.store.migrate``)."""

from alembic import context

context.configure(connection=context.config.attributes["connection"])
with context.begin_transaction():
    context.run_migrations()
