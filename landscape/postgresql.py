"""Migration operations for SQL that only PostgreSQL runs: the search column, the triggers
behind the denormalized lists and the API's stored bodies, and their functions. Elsewhere
(SQLite, for `make run`) the code reads without them."""

from __future__ import annotations

from collections.abc import Callable

from django.db import migrations

Sql = str | Callable[[], str]


def run_on_postgresql(forward: Sql, backward: Sql | None = None) -> migrations.RunPython:
    """Execute ``forward`` (SQL text, or a function giving it when the migration runs) on
    PostgreSQL, and ``backward`` when the migration is reversed (nothing if None)."""
    return migrations.RunPython(
        _executor(forward),
        _executor(backward) if backward is not None else migrations.RunPython.noop,
    )


def _executor(sql: Sql):
    def execute(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql() if callable(sql) else sql)

    return execute
