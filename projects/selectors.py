"""The directory's reads, shared by the web pages, the API and the commands."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import PurePosixPath
from typing import Any, NamedTuple

from django.conf import settings
from django.db.models import BooleanField, Count, F, Func, OuterRef, Prefetch, Q, Value, Window
from django.db.models.fields.files import FieldFile
from django.db.models.functions import (
    Coalesce,
    ExtractYear,
    JSONObject,
    Lower,
    Replace,
    RowNumber,
    TruncDate,
)
from django.utils import timezone

from projects.disclosure import public_error
from projects.landscape_yml import dump_landscape, join_item, repository_key
from projects.models import (
    Category,
    Finding,
    Health,
    LinkStatus,
    Maintainer,
    Maturity,
    Project,
    Publication,
    RepositoryStatus,
    SecondaryCategory,
    Snapshot,
)
from projects.search import PreparedSearch, prepared_search


def category_tree() -> list[tuple[Category, list[Category]]]:
    """The pillars in display order, each with its subcategories in order: one query (a
    prefetch of the children took two, and more time in the ORM than in PostgreSQL)."""
    categories = list(Category.objects.order_by("position", "id"))
    children: dict[int | None, list[Category]] = {}
    for category in categories:
        children.setdefault(category.parent_id, []).append(category)
    return [(pillar, children.get(pillar.pk, [])) for pillar in children.get(None, [])]


def project_as_item(project: Project) -> dict[str, Any]:
    """One entry as a landscape2 item (the inverse of the importer's mapping)."""
    fields = {
        "name": project.name,
        "description": project.description,
        "homepage_url": project.homepage_url,
        "logo_name": PurePosixPath(project.logo.name).name if project.logo else "",
        "repo_url": project.repo_url,
        "repo_branch": project.repo_branch,
        "additional_repos": project.additional_repos,
        "documentation_url": project.documentation_url,
        "other_links": project.other_links,
        "tags": project.tags,
        "maturity": project.maturity,
        "accepted_at": project.accepted_at,
        "joined_at": project.joined_at,
        "organization": project.organization,
        "twitter_url": project.twitter_url,
        "crunchbase_url": project.crunchbase_url,
    }
    second_path = [
        f"{sc.category.parent.name} / {sc.category.name}"
        for sc in project.secondarycategory_set.all()
    ]
    return join_item(fields, project.landscape_extra or {}, second_path)


def landscape_export_data(*, queryset=None) -> list[dict[str, Any]]:
    """Categories with their published entries, in display order, as landscape2 data."""
    projects = (
        (queryset if queryset is not None else Project.objects.published())
        .prefetch_related(
            Prefetch(
                "secondarycategory_set",
                queryset=SecondaryCategory.objects.select_related("category__parent").order_by(
                    "position"
                ),
            )
        )
        .order_by("position", "id")
    )
    by_category: dict[int, list[Project]] = {}
    for project in projects:
        by_category.setdefault(project.category_id, []).append(project)
    return [
        {
            "name": pillar.name,
            "subcategories": [
                {
                    "name": sub.name,
                    "items": [project_as_item(p) for p in by_category.get(sub.pk, [])],
                }
                for sub in subcategories
            ],
        }
        for pillar, subcategories in category_tree()
    ]


def landscape_export_yaml() -> str:
    return dump_landscape(landscape_export_data())


# --- Lists: filters and search shared by the web pages and the API ---------------------


def category_with_descendants(slug: str) -> list[int]:
    """Ids of the category with this slug and of its subcategories (empty if unknown)."""
    return list(
        Category.objects.filter(Q(slug=slug) | Q(parent__slug=slug)).values_list("pk", flat=True)
    )


def _in_category(slug: str) -> Q:
    """Entries in this category or below it, by primary category or through second_path.

    The slug is resolved to ids first (one small query): a condition on the entry's own
    category_id can use its index, where a join on the category's slug cannot.
    """
    ids = category_with_descendants(slug)
    listed_there = SecondaryCategory.objects.filter(category_id__in=ids).values("project_id")
    return Q(category_id__in=ids) | Q(pk__in=listed_there)


def project_filter(
    queryset,
    *,
    category: str | None = None,
    maturity: list[str] | None = None,
    health: list[str] | None = None,
    license: str | None = None,
    has_findings: bool | None = None,
    show_archived: bool = True,
):
    """Narrow a Project queryset; every argument means the same on the web pages and the API.

    ``category`` is a slug (a pillar includes its subcategories; an entry listed there
    through second_path counts too). ``maturity`` accepts ``none`` for entries without
    one. ``license`` is the primary repository's. No argument adds a join that could
    repeat rows, so the result needs no ``distinct()`` and keeps any ordering.
    """
    if category:
        queryset = queryset.filter(_in_category(category))
    if maturity:
        values = ["" if m == "none" else m for m in maturity]
        queryset = queryset.filter(maturity__in=values)
    if health:
        queryset = queryset.filter(health__in=health)
    if license:
        queryset = queryset.filter(license=license)
    if has_findings is not None:
        queryset = queryset.filter(has_open_findings=has_findings)
    if not show_archived:
        queryset = queryset.exclude(maturity=Maturity.ARCHIVED)
    return queryset


# --- Sorting -----------------------------------------------------------------------------

SORT_RELEVANCE = "relevance"
SORT_CHOICES = [
    (SORT_RELEVANCE, "relevance"),
    ("name", "name"),
    ("stars", "stars"),
    ("activity", "latest activity"),
    ("added", "recently added"),
]
SORTS = dict(SORT_CHOICES)


def with_repository_facts(queryset):
    """``license_name``: the primary repository's license. ``stars`` and ``last_activity``
    are the entry's own columns (copied from that repository by projects.facts)."""
    return queryset.annotate(license_name=F("license"))


def project_sort(queryset, sort: str | None):
    """Order by one of SORTS. ``relevance`` needs ``search_rank`` (project_search adds it);
    without a search it falls back to the landscape's own order. Needs
    with_repository_facts() for ``stars`` and ``activity``."""
    sort = sort or SORT_RELEVANCE
    if sort == "name":
        return queryset.order_by(Lower("name"), "pk")
    if sort == "stars":
        return queryset.order_by(F("stars").desc(nulls_last=True), Lower("name"), "pk")
    if sort == "activity":
        return queryset.order_by(F("last_activity").desc(nulls_last=True), Lower("name"), "pk")
    if sort == "added":
        return queryset.order_by("-created", "-pk")
    if "search_rank" in queryset.query.annotations:
        return queryset.order_by("-search_rank", Lower("name"), "pk")
    return queryset.order_by("category__position", "position", "pk")


# --- The public list: filters, search, facets --------------------------------------------


@dataclass(frozen=True)
class ListParams:
    """What a visitor asked the list for (the web form and the API both produce one)."""

    q: str = ""
    category: str = ""
    maturity: tuple[str, ...] = ()
    health: tuple[str, ...] = ()
    license: str = ""
    has_findings: bool | None = None
    show_archived: bool = False
    sort: str = ""

    def filters(self, *, without: str = "") -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "category": self.category or None,
            "maturity": list(self.maturity) or None,
            "health": list(self.health) or None,
            "license": self.license or None,
            "has_findings": self.has_findings,
            # Asking for archived entries by maturity shows them, toggle or not.
            "show_archived": self.show_archived or "archived" in self.maturity,
        }
        if without in ("show_archived", "maturity"):
            kwargs["show_archived"] = True
        elif without:
            kwargs[without] = None
        return kwargs

    @property
    def is_filtered(self) -> bool:
        return (
            bool(self.q or self.category or self.maturity or self.health or self.license)
            or self.has_findings is not None
        )


