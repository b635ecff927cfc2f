"""Search: a denormalized category-names column everywhere; on PostgreSQL also a stored,
weighted tsvector (name A; tags and categories B; description C) with a GIN index, and
pg_trgm with a trigram GIN index on the name. SQLite only gets the plain column."""

from django.db import migrations, models

from landscape.postgresql import run_on_postgresql

SEARCH_VECTOR_SQL = """
ALTER TABLE projects_project ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english'::regconfig, coalesce(name, '')), 'A')
    || setweight(
        jsonb_to_tsvector('english'::regconfig, coalesce(tags, '[]'::jsonb), '["string"]'), 'B'
    )
    || setweight(to_tsvector('english'::regconfig, coalesce(search_categories, '')), 'B')
    || setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'C')
) STORED;
CREATE INDEX projects_project_search_vector_gin ON projects_project USING gin (search_vector);
CREATE INDEX projects_project_name_trgm_gin
    ON projects_project USING gin (lower(name) gin_trgm_ops);
"""

# pg_trgm first: the trigram index needs it.
FORWARD_SQL = "CREATE EXTENSION IF NOT EXISTS pg_trgm;\n" + SEARCH_VECTOR_SQL

REVERSE_SQL = """
DROP INDEX IF EXISTS projects_project_name_trgm_gin;
DROP INDEX IF EXISTS projects_project_search_vector_gin;
ALTER TABLE projects_project DROP COLUMN IF EXISTS search_vector;
"""


def fill_search_categories(apps, schema_editor):
    Project = apps.get_model("projects", "Project")
    SecondaryCategory = apps.get_model("projects", "SecondaryCategory")
    for project in Project.objects.select_related("category__parent"):
        names = []
        for category in [project.category] + [
            sc.category
            for sc in SecondaryCategory.objects.filter(project=project).select_related(
                "category__parent"
            )
        ]:
            if category.parent_id:
                names.append(category.parent.name)
            names.append(category.name)
        text = " ".join(dict.fromkeys(names))
        Project.objects.filter(pk=project.pk).update(search_categories=text)


class Migration(migrations.Migration):

    dependencies = [
        ("projects", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="project",
            name="search_categories",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.RunPython(fill_search_categories, migrations.RunPython.noop),
        run_on_postgresql(FORWARD_SQL, REVERSE_SQL),
    ]
