"""The columns an entry copies from its primary repository's status and its findings.

Lists filter and sort on ``Project.stars``, ``last_activity``, ``license`` and
``has_open_findings`` so that a page of 100,000 entries reads one table; this module is
the one place that derives them. Signals call it for single saves (projects.web.signals);
bulk writers (imports, the benchmark's generator, the migration) call it themselves.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Exists, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from projects.models import Finding, Project, RepositoryStatus


def _primary():
    return RepositoryStatus.objects.filter(project=OuterRef("pk"), is_primary=True).order_by("pk")


def project_facts_sync(*, project_ids: Iterable[int] | None = None) -> int:
    """Recompute the copied columns of these entries (all when None) in one UPDATE;
    returns the number of entries updated."""
    queryset = Project.objects.all()
    if project_ids is not None:
        ids = sorted({int(i) for i in project_ids})
        if not ids:
            return 0
        queryset = queryset.filter(pk__in=ids)
    stars = Subquery(_primary().values("stars")[:1])
    last_activity = Subquery(
        _primary()
        .annotate(latest=Coalesce("pushed_at", "last_commit_at", "last_release_at"))
        .values("latest")[:1]
    )
    license_ = Coalesce(Subquery(_primary().values("license")[:1]), Value(""))
    open_findings = Exists(Finding.objects.filter(project=OuterRef("pk"), state=Finding.State.OPEN))
    return queryset.update(
        stars=stars, last_activity=last_activity, license=license_, has_open_findings=open_findings
    )