def list_search(params: ListParams) -> PreparedSearch | None:
    """The list's search, settled once on the published entries: a page's results and each
    of its facet counts then ask the same question (typos looked for, or not), whatever
    the other filters, as the API's ``q`` does."""
    return prepared_search(Project.objects.published(), params.q) if params.q else None


def _base(params: ListParams, *, without: str = "", search: PreparedSearch | None = None):
    queryset = project_filter(Project.objects.published(), **params.filters(without=without))
    if params.q:
        queryset = (search or list_search(params)).apply(queryset)
    return queryset


def project_list(params: ListParams):
    """The published entries the visitor asked for, with what a tile or a row shows."""
    queryset = with_repository_facts(_base(params)).only(*TILE_FIELDS)
    return project_sort(queryset, params.sort)


# A search or a sorted list shows at most this many tiles (then asks for narrower words).
FLAT_RESULTS_LIMIT = 240

# What a tile or a row of the list shows (and landscape_sections groups on): loading the
# whole entry (JSON columns, history fields) for hundreds of tiles costs more than the SQL.
TILE_FIELDS = (
    "pk",
    "name",
    "slug",
    "description",
    "logo",
    "health",
    "maturity",
    "stars",
    "category_id",
    "position",
)


def _grouped(queryset, field_name: str) -> dict[str, int]:
    return dict(
        queryset.order_by()
        .values_list(field_name)
        .annotate(n=Count("pk"))
        .values_list(field_name, "n")
    )


def facet_counts(params: ListParams) -> dict[str, Any]:
    """For each filter, how many entries each value would give, all *other* filters applied.

    A fixed number of queries, whatever the number of entries; on PostgreSQL, without a
    search, one query over the trigger-kept FacetCount rows (projects.facet_sql).
    """
    if not params.q and facet_table_available():
        return _facet_counts_from_table(params)
    return facet_counts_from_entries(params)


