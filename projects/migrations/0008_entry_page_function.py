from django.db import migrations

from landscape.postgresql import run_on_postgresql
from projects import entry_page_sql


class Migration(migrations.Migration):
    dependencies = [("projects", "0007_listing_order_in_place")]

    operations = [run_on_postgresql(entry_page_sql.INSTALL, entry_page_sql.UNINSTALL)]
