from django.db import migrations

from landscape.postgresql import run_on_postgresql
from projects import facet_sql


class Migration(migrations.Migration):
    dependencies = [("projects", "0006_denormalized_lists")]

    # CREATE OR REPLACE: the entry trigger updates Listing rows in place when only the
    # name or the stars change (FacetCount untouched).
    operations = [run_on_postgresql(facet_sql.FUNCTIONS)]
