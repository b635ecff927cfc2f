import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from api import entry_body_sql
from landscape.postgresql import run_on_postgresql


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0002_entry_rows"),
        ("projects", "0007_listing_order_in_place"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="EntryBody",
            fields=[
                (
                    "project",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="projects.project",
                    ),
                ),
                ("plain", models.BooleanField()),
                ("body", models.TextField()),
            ],
        ),
        # Today's URL paths are baked into the bodies: computed when the migration runs.
        run_on_postgresql(entry_body_sql.install_sql, entry_body_sql.UNINSTALL),
    ]