def facet_counts_from_entries(params: ListParams) -> dict[str, Any]:
    """facet_counts() by counting the entries themselves (any database, any search).

    Two reads whatever the filters: a grouped count of the entries that the search and
    the category keep, by every other facet's value (each facet's counts then apply the
    other filters to those groups here), and the categories of the entries the other
    filters keep. A search is settled once for both (list_search).
    """
    search = list_search(params)
    scope = ListParams(q=params.q, category=params.category, show_archived=True)
    groups = [
        _FacetGroup(*row)
        for row in _base(scope, search=search)
        .order_by()
        .values_list("maturity", "health", "license", "has_open_findings")
        .annotate(n=Count("pk"))
    ]

    def count_by(field_name: str, without: str) -> dict[Any, int]:
        keeps = _group_filter(params, without=without)
        counts: dict[Any, int] = {}
        for group in groups:
            if keeps(group):
                value = getattr(group, field_name)
                counts[value] = counts.get(value, 0) + group.n
        return counts

    by_license = count_by("license", "license")
    by_license.pop("", None)
    licenses = sorted(by_license.items(), key=lambda kv: (-kv[1], kv[0]))[:LICENSE_FACET_LIMIT]

    # Each entry once per category it is filed or listed in (a LEFT JOIN on second_path).
    memberships: dict[int, set[int]] = {}
    for pk, category_id, listed_in in (
        _base(params, without="category", search=search)
        .order_by()
        .values_list("pk", "category_id", "secondarycategory__category_id")
    ):
        memberships.setdefault(category_id, set()).add(pk)
        if listed_in is not None:
            memberships.setdefault(listed_in, set()).add(pk)
    categories: dict[str, int] = {}  # by slug
    pillars: dict[int, set[int]] = {}
    known = _category_index()
    for category_id, pks in memberships.items():
        parent_id, slug = known[category_id]
        categories[slug] = len(pks)
        pillars.setdefault(parent_id or category_id, set()).update(pks)
    for pillar_id, pks in pillars.items():
        categories[known[pillar_id][1]] = len(pks)

    return _facets(
        params,
        maturity=count_by("maturity", "maturity"),
        health=count_by("health", "health"),
        licenses=licenses,
        categories=categories,
        findings=count_by("has_open_findings", "has_findings").get(True, 0),
        archived=count_by("maturity", "show_archived").get(Maturity.ARCHIVED, 0),
        total=sum(count_by("maturity", "").values()),
    )


class _FacetGroup(NamedTuple):
    maturity: str
    health: str
    license: str
    has_open_findings: bool
    n: int


def _group_filter(params: ListParams, *, without: str = ""):
    """project_filter(**params.filters(without=...)) without the category, as a test of a
    _FacetGroup (the category is applied by the read that made the groups)."""
    kwargs = params.filters(without=without)
    maturity = {"" if m == "none" else m for m in kwargs["maturity"] or ()}
    health = set(kwargs["health"] or ())
    findings = kwargs["has_findings"]

    def keeps(group: _FacetGroup) -> bool:
        return (
            (not maturity or group.maturity in maturity)
            and (not health or group.health in health)
            and (not kwargs["license"] or group.license == kwargs["license"])
            and (findings is None or group.has_open_findings == findings)
            and (kwargs["show_archived"] or group.maturity != Maturity.ARCHIVED)
        )

    return keeps


LICENSE_FACET_LIMIT = 30


def _category_index() -> dict[int, tuple[int | None, str]]:
    return {
        pk: (parent_id, slug)
        for pk, parent_id, slug in Category.objects.values_list("pk", "parent_id", "slug")
    }


def _facets(params: ListParams, *, licenses, **counts) -> dict[str, Any]:
    if params.license and params.license not in {name for name, _ in licenses}:
        licenses.append((params.license, 0))
    return {
        "maturity": counts["maturity"],
        "health": counts["health"],
        "license": licenses,
        "category": counts["categories"],
        "has_findings": counts["findings"],
        "archived": counts["archived"],
        "total": counts["total"],
    }


# --- Counts from the FacetCount table (PostgreSQL) ----------------------------------------


def facet_table_available() -> bool:
    """FacetCount is kept by PostgreSQL triggers; elsewhere counts come from the entries."""
    from django.db import connection

    return connection.vendor == "postgresql"


def _facet_where(
    params: ListParams,
    *,
    without: str = "",
    category: bool = True,
    by_license: bool = False,
    listing: bool = False,
):
    """SQL conditions on FacetCount rows (Listing rows if ``listing``) meaning the same as
    project_filter(params); ``by_license`` reads the per-license rows even without a
    license filter."""
    kwargs = params.filters(without=without)
    conditions: list[str] = []
    values: list[Any] = []
    if category and kwargs["category"]:
        # The slug's id in the same statement (an unknown slug: -1, no rows).
        conditions.append(
            "category_id = COALESCE((SELECT id FROM projects_category WHERE slug = %s), -1)"
        )
        values.append(kwargs["category"])
    elif category:
        conditions.append("category_id = 0")
    if kwargs["maturity"]:
        conditions.append("maturity = ANY(%s)")
        values.append(["" if m == "none" else m for m in kwargs["maturity"]])
    if kwargs["health"]:
        conditions.append("health = ANY(%s)")
        values.append(list(kwargs["health"]))
    if kwargs["license"]:
        conditions.append("license = %s" if listing else "NOT all_licenses AND license = %s")
        values.append(kwargs["license"])
    elif not listing:
        conditions.append("NOT all_licenses" if by_license else "all_licenses")
    if kwargs["has_findings"] is not None:
        conditions.append("has_findings = %s")
        values.append(bool(kwargs["has_findings"]))
    if not kwargs["show_archived"]:
        conditions.append("maturity <> %s")
        values.append(Maturity.ARCHIVED.value)
    return " AND ".join(conditions) or "TRUE", values


def facet_table_count(params: ListParams) -> int:
    """How many published entries project_filter(params) keeps (no search), from the
    FacetCount rows: what a paginated list's ``count`` needs, without counting entries."""
    from django.db import connection

    where, values = _facet_where(params)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COALESCE(SUM(n), 0) FROM projects_facetcount WHERE {where}",  # noqa: S608
            values,
        )
        return int(cursor.fetchone()[0])


