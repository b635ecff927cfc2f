from django.db import migrations

from landscape.postgresql import run_on_postgresql
from projects import entry_page_sql


class Migration(migrations.Migration):
    dependencies = [("projects", "0008_entry_page_function")]

    # CREATE OR REPLACE: the page's primary repository alone, and alternatives read with
    # the same tile columns as the related entries.
    operations = [run_on_postgresql(entry_page_sql.INSTALL)]
