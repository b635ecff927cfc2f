from django.conf import settings
from django.db import migrations

from api import entry_sql


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(entry_sql.INSTALL)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(entry_sql.UNINSTALL)


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0001_initial"),
        ("projects", "0006_denormalized_lists"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(install, uninstall)]
