"""Drop the varchar_pattern_ops ("_like") indexes Django adds beside every indexed or unique
CharField on PostgreSQL, where no query asks a LIKE they could answer: maturity,
publication and health are compared for equality (their plain indexes serve that), and
name's only prefix test is case-insensitive (UPPER(name) LIKE, which they cannot serve);
repo_url is looked up whole. None was read once in a full load benchmark. Each cost every
insert and every update that is not heap-only a write, which the import of 100,000
entries pays (issue 7: <= 120 s). Slug's stays: the planner reads it for slug lookups.

The names are Django's own for these columns (a hash of table and column), so a later
AlterField that drops them finds them gone (Django drops with IF EXISTS)."""

from django.db import migrations

from landscape.postgresql import run_on_postgresql

UNUSED = {
    "projects_project_name_1ecf4961_like": "name",
    "projects_project_repo_url_0366c00f_like": "repo_url",
    "projects_project_maturity_d5bae94e_like": "maturity",
    "projects_project_publication_c4596686_like": "publication",
    "projects_project_health_2f554f6e_like": "health",
}

DROP = "\n".join(f"DROP INDEX IF EXISTS {name};" for name in UNUSED)
CREATE = "\n".join(
    f"CREATE INDEX IF NOT EXISTS {name} ON projects_project ({column} varchar_pattern_ops);"
    for name, column in UNUSED.items()
)


class Migration(migrations.Migration):
    dependencies = [("projects", "0010_sort_indexes")]

    operations = [run_on_postgresql(DROP, CREATE)]
