"""Alembic environment: migrates the database named by the settings (or the config)."""

from __future__ import annotations

from alembic import context

from service.settings import Settings
from service.store.engine import make_engine
from service.store.tables import metadata

config = context.config
url = config.attributes.get("sqlalchemy_url")
settings = Settings(database_url=url) if url else Settings()
engine = make_engine(settings, pool_size=1)

try:
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
finally:
    engine.dispose()
