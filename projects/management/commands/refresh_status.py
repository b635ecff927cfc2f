import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from projects import status
from projects.management.commands._progress import progress_bar
from projects.models import Project, RepositoryStatus
from projects.tasks import BATCH_SIZE, check_links, enqueue_refresh


class Command(BaseCommand):
    help = (
        "Check repositories (and with --links, links) of the given entries, of every entry "
        "(--all), or of those due for a check (default). Queues Celery tasks unless --sync."
    )

    def add_arguments(self, parser):
        parser.add_argument("slugs", nargs="*", help="entries to check")
        parser.add_argument("--all", action="store_true", help="every published entry")
        parser.add_argument("--sync", action="store_true", help="run here, not on a worker")
        parser.add_argument("--links", action="store_true", help="check links as well")
        parser.add_argument(
            "--max-wait",
            type=float,
            default=900,
            help="with --sync, longest rate-limit wait (seconds) before giving up (default 900)",
        )

    def handle(self, *args, slugs, all, sync, links, max_wait, **options):
        if slugs and all:
            raise CommandError("give entry slugs or --all, not both")
        projects = Project.objects.published()
        if slugs:
            projects = projects.filter(slug__in=slugs)
            missing = sorted(set(slugs) - set(projects.values_list("slug", flat=True)))
            if missing:
                raise CommandError(f"no published entry with slug {', '.join(missing)}")
        status.repositories_sync(projects=projects.exclude(repo_url=None))
        if slugs or all:
            ids = list(
                RepositoryStatus.objects.filter(project__in=projects).values_list("pk", flat=True)
            )
        else:
            ids = status.repositories_due()
        project_ids = list(projects.values_list("pk", flat=True))

        if not sync:
            enqueue_refresh(ids)
            if links:
                check_links.delay(project_ids)
            self.stdout.write(
                f"queued {len(ids)} repositories"
                + (f" and the links of {len(project_ids)} entries" if links else "")
            )
            return

        total = status.RefreshReport()
        batches = [ids[i : i + BATCH_SIZE] for i in range(0, len(ids), BATCH_SIZE)]
        bar = progress_bar(self.stderr._out, description="repositories")
        for batch in bar(batches, len(batches)):
            pending = batch
            while pending:
                report = status.repositories_refresh(ids=pending)
                total.merge(report)
                pending = report.pending_ids
                if not pending:
                    break
                if not report.rate_limited_until:
                    break
                wait = (report.rate_limited_until - timezone.now()).total_seconds()
                if wait > max_wait:
                    self.stderr.write(
                        f"rate limited until {report.rate_limited_until:%H:%M:%S} UTC; "
                        f"{len(pending)} repositories left for the next run"
                    )
                    break
                time.sleep(max(wait, 0))  # the documented reset: waiting is the work here
        self.stdout.write(
            f"checked {total.checked}, failures {total.failures}, "
            f"health changes {total.health_changes}, new findings {total.new_findings}, "
            f"API requests {total.requests}, rate-limit waits {total.rate_limit_waits}"
            + (
                f", {len(total.deferred_ids)} skipped while a worker holds their lock"
                if total.deferred_ids
                else ""
            )
        )
        if links:
            link_report = status.links_check(project_ids=project_ids)
            if link_report.offline:
                self.stdout.write(
                    self.style.WARNING("links not checked: no reference site answered (offline?)")
                )
            else:
                self.stdout.write(
                    f"links checked {link_report.checked}, failing {link_report.broken}, "
                    f"new findings {link_report.new_findings}"
                )
