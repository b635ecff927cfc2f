"""The columns an entry copies from its primary repository's status and its findings.

Lists filter and sort on ``Project.health``, ``stars``, ``last_activity``, ``pushed_at``,
``license`` and ``has_open_findings`` so that a page of 100,000 entries reads one table;
this module is the one place that derives them. Signals call it for single saves
(projects.web.signals); bulk writers (imports, the benchmark's generator, the migrations)
call it themselves. A worker that saves many rows of the same entries in a row (a refresh
batch, an entry's links) defers the signals' syncs to one at the end
(``project_facts_deferred``): each sync costs a few milliseconds, mostly compiling its
query, and a refresh asked for two or three per repository.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import DatabaseError, transaction
from django.db.models import Exists, F, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.db.transaction import TransactionManagementError

from projects.models import Finding, Project, RepositoryStatus

logger = logging.getLogger(__name__)

# The entries whose facts a deferring block (project_facts_deferred) will sync at its end.
_deferred: ContextVar[set[int] | None] = ContextVar("project_facts_deferred", default=None)


@contextmanager
def project_facts_deferred() -> Iterator[None]:
    """Within the block, the syncs that project_facts_changed() asks for are collected and
    run as one project_facts_sync() when the block ends. A block that raises still syncs
    what it wrote (its writes may be committed already), in a savepoint of its own: when
    the transaction around it is broken, that sync is given up, and the transaction rolls
    back the writes it would have described. A nested block leaves its syncs to the outer."""
    if _deferred.get() is not None:
        yield
        return
    pending: set[int] = set()
    token = _deferred.set(pending)
    try:
        yield
    except BaseException:
        if pending:
            try:
                with transaction.atomic():
                    project_facts_sync(project_ids=pending)
            except (DatabaseError, TransactionManagementError):
                logger.warning(
                    "facts of %d entries not synced: the transaction failed", len(pending)
                )
        raise
    else:
        if pending:
            project_facts_sync(project_ids=pending)  # an update(): it sends no signal
    finally:
        _deferred.reset(token)


def project_facts_changed(*, project_id: int) -> None:
    """A row this entry copies from changed: sync its facts now, or at the end of the
    enclosing project_facts_deferred() block."""
    pending = _deferred.get()
    if pending is None:
        project_facts_sync(project_ids=[project_id])
    else:
        pending.add(project_id)


def _primary():
    return RepositoryStatus.objects.filter(project=OuterRef("pk"), is_primary=True).order_by("pk")


def project_facts_sync(*, project_ids: Iterable[int] | None = None) -> int:
    """Recompute the copied columns of these entries (all when None); returns the number of
    entries updated. Only entries whose columns change are written: a write fires the
    Listing and FacetCount triggers, and most refreshes change nothing an entry copies."""
    if project_ids is None:
        return Project.objects.update(**_columns())
    ids = sorted({int(i) for i in project_ids})
    # Chunks keep each statement's parameters well under the drivers' limits.
    return sum(_sync_some(ids[i : i + SYNC_CHUNK]) for i in range(0, len(ids), SYNC_CHUNK))


SYNC_CHUNK = 2000


def _sync_some(ids: list[int]) -> int:
    columns = _columns()
    fresh = (
        Project.objects.filter(pk__in=ids)
        .annotate(**{f"new_{k}": v for k, v in columns.items()})
        .values("pk", *columns, *(f"new_{k}" for k in columns))
    )
    stale = [row["pk"] for row in fresh if any(row[k] != row[f"new_{k}"] for k in columns)]
    if not stale:
        return 0
    return Project.objects.filter(pk__in=stale).update(**columns)


def _columns() -> dict:
    return {
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
