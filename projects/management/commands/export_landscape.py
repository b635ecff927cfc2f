from pathlib import Path

from django.core.management.base import BaseCommand

from projects.selectors import landscape_export_yaml


class Command(BaseCommand):
    help = "Write the directory's published entries as a landscape2 landscape.yml."

    def add_arguments(self, parser):
        parser.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")

    def handle(self, *args, output: Path | None, **options):
        text = landscape_export_yaml()
        if output:
            output.write_text(text, encoding="utf-8")
            self.stderr.write(f"wrote {output}")
        else:
            self.stdout.write(text, ending="")
