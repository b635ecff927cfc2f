"""The API's own reads: who sees which entries, and JSON shapes of the shared stats.

Everything else (filters, search, sorting annotations, facet counts, stats) comes from
projects.selectors and projects.search, as on the web pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q
from psycopg.adapt import Loader

from projects.models import (
    Finding,
    Health,
    Maintainer,
    Project,
    Publication,
)
from projects.permissions import is_moderator
from projects.selectors import (
    ListParams,
    category_tree,
    directory_stats,
    facet_counts,
)


def visible_projects(user, queryset=None):
    """Published entries for everyone; staff see all; a signed-in user also sees the
    unpublished entries they maintain or submitted. Every API path starts here."""
    queryset = queryset if queryset is not None else Project.objects.all()
    if is_moderator(user):
        return queryset
    if user is None or not user.is_authenticated:
        return queryset.filter(publication=Publication.PUBLISHED)
    # Submitters are recorded as (unverified) maintainers of what they submitted.
    maintains = Maintainer.objects.filter(project=OuterRef("pk"), user=user)
    return queryset.filter(Q(publication=Publication.PUBLISHED) | Exists(maintains))


def category_tree_with_counts() -> list[dict[str, Any]]:
    """The two-level tree; ``count`` is the published entries listed in a category, by
    primary category or second_path, a pillar's including its subcategories' (each entry
    once): the same numbers as the web page's category facet."""
    counts = facet_counts(ListParams(show_archived=True))["category"]

    def node(category, path: str) -> dict[str, Any]:
        return {
            "slug": category.slug,
            "name": category.name,
            "path": path,
            "guide": category.guide,
            "count": counts.get(category.slug, 0),
        }

    return [
        {
            **node(pillar, pillar.name),
            "children": [node(sub, f"{pillar.name} / {sub.name}") for sub in subcategories],
        }
        for pillar, subcategories in category_tree()
    ]


def api_stats() -> dict[str, Any]:
    """The /stats/ page's numbers (projects.selectors.directory_stats) as plain JSON, plus
    the open findings by kind."""
    stats = directory_stats()
    by_kind = dict(
        Finding.objects.filter(state=Finding.State.OPEN, project__publication=Publication.PUBLISHED)
        .order_by()
        .values_list("kind")
        .annotate(n=Count("pk"))
        .values_list("kind", "n")
    )
    return {
        "projects": stats["total"],
        "by_pillar": [
            {
                "slug": p["category"].slug,
                "name": p["category"].name,
                "count": p["count"],
                "subcategories": [{"name": name, "count": n} for name, n in p["rows"]],
            }
            for p in stats["pillars"]
        ],
        "by_health": {value: n for _label, n, value in stats["health"]},
        "by_maturity": {value: n for _label, n, value in stats["maturity"]},
        "by_last_activity": [{"label": label, "count": n} for label, n in stats["activity"]],
        "licenses": [{"license": name, "count": n} for name, n in stats["licenses"]],
        "added_per_year": [
            {"year": year, "count": n} for year, n in stats["added"] if year is not None
        ],
        "open_findings": {"total": sum(by_kind.values()), "by_kind": by_kind},
    }


# --- Entries for a page of the API, in one query --------------------------------------------


def entry_rows(ids: list[int]) -> list[list]:
    """The entries ``ids``, in that order, as rows of everything ProjectSerializer shows
    (api.serializers.ProjectRepresentation.from_row reads them): one call of the
    PostgreSQL function api_entry_rows (api/entry_sql.py), whose plan the session keeps,
    for a page of the API's list without model instances or prefetches. Timestamps come
    formatted as in UTC (the caller checks that it is current)."""
    from django.db import connection

    if not ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_entry_rows(%s::bigint[])", [list(ids)])
        by_id = {row[0][0]: row[0] for row in cursor.fetchall()}
    return [by_id[pk] for pk in ids if pk in by_id]


# --- A page of the public list by stars, from stored bodies ---------------------------------


@dataclass(frozen=True)
class StoredPage:
    count: int  # the entries the filters keep (FacetCount rows)
    category_known: bool  # False: the category slug names no category
    bodies: list[tuple]  # (None, plain, UTF-8 body) of the page's entries, in order


class _TextAsBytes(Loader):
    """psycopg loader: a text column as its UTF-8 bytes (the connection's encoding)."""

    def load(self, data) -> bytes:
        return bytes(data)


def stored_page(params: ListParams, *, offset: int, limit: int) -> StoredPage:
    """The count and the stored bodies (api_entrybody) of a page of the published entries
    that ``params``' category and health keep, by stars: one call of the PostgreSQL function
    api_public_page (api/entry_body_sql.py), whose plan the session keeps."""
    from django.db import connection

    # Comma-separated: a text parameter is cheaper to send than an array (the values are
    # Health values, checked by the caller).
    healths = ",".join(dict.fromkeys(params.health))
    ranges = healths or ",".join(h.value for h in Health)
    with connection.cursor() as cursor:
        # The bodies as the bytes PostgreSQL sends (UTF-8, Django's client encoding): the
        # response is bytes, and decoding 60 KB only to encode it again costs more than
        # the rest of the read.
        cursor.cursor.adapters.register_loader("text", _TextAsBytes)
        cursor.execute(
            "SELECT total, plain, body FROM api_public_page(%s, %s, %s, %s, %s)",
            [params.category, healths, ranges, offset, limit],
        )
        rows = cursor.fetchall()
    if not rows:
        return StoredPage(count=0, category_known=False, bodies=[])
    return StoredPage(count=int(rows[0][0]), category_known=True, bodies=rows[1:])


def baked_url_paths() -> list[str] | None:
    """The URL paths the stored bodies were written with (api_entry_body_paths(), installed
    by the migration); None where there is no such function (not PostgreSQL)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_entry_body_paths()")
        return list(cursor.fetchone()[0])
