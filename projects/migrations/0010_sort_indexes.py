"""Indexes for the sorts a list offers besides landscape order, stars (project_stars_order)
and relevance: without them the first page of any of them sorted every published entry
(70-110 ms at 100,000 entries). Partial, as the public only lists published entries.
PostgreSQL only: SQLite refuses NULLS LAST in an index, and `make run` is small.

Not ``updated``: every save changes it, so an index on it would make every update of an
entry write a new entry in each of its indexes (no heap-only update); with it, the import
of 100,000 entries took 121 s against 109 s."""

from django.db import migrations

from landscape.postgresql import run_on_postgresql

INDEXES = {
    # The web list's "name" (the API's ordering=name reads the unique index on name).
    "project_name_order": "lower(name), id",
    # The web list's "latest activity".
    "project_activity_order": "last_activity DESC NULLS LAST, lower(name), id",
    # The web list's "recently added" (read backwards) and the API's ordering=[-]created.
    "project_created_order": "created, id",
}

CREATE = "\n".join(
    f"CREATE INDEX IF NOT EXISTS {name} ON projects_project ({columns})"
    " WHERE publication = 'published';"
    for name, columns in INDEXES.items()
)
DROP = "\n".join(f"DROP INDEX IF EXISTS {name};" for name in INDEXES)


class Migration(migrations.Migration):
    dependencies = [("projects", "0009_entry_page_primary_repository")]

    operations = [run_on_postgresql(CREATE, DROP)]
