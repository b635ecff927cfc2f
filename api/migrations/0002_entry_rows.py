from django.conf import settings
from django.db import migrations

from api import entry_sql
from landscape.postgresql import run_on_postgresql


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0001_initial"),
        ("projects", "0006_denormalized_lists"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [run_on_postgresql(entry_sql.INSTALL, entry_sql.UNINSTALL)]
