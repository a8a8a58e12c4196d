"""Run the Alembic migrations (the ``release`` process, ``make run``, the embedded startup)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from service.settings import Settings, get_settings

__all__ = ["upgrade"]

MIGRATIONS = Path(__file__).parent / "migrations"


def upgrade(settings: Settings | None = None) -> None:
    settings = settings or get_settings()
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["sqlalchemy_url"] = settings.sqlalchemy_url
    if settings.sqlalchemy_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    command.upgrade(config, "head")


if __name__ == "__main__":
    upgrade()
    print("agentq: database is at the latest migration")
