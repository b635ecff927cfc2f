from django.db import migrations

from landscape.postgresql import run_on_postgresql
from projects import entry_page_sql


class Migration(migrations.Migration):
    dependencies = [("projects", "0011_drop_unused_pattern_indexes")]

    # CREATE OR REPLACE: related entries filed in the category first, and the second_path
    # listings read only while there is room (projects.selectors.related_entries).
    operations = [run_on_postgresql(entry_page_sql.INSTALL)]
