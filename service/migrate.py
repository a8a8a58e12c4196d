"""Run the Alembic migrations (the ``release`` process, ``make run``, the embedded startup)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from service.settings import Settings, get_settings
from service.store.engine import make_engine

__all__ = ["pending", "upgrade"]

MIGRATIONS = Path(__file__).parent / "migrations"


def _config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["sqlalchemy_url"] = settings.sqlalchemy_url
    return config


def pending(settings: Settings) -> list[str]:
    """The revisions not applied yet, oldest first, as ``"0005: what it does"``."""
    script = ScriptDirectory.from_config(_config(settings))
    engine = make_engine(settings, pool_size=1)
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_heads()
    finally:
        engine.dispose()
    steps = script.iterate_revisions("heads", current[0] if current else "base")
    return [f"{rev.revision}: {rev.doc}" for rev in reversed(list(steps))]


def upgrade(
    settings: Settings | None = None, progress: Callable[[str], None] | None = None
) -> None:
    """Bring the database to the latest migration; ``progress`` hears of each step first."""
    settings = settings or get_settings()
    if settings.sqlalchemy_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    config = _config(settings)
    if progress is None:
        command.upgrade(config, "head")
        return
    for step in pending(settings):
        progress(step)
        command.upgrade(config, step.split(":", 1)[0])


if __name__ == "__main__":
    upgrade(progress=lambda step: print(f"agentq: migrating {step}", flush=True))
    print("agentq: database is at the latest migration")
