"""Migration operations for SQL that only PostgreSQL runs: the search column, the triggers
behind the denormalized lists and the API's stored bodies, and their functions. Elsewhere
(a sqlite:// DATABASE_URL, which only some tests still give) the code reads without them."""

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


# What each statement-level trigger event can see of the rows it wrote.
_TRANSITION_TABLES = {
    "INSERT": "REFERENCING NEW TABLE AS new_rows",
    "UPDATE": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "DELETE": "REFERENCING OLD TABLE AS old_rows",
}
ALL_EVENTS = ("INSERT", "UPDATE", "DELETE")


def statement_triggers(table: str, function: str, prefix: str, events=ALL_EVENTS) -> str:
    """``CREATE TRIGGER <prefix>_<event>`` on ``table`` for each event, once per statement,
    with the statement's rows as ``new_rows`` and ``old_rows``: a bulk write of 100,000
    rows runs ``function`` once, over all of them."""
    return "".join(
        f"CREATE TRIGGER {prefix}_{event.lower()} AFTER {event} ON {table}"
        f" {_TRANSITION_TABLES[event]} FOR EACH STATEMENT EXECUTE FUNCTION {function}();\n"
        for event in events
    )


def drop_triggers(table: str, prefix: str, events=ALL_EVENTS) -> str:
    """The DROP TRIGGER statements undoing statement_triggers(table, ..., prefix, events)."""
    return "".join(f"DROP TRIGGER IF EXISTS {prefix}_{e.lower()} ON {table};\n" for e in events)
