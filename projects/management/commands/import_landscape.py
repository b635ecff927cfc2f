from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from projects.landscape_yml import LandscapeFormatError
from projects.management.commands._progress import progress_bar
from projects.services import landscape_import


class Command(BaseCommand):
    help = "Import (upsert) a landscape2 landscape.yml into the directory, in one transaction."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="the landscape2 data file (landscape.yml)")
        parser.add_argument("--logos", type=Path, help="folder holding the files that logo: names")
        parser.add_argument("--guide", type=Path, help="landscape2 guide.yml for category texts")
        parser.add_argument(
            "--dry-run", action="store_true", help="validate and report, write nothing"
        )
        parser.add_argument(
            "--user", help="username the changes are recorded under in each entry's history"
        )

    def handle(
        self,
        *args,
        path: Path,
        logos: Path | None,
        guide: Path | None,
        dry_run: bool,
        user: str | None = None,
        **options,
    ):
        actor = None
        if user:
            from django.contrib.auth import get_user_model

            actor = get_user_model().objects.filter(username=user).first()
            if actor is None:
                raise CommandError(f"--user {user}: no such user")
        try:
            text = path.read_text(encoding="utf-8")
            guide_text = guide.read_text(encoding="utf-8") if guide else None
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {exc.filename or path}: {exc}") from exc
        if logos and not logos.is_dir():
            raise CommandError(f"--logos {logos} is not a folder")
        try:
            summary = landscape_import(
                text=text,
                logos_dir=logos,
                guide_text=guide_text,
                dry_run=dry_run,
                progress=progress_bar(self.stderr._out, description="importing"),
                actor=actor,
            )
        except LandscapeFormatError as exc:
            raise CommandError(f"{path}: {exc} — nothing was imported") from exc

        width = max([len(r[0]) for r in summary.rows()] + [8])
        self.stdout.write(f"{'category':<{width}}  created  updated  unchanged")
        for name, created, updated, unchanged in summary.rows():
            self.stdout.write(f"{name:<{width}}  {created:>7}  {updated:>7}  {unchanged:>9}")
        created = sum(summary.created.values())
        updated = sum(summary.updated.values())
        unchanged = sum(summary.unchanged.values())
        self.stdout.write(
            f"{'total':<{width}}  {created:>7}  {updated:>7}  {unchanged:>9}"
            f"   ({summary.categories_created} categories created, "
            f"{summary.logos_stored} logos stored)"
        )
        if dry_run:
            self.stdout.write(self.style.WARNING("dry run: nothing was written"))
        else:
            self.stdout.write(self.style.SUCCESS(f"imported {summary.total} entries from {path}"))