def listing_page_ids(params: ListParams, *, offset: int, limit: int) -> list[int]:
    """Ids of the published entries project_filter(params) keeps, most stars first (ties:
    lower-case name, then id; entries without stars last), rows ``offset`` to
    ``offset + limit``, from the Listing rows: one index range (listing_by_stars) per
    health value, each read no further than the page's end, then merged."""
    from django.db import connection

    where, values = _facet_where(params, without="health", listing=True)
    order = "stars_rank DESC, name_key, project_id"
    parts, args = [], []
    # Each health value once: a value asked for twice would give its rows twice.
    for health in dict.fromkeys(params.health or tuple(h.value for h in Health)):
        parts.append(
            f"(SELECT project_id, stars_rank, name_key FROM projects_listing"  # noqa: S608
            f" WHERE {where} AND health = %s ORDER BY {order} LIMIT %s)"
        )
        args += [*values, health, offset + limit]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT project_id FROM ({' UNION ALL '.join(parts)}) ranges"  # noqa: S608
            f" ORDER BY {order} LIMIT %s OFFSET %s",
            [*args, limit, offset],
        )
        return [row[0] for row in cursor.fetchall()]


class _EqualsAny(Func):
    """``expression = ANY(array)``, a condition Django's lookups do not write."""

    template = "(%(expressions)s))"
    arg_joiner = " = ANY("
    output_field = BooleanField()


def landscape_page_ids(params: ListParams, *, offset: int, limit: int) -> list[int]:
    """Ids of the published entries project_filter(params) keeps (no search), in landscape
    order (the pillar's position, the category's, the entry's, then id), rows ``offset``
    to ``offset + limit``.

    Sorting the kept entries for every page cost 70 ms for the directory's first page and
    240 ms for its last at 100,000 entries, and 100 ms for any page of one category (its
    second_path condition kept PostgreSQL from the category's index). Here the entries
    each category holds are counted first: from the FacetCount rows, plus the few listed
    in the asked category only through second_path. Only the categories the page
    reaches are then read, each through its box index (project_box_order) from the
    page's start within it."""
    from django.db import connection

    where, values = _facet_where(params, category=False)
    subtree = category_with_descendants(params.category) if params.category else None
    if subtree is not None:
        where += " AND category_id = ANY(%s)"
        values.append(subtree)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT category_id, SUM(n) FROM projects_facetcount"  # noqa: S608
            f" WHERE via_primary AND category_id <> 0 AND {where} GROUP BY category_id",
            values,
        )
        counts = Counter({category_id: int(n) for category_id, n in cursor.fetchall()})
    if subtree:
        from django.contrib.postgres.expressions import ArraySubquery

        # "= ANY(ARRAY(...))" reads those entries by id; "IN (subquery)" made PostgreSQL
        # scan every entry (20 ms against 9 ms for Modeling at 100,000 entries).
        listed_there = ArraySubquery(
            SecondaryCategory.objects.filter(category_id__in=subtree)
            .order_by()
            .values("project_id")
        )
        counts.update(
            dict(
                project_filter(Project.objects.published(), **params.filters(without="category"))
                .filter(_EqualsAny(F("pk"), listed_there))
                .exclude(category_id__in=subtree)
                .order_by()
                .values_list("category_id")
                .annotate(n=Count("pk"))
            )
        )
    # Categories that tie on both positions interleave their entries: one segment each.
    segments: dict[tuple, list[int]] = {}
    in_order = Category.objects.order_by("parent__position", "position", "pk")
    for category_id, *key in in_order.values_list("pk", "parent__position", "position"):
        if counts[category_id]:
            segments.setdefault(tuple(key), []).append(category_id)
    kept = _base(params).order_by("position", "pk").values_list("pk", flat=True)
    ids: list[int] = []
    start = 0
    for categories in segments.values():
        end = start + sum(counts[c] for c in categories)
        if end > offset:
            skip = max(offset - start, 0)
            ids += kept.filter(category_id__in=categories)[skip : skip + limit - len(ids)]
            if len(ids) >= limit:
                break
        start = end
    return ids


def _facet_counts_from_table(params: ListParams) -> dict[str, Any]:
    from django.db import connection

    parts: list[str] = []
    values: list[Any] = []

    def part(name: str, column: str, without: str = "", extra: str = "", category=True):
        where, args = _facet_where(
            params,
            without=without,
            category=category,
            by_license=name == "license",
        )
        parts.append(
            f"SELECT '{name}', {column}::text, SUM(n) FROM projects_facetcount"  # noqa: S608
            f" WHERE {where}{extra} GROUP BY 2"
        )
        values.extend(args)

    part("maturity", "maturity", without="maturity")
    part("health", "health", without="health")
    part("license", "license", without="license", extra=" AND license <> ''")
    part(
        "category", "category_id", without="category", extra=" AND category_id <> 0", category=False
    )
    part("has_findings", "''", without="has_findings", extra=" AND has_findings")
    part("archived", "''", without="show_archived", extra=" AND maturity = 'archived'")
    part("total", "''")
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), values)
        rows = cursor.fetchall()
    grouped: dict[str, dict[str, int]] = {}
    for name, key, n in rows:
        if n:
            grouped.setdefault(name, {})[key] = int(n)
    known = _category_index()
    categories = {
        known[int(pk)][1]: n for pk, n in grouped.get("category", {}).items() if int(pk) in known
    }
    licenses = sorted(grouped.get("license", {}).items(), key=lambda kv: (-kv[1], kv[0]))
    return _facets(
        params,
        maturity=grouped.get("maturity", {}),
        health=grouped.get("health", {}),
        licenses=licenses[:LICENSE_FACET_LIMIT],
        categories=categories,
        findings=grouped.get("has_findings", {}).get("", 0),
        archived=grouped.get("archived", {}).get("", 0),
        total=grouped.get("total", {}).get("", 0),
    )


