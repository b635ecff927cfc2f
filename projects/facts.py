"""The columns an entry copies from its primary repository's status and its findings.

Lists filter and sort on ``Project.health``, ``stars``, ``last_activity``, ``pushed_at``,
``license`` and ``has_open_findings`` so that a page of 100,000 entries reads one table;
this module is the one place that derives them. Signals call it for single saves
(projects.web.signals); bulk writers (imports, the benchmark's generator, the migrations)
call it themselves.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Exists, F, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from projects.models import Finding, Project, RepositoryStatus


def _primary():
    return RepositoryStatus.objects.filter(project=OuterRef("pk"), is_primary=True).order_by("pk")


def project_facts_sync(*, project_ids: Iterable[int] | None = None) -> int:
    """Recompute the copied columns of these entries (all when None); returns the number of
    entries updated. Only entries whose columns change are written: a write fires the
    Listing and FacetCount triggers, and most refreshes change nothing an entry copies."""
    queryset = Project.objects.all()
    if project_ids is not None:
        ids = sorted({int(i) for i in project_ids})
        if not ids:
            return 0
        queryset = queryset.filter(pk__in=ids)
    columns = {
        # An entry without a primary repository keeps the health it has.
        "health": Coalesce(Subquery(_primary().values("health")[:1]), F("health")),
        "stars": Subquery(_primary().values("stars")[:1]),
        "last_activity": Subquery(
            _primary()
            .annotate(latest=Coalesce("pushed_at", "last_commit_at", "last_release_at"))
            .values("latest")[:1]
        ),
        "pushed_at": Subquery(_primary().values("pushed_at")[:1]),
        "license": Coalesce(Subquery(_primary().values("license")[:1]), Value("")),
        "has_open_findings": Exists(
            Finding.objects.filter(project=OuterRef("pk"), state=Finding.State.OPEN)
        ),
    }
    if project_ids is None:
        return queryset.update(**columns)
    fresh = queryset.annotate(**{f"new_{k}": v for k, v in columns.items()}).values(
        "pk", *columns, *(f"new_{k}" for k in columns)
    )
    stale = [row["pk"] for row in fresh if any(row[k] != row[f"new_{k}"] for k in columns)]
    if not stale:
        return 0
    return Project.objects.filter(pk__in=stale).update(**columns)
