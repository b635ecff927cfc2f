from django.core.management.base import BaseCommand

from projects.status import status_report_rows


class Command(BaseCommand):
    help = "Every published entry's health, its evidence and its open findings."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="a JSON list of objects")

    def handle(self, *args, json: bool = False, **options):
        rows = status_report_rows()
        if json:
            import json as json_module

            self.stdout.write(json_module.dumps(rows, indent=2))
            return
        for row in rows:
            evidence = "; ".join(row["evidence"]) or "-"
            self.stdout.write(f"{row['slug']:<40} {row['health']:<9} {evidence}")
            for finding in row["findings"]:
                self.stdout.write(f"    ! {finding['kind']}: {'; '.join(finding['words'])}")