# --- The landscape layout: pillars, foundation-hosted projects, members -------------------


# A box of the landscape layout shows at most this many tiles (in landscape order), then a
# link to the whole subcategory: a directory of 100,000 entries stays one readable page.
LANDSCAPE_BOX_LIMIT = 24
# Past this many entries on the page (CNCF's landscape, the largest of the kind, has about
# 2,400), a box shows LANDSCAPE_BOX_LIMIT_LARGE tiles: every box still fits a screen and
# the page stays a size a browser lays out at once.
LANDSCAPE_LARGE = 2_400
LANDSCAPE_BOX_LIMIT_LARGE = 12


def box_limit(entries: int) -> int:
    """How many tiles a box of the landscape shows when the page covers ``entries``."""
    return LANDSCAPE_BOX_LIMIT if entries <= LANDSCAPE_LARGE else LANDSCAPE_BOX_LIMIT_LARGE


@dataclass
class Box:
    category: Category
    items: list[Project]
    total: int

    @property
    def more(self) -> int:
        return max(0, self.total - len(self.items))


@dataclass
class LandscapeSection:
    kind: str  # "pillar", "foundation" or "members"
    category: Category
    boxes: list[Box]

    @property
    def count(self) -> int:
        return sum(box.total for box in self.boxes)


def landscape_top(params: ListParams, *, limit: int | None = None):
    """The first ``limit`` entries of each primary category (landscape order; by default
    box_limit() of the entries the page covers) as Tiles, and the number of entries of
    each category: a fixed number of queries at any size."""
    if not facet_table_available():
        return landscape_top_from_entries(params, limit=limit)
    totals = _box_totals_from_table(params)
    limit = limit or box_limit(sum(totals.values()))
    # One index scan per category (project_box_order), however many entries it holds, and
    # the totals from the FacetCount rows.
    from django.contrib.postgres.expressions import ArraySubquery

    # The tiles' own columns in the same statement, as JSON: no second read by id.
    first = ArraySubquery(
        _base(params)
        .filter(category_id=OuterRef("pk"))
        .order_by("position", "pk")
        .values(tile=JSONObject(**{name: name for name in TILE_FIELDS}))[:limit]
    )
    boxes = Category.objects.order_by().annotate(first=first).values_list("first", flat=True)
    # A filter that matches no category id (an unknown slug) makes each box NULL, not [].
    return [Tile.from_row(row) for box in boxes for row in box or ()], totals


def landscape_top_from_entries(params: ListParams, *, limit: int | None = None):
    """landscape_top() with a window over the entries (any database)."""
    totals = _grouped(_base(params), "category_id")
    limit = limit or box_limit(sum(totals.values()))
    ranked = (
        _base(params)
        .order_by()
        .annotate(
            box_rank=Window(
                RowNumber(), partition_by=[F("category_id")], order_by=[F("position"), F("pk")]
            )
        )
        .filter(box_rank__lte=limit)
        .values("pk")
    )
    rows = Project.objects.filter(pk__in=ranked).order_by().values(*TILE_FIELDS)
    return [Tile.from_row(row) for row in rows], totals


@dataclass(frozen=True, slots=True)
class Tile:
    """What a tile shows of an entry (projects.templatetags.landscape.render_tile), for the
    landscape's boxes: hundreds of them, which as model instances took twice the time of
    the statement that reads them."""

    pk: int
    name: str
    slug: str
    description: str
    logo: FieldFile
    health: str
    maturity: str
    stars: int | None
    category_id: int
    position: int

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Tile:
        logo = FieldFile(None, Project._meta.get_field("logo"), row["logo"] or "")
        return cls(**{**row, "logo": logo})

    get_absolute_url = Project.get_absolute_url  # reads only the slug


def _box_totals_from_table(params: ListParams) -> dict[int, int]:
    from django.db import connection

    where, values = _facet_where(params, category=False)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT category_id, SUM(n) FROM projects_facetcount"  # noqa: S608
            f" WHERE via_primary AND {where} GROUP BY 1",
            values,
        )
        return {int(pk): int(n) for pk, n in cursor.fetchall() if n}


