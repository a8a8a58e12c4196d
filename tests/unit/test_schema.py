"""The schema in ``service.store.tables`` says what the migrations build: every CHECK constraint
of the models is in the migrated database, by name and to the letter, and no other is.

The CHECKs that list a closed set of values are built from the domain's enums; this is what
tells a new member (or a reordered one) that it needs a migration."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from service.migrate import upgrade
from service.settings import Settings
from service.store.tables import metadata


def _model_checks() -> set[tuple[str, str, str]]:
    checks = set()
    for table in metadata.sorted_tables:
        for constraint in table.constraints:
            if isinstance(constraint, sa.CheckConstraint):
                checks.add((table.name, str(constraint.name), str(constraint.sqltext)))
    return checks


def _migrated_checks(data_dir: Path) -> set[tuple[str, str, str]]:
    settings = Settings(database_url=None, data_dir=data_dir)
    upgrade(settings)
    engine = sa.create_engine(settings.sqlalchemy_url)
    try:
        inspector = sa.inspect(engine)
        return {
            (table, check["name"], check["sqltext"])
            for table in inspector.get_table_names()
            for check in inspector.get_check_constraints(table)
        }
    finally:
        engine.dispose()


def test_the_models_check_constraints_are_the_migrations(tmp_path: Path) -> None:
    models, migrated = _model_checks(), _migrated_checks(tmp_path)
    assert models, "the models declare CHECK constraints"
    assert models - migrated == set(), "in the models, not in the migrations"
    assert migrated - models == set(), "in the migrations, not in the models"
