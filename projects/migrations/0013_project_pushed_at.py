"""The primary repository's last push, copied onto the entry like ``stars`` and
``last_activity`` (projects.facts): the API's ``ordering=pushed_at``, ``pushed_after`` and
``pushed_before`` read it from a subquery per entry, 376 ms for a first page at 100,000
entries. With its index, a first page by latest push reads 50 index entries (as
project_activity_order does for the web list's latest activity); the ascending order, a
rarer question, sorts."""

from django.db import migrations, models

from landscape.postgresql import run_on_postgresql

# Portable SQL (PostgreSQL and SQLite), as projects.facts.project_facts_sync computes it.
BACKFILL = """
UPDATE projects_project SET
    pushed_at = (SELECT rs.pushed_at FROM projects_repositorystatus rs
                  WHERE rs.project_id = projects_project.id AND rs.is_primary
                  ORDER BY rs.id LIMIT 1)
"""


INDEX = (
    "CREATE INDEX IF NOT EXISTS project_pushed_order ON projects_project"
    " (pushed_at DESC NULLS LAST, lower(name), id) WHERE publication = 'published';"
)


def backfill(apps, schema_editor):
    schema_editor.execute(BACKFILL)


class Migration(migrations.Migration):
    dependencies = [("projects", "0012_entry_page_related_filed_first")]

    operations = [
        migrations.AddField(
            model_name="project",
            name="pushed_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        run_on_postgresql(INDEX, "DROP INDEX IF EXISTS project_pushed_order;"),
    ]