def landscape_sections(
    projects, *, keep_empty: bool = False, totals: dict[int, int] | None = None
) -> list[LandscapeSection]:
    """Group entries (already fetched or lazy) by their primary category, in landscape order:
    the pillars, then the foundation-hosted projects, then the members by tier.

    ``totals`` (entries per category) tells how many a box has beyond those given."""
    by_category: dict[int, list[Project]] = {}
    for project in projects:
        by_category.setdefault(project.category_id, []).append(project)
    for items in by_category.values():
        items.sort(key=lambda p: (p.position, p.pk))
    totals = totals or {}
    kinds = {
        settings.LANDSCAPE_PROJECTS_CATEGORY: "foundation",
        settings.LANDSCAPE_MEMBERS_CATEGORY: "members",
    }

    def box(category: Category) -> Box:
        items = by_category.get(category.pk, [])
        return Box(category, items, max(len(items), totals.get(category.pk, 0)))

    sections = []
    for pillar, subcategories in category_tree():
        boxes = [box(sub) for sub in subcategories]
        if pillar.pk in by_category:  # entries filed on the pillar itself
            boxes.insert(0, box(pillar))
        if not keep_empty:
            boxes = [b for b in boxes if b.items]
        if boxes or keep_empty:
            sections.append(LandscapeSection(kinds.get(pillar.name, "pillar"), pillar, boxes))
    order = {"pillar": 0, "foundation": 1, "members": 2}
    return sorted(sections, key=lambda s: order[s.kind])


def filter_choices() -> dict[str, Any]:
    """The categories a visitor can filter on, as (slug, label, is_pillar) in landscape order."""
    return {
        "categories": [
            (category.slug, category.name, category.parent_id is None)
            for pillar, subcategories in category_tree()
            for category in [pillar, *subcategories]
        ]
    }


# --- One entry ----------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryPage:
    """What an entry's page shows, read in one statement on PostgreSQL (entry_page)."""

    project: Project  # with its category and the category's parent
    repository: RepositoryStatus | None  # the primary one (primary_repository)
    stars: list[tuple[date, int]]  # star_series of that repository
    related: list[Project | Tile]  # related_entries (Tiles from projects_entry_page)
    alternatives: list[Project | Tile]
    secondary: list[Category]  # second_path categories, with their parents
    maintainers: list[Maintainer]  # with their user (id and names only on PostgreSQL)
    links: list[LinkStatus]
    findings: list[Finding]  # the open ones, latest first


