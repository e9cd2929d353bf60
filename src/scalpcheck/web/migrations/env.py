"""Alembic environment: migrate the database of the current Flask app (Flask-Migrate's layout)."""

from alembic import context
from flask import current_app

config = context.config
migrate_config = current_app.extensions["migrate"]
target_metadata = migrate_config.db.metadata


def run_migrations_offline() -> None:
    """Print the SQL for a database that is not at hand (`--sql`)."""
    url = migrate_config.db.engine.url.render_as_string(hide_password=False)
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    with migrate_config.db.engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=target_metadata, **migrate_config.configure_args
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
