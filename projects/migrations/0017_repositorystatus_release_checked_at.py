"""When the forge last told a repository's latest release. Until now every answer that
found a repository told its release too, so the rows found so far knew it at their last
answer."""

from django.db import migrations, models

BACKFILL = """
UPDATE projects_repositorystatus SET release_checked_at = last_found_at
 WHERE last_found_at IS NOT NULL
"""


class Migration(migrations.Migration):
    dependencies = [("projects", "0016_entry_name_validator")]

    operations = [
        migrations.AddField(
            model_name="repositorystatus",
            name="release_checked_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunSQL(BACKFILL, reverse_sql=migrations.RunSQL.noop),
    ]