def entry_page(slug: str) -> EntryPage:
    """The published entry with this slug and everything its page shows (Http404 if none).

    On PostgreSQL one call of projects_entry_page (projects/entry_page_sql.py) gives the
    rows that project_for_page and its neighbours read in nine ORM queries; elsewhere those
    functions read them."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return _entry_page_from_function(slug)
    return entry_page_from_orm(slug)


def entry_page_from_orm(slug: str) -> EntryPage:
    """entry_page() read with the ORM (any database)."""
    project = project_for_page(slug)
    repository = primary_repository(project)
    return EntryPage(
        project=project,
        repository=repository,
        stars=star_series(repository),
        related=related_entries(project),
        alternatives=list(project.alternatives.all()),
        secondary=[sc.category for sc in project.secondarycategory_set.all()],
        maintainers=list(project.maintainers.all()),
        links=list(project.links.all()),
        findings=project.open_findings,
    )


def _entry_page_from_function(slug: str) -> EntryPage:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.http import Http404

    since = timezone.now().date() - timedelta(days=STAR_SERIES_DAYS)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT projects_entry_page(%s, %s, %s)", [slug, since, RELATED_ENTRIES_LIMIT]
        )
        page = cursor.fetchone()[0]
    if page is None:
        raise Http404("No such entry")
    project = _from_row(Project, page["entry"])
    project.category = _from_row(Category, page["category"])
    if page["pillar"] is not None:
        project.category.parent = _from_row(Category, page["pillar"])
    secondary = []
    for category_row, parent_row in page["secondary"]:
        category = _from_row(Category, category_row)
        if parent_row is not None:
            category.parent = _from_row(Category, parent_row)
        secondary.append(category)
    user_model = get_user_model()
    maintainers = []
    for maintainer_row, user_row in page["maintainers"]:
        maintainer = _from_row(Maintainer, maintainer_row)
        maintainer.user = _from_row(user_model, user_row)
        maintainers.append(maintainer)
    repository = page["repository"]
    return EntryPage(
        project=project,
        repository=None if repository is None else _from_row(RepositoryStatus, repository),
        stars=[(date.fromisoformat(day), stars) for day, stars in page["stars"]],
        related=[_tile_from_page(row) for row in page["related"]],
        alternatives=[_tile_from_page(row) for row in page["alternatives"]],
        secondary=secondary,
        maintainers=maintainers,
        links=[_from_row(LinkStatus, row) for row in page["links"]],
        findings=[_from_row(Finding, row) for row in page["findings"]],
    )


def _tile_from_page(row: dict) -> Tile:
    """A related or alternative entry of projects_entry_page as the Tile it is drawn as:
    building a dozen model instances for them took a third of the Python time spent after
    the statement. The page draws them as cards, which show no description, and the
    function reads none."""
    return Tile.from_row(
        {
            "pk": row["id"],
            "description": "",
            **{name: row[name] for name in TILE_FIELDS if name not in ("pk", "description")},
        }
    )


def _from_row(model, row: dict):
    """A model instance from a row PostgreSQL wrote as JSON (to_jsonb): each column present
    converted by its field, the others deferred, as if the ORM had read it."""
    from django.db import DEFAULT_DB_ALIAS

    fields = [f for f in model._meta.concrete_fields if f.column in row]
    return model.from_db(
        DEFAULT_DB_ALIAS,
        [f.attname for f in fields],
        [f.to_python(row[f.column]) for f in fields],
    )


def project_for_page(slug: str) -> Project:
    """One published entry with everything its page shows, in a fixed number of queries."""
    from django.http import Http404

    project = (
        Project.objects.published()
        .select_related("category__parent")
        .prefetch_related(
            Prefetch(
                "secondarycategory_set",
                queryset=SecondaryCategory.objects.select_related("category__parent"),
            ),
            Prefetch("maintainers", queryset=Maintainer.objects.select_related("user")),
            Prefetch(
                "alternatives",
                queryset=Project.objects.published().only(
                    "pk", "name", "slug", "logo", "health", "maturity", "category_id", "stars"
                ),
            ),
            Prefetch("links", queryset=LinkStatus.objects.order_by("kind", "url")),
            Prefetch(
                "findings",
                queryset=Finding.objects.filter(state=Finding.State.OPEN).order_by("-last_seen"),
                to_attr="open_findings",
            ),
            Prefetch(
                "repositories",
                queryset=RepositoryStatus.objects.order_by("-is_primary", "pk"),
            ),
        )
        .filter(slug=slug)
        .first()
    )
    if project is None:
        raise Http404("No such entry")
    return project


def primary_repository(project: Project) -> RepositoryStatus | None:
    repositories = list(project.repositories.all())
    return next(
        (r for r in repositories if r.is_primary), repositories[0] if repositories else None
    )


# An entry's page: the stars of the last year, and this many other entries of its category.
STAR_SERIES_DAYS = 365
RELATED_ENTRIES_LIMIT = 12


def star_series(
    repository: RepositoryStatus | None, *, days: int = STAR_SERIES_DAYS
) -> list[tuple[date, int]]:
    if repository is None:
        return []
    since = timezone.now().date() - timedelta(days=days)
    return list(
        Snapshot.objects.filter(repository=repository, day__gte=since, stars__isnull=False)
        .order_by("day")
        .values_list("day", "stars")
    )


def related_entries(project: Project, *, limit: int = RELATED_ENTRIES_LIMIT) -> list[Project]:
    """Other entries of the same subcategory (of a pillar's whole tree when the entry is
    filed on the pillar itself): those filed there first, in landscape order, then, when
    fewer than ``limit`` are, those listed there through second_path, in their order.

    Filed entries first is what a reader of the category expects, and it keeps the page
    cheap: the first read is the category's box index, and the second_path listings (a
    category can have hundreds, each read by id) are read only for a short category."""
    fields = ("pk", "name", "slug", "logo", "health", "maturity", "category_id", "position")

    def first(queryset, count: int) -> list[Project]:
        others = queryset.exclude(pk=project.pk).only(*fields, "stars")
        return list(others.order_by("position", "pk")[:count])

    published = Project.objects.published()
    if project.category.parent_id is None:  # filed on a pillar: the pillar's whole tree
        tree = category_with_descendants(project.category.slug)
    else:
        tree = [project.category_id]
    filed = first(published.filter(category_id__in=tree), limit)
    if len(filed) >= limit:
        return filed
    listed = published.filter(secondarycategory__category_id__in=tree).exclude(category_id__in=tree)
    return filed + first(listed.distinct(), limit - len(filed))


def health_words(repository: RepositoryStatus | None) -> list[str]:
    """The health of a repository and its evidence, in words.

    The workers may store their own words in ``health_evidence["words"]``; otherwise they
    are told from the observed facts.
    """
    if repository is None:
        return ["no repository is listed, so its health is not observed"]
    evidence = repository.health_evidence or {}
    if evidence.get("words"):
        return [str(w) for w in evidence["words"]]
    host = {"github.com": "GitHub", "gitlab.com": "GitLab"}.get(repository.host, repository.host)
    if repository.checked_at is None:
        return ["not checked yet"]
    latest = max(
        (
            d
            for d in (repository.pushed_at, repository.last_commit_at, repository.last_release_at)
            if d is not None
        ),
        default=None,
    )
    health = repository.health
    if health == Health.ARCHIVED:
        return [f"archived on {host}"]
    if health == Health.MISSING:
        since = repository.first_not_found_at
        return [f"not found on {host}" + (f" since {since:%Y-%m-%d}" if since else "")]
    if health == Health.INACTIVE:
        if latest is None:
            return [f"no push, commit or release date known on {host}"]
        return [f"no commit or release since {latest:%Y-%m-%d}"]
    if health == Health.ACTIVE and latest is not None:
        return [f"last activity on {latest:%Y-%m-%d}"]
    words = ["not enough evidence yet"]
    if repository.last_error:
        words.append(f"last error: {public_error(repository.last_error, subject='repository')}")
    return words


def can_edit_listing(user, maintainers: list[Maintainer]) -> bool:
    """Staff, and the entry's ``maintainers``."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_staff:
        return True
    return any(m.user_id == user.pk for m in maintainers)


# --- Statistics --------------------------------------------------------------------------

ACTIVITY_BUCKETS = [
    ("under 1 month", 31),
    ("1 to 6 months", 183),
    ("6 to 12 months", 366),
    ("1 to 2 years", 731),
    ("over 2 years", None),
]


