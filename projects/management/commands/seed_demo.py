from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from projects.models import Project
from projects.services import landscape_import

DEMO_FILE = Path(settings.BASE_DIR) / "fixtures" / "landscape.yml"


class Command(BaseCommand):
    help = "Load the demo landscape (fixtures/landscape.yml) into an empty database."

    def handle(self, *args, **options):
        if Project.objects.exists():
            self.stdout.write("the directory already has entries: demo data not loaded")
            return
        summary = landscape_import(text=DEMO_FILE.read_text(encoding="utf-8"))
        self.stdout.write(self.style.SUCCESS(f"loaded {summary.total} demo entries"))
