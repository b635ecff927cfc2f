from django.db import migrations

from projects import facet_sql


def install_functions(apps, schema_editor):
    # CREATE OR REPLACE: the entry trigger updates Listing rows in place when only the
    # name or the stars change (FacetCount untouched).
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(facet_sql.FUNCTIONS)


class Migration(migrations.Migration):
    dependencies = [("projects", "0006_denormalized_lists")]

    operations = [migrations.RunPython(install_functions, migrations.RunPython.noop)]