def directory_stats() -> dict[str, Any]:
    """Counts behind /stats/ (a fixed number of queries)."""
    published = Project.objects.published()
    per_category = _grouped(published, "category_id")
    pillars = []
    for pillar, subcategories in category_tree():
        subs = [(sub, per_category.get(sub.pk, 0)) for sub in subcategories]
        total = per_category.get(pillar.pk, 0) + sum(n for _, n in subs)
        pillars.append(
            {
                "category": pillar,
                "count": total,
                "rows": [(sub.name, n) for sub, n in subs],
                "chart_id": f"chart-{pillar.slug}",
            }
        )

    health = _grouped(published, "health")
    maturity = _grouped(published, "maturity")

    now = timezone.now()
    primary = RepositoryStatus.objects.filter(
        is_primary=True, project__publication=Publication.PUBLISHED
    ).annotate(latest=Coalesce("pushed_at", "last_commit_at", "last_release_at"))
    aggregates: dict[str, Any] = {"unknown": Count("pk", filter=Q(latest__isnull=True))}
    lower = None
    for i, (_label, days) in enumerate(ACTIVITY_BUCKETS):
        condition = Q()
        if days is not None:
            condition &= Q(latest__gte=now - timedelta(days=days))
        if lower is not None:
            condition &= Q(latest__lt=now - timedelta(days=lower))
        if days is None:
            condition &= Q(latest__isnull=False)
        aggregates[f"b{i}"] = Count("pk", filter=condition)
        lower = days
    counts = primary.aggregate(**aggregates)
    activity = [(label, counts[f"b{i}"]) for i, (label, _) in enumerate(ACTIVITY_BUCKETS)]
    activity.append(("never observed", counts["unknown"]))

    licenses = list(
        primary.exclude(license="")
        .order_by()
        .values_list("license")
        .annotate(n=Count("pk"))
        .order_by("-n", "license")
        .values_list("license", "n")[:10]
    )
    added = list(
        published.annotate(
            year=ExtractYear(Coalesce("accepted_at", "joined_at", TruncDate("created")))
        )
        .order_by()
        .values_list("year")
        .annotate(n=Count("pk"))
        .order_by("year")
        .values_list("year", "n")
    )
    return {
        "total": sum(per_category.values()),
        "pillars": pillars,
        "pillar_rows": [(p["category"].name, p["count"]) for p in pillars],
        "health": [(h.label, health.get(h.value, 0), h.value) for h in Health],
        "maturity": [(m.label, maturity.get(m.value, 0), m.value or "none") for m in Maturity],
        "activity": activity,
        "licenses": licenses,
        "added": added,
    }


def feed_entries(limit: int = 50) -> list[Project]:
    """The latest new or changed published entries, newest first."""
    return list(
        Project.objects.published().select_related("category__parent").order_by("-updated")[:limit]
    )


# --- Duplicates and lookalikes (issue 19) --------------------------------------------------


def project_with_same_repository(*, repo_url: str, exclude_pk: int | None = None) -> Project | None:
    """The entry that already lists ``repo_url``'s repository under any spelling that
    projects.landscape_yml.repository_key folds together, or None."""
    # Stored URLs are already normalize_repo_url'd; fold the rest of the key in SQL so
    # that entries saved with http:// or www. are found too.
    stored_key = Lower(
        Replace(
            Replace(F("repo_url"), Value("http://"), Value("https://")),
            Value("://www."),
            Value("://"),
        )
    )
    found = Project.objects.annotate(repo_key=stored_key).filter(repo_key=repository_key(repo_url))
    if exclude_pk is not None:
        found = found.exclude(pk=exclude_pk)
    return found.order_by("pk").first()


def _latin_skeleton(name: str) -> str:
    """``name`` as it looks: letters of other scripts drawn like Latin ones replaced by
    them (UTS #39's confusables, from confusable-homoglyphs), compatibility forms folded."""
    import unicodedata

    from confusable_homoglyphs import confusables

    replaced = {}
    for found in confusables.is_confusable(name, greedy=True, preferred_aliases=["latin"]) or []:
        latin = [h["c"] for h in found["homoglyphs"] if "LATIN" in h["n"]]
        if latin:
            replaced[found["character"]] = latin[0]
    return unicodedata.normalize("NFKC", "".join(replaced.get(c, c) for c in name)).casefold()


def entry_name_warnings(*, name: str, exclude_pk: int | None = None) -> list[str]:
    """What a reviewer should know about a proposed entry name: letters of several
    scripts in one word, and an existing entry it can be mistaken for."""
    from confusable_homoglyphs import categories

    warnings = []
    scripts = sorted(categories.unique_aliases(name) - {"COMMON", "INHERITED"})
    if len(scripts) > 1:
        warnings.append(f"the name {name!r} mixes {' and '.join(scripts)} letters")
    skeleton = _latin_skeleton(name)
    if skeleton != name.casefold():
        others = Project.objects.filter(name__iexact=skeleton)
        if exclude_pk is not None:
            others = others.exclude(pk=exclude_pk)
        for other in others[:5]:
            warnings.append(
                f"the name {name!r} looks like the existing entry {other.name!r} "
                f"({other.slug}) but is spelled with other characters"
            )
    return warnings
