import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from api import entry_body_sql


def install(apps, schema_editor):
    # Triggers and the bodies of the entries already there (PostgreSQL only).
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(entry_body_sql.install_sql())


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(entry_body_sql.UNINSTALL)


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
        migrations.RunPython(install, uninstall),
    ]
