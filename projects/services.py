"""The directory's writes. Each public function is one transaction."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.text import slugify

from projects.landscape_yml import (
    CategoryData,
    ItemData,
    LandscapeFormatError,
    parse_guide,
    parse_landscape,
)
from projects.logos import LogoError, logo_kind
from projects.models import Category, Project, Publication, SecondaryCategory
from projects.search import update_search_categories

LOGO_UPLOAD_DIR = "logos"


@dataclass
class ImportSummary:
    created: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    unchanged: Counter = field(default_factory=Counter)
    categories_created: int = 0
    logos_stored: int = 0
    dry_run: bool = False

    @property
    def total(self) -> int:
        return (
            sum(self.created.values()) + sum(self.updated.values()) + sum(self.unchanged.values())
        )

    def rows(self) -> list[tuple[str, int, int, int]]:
        names = list(dict.fromkeys([*self.created, *self.updated, *self.unchanged]))
        return [(n, self.created[n], self.updated[n], self.unchanged[n]) for n in names]


def _item_count(categories: list[CategoryData]) -> int:
    return sum(len(sub.items) for cat in categories for sub in cat.subcategories)


def _read_logos(categories: list[CategoryData], logos_dir: Path) -> dict[str, bytes]:
    """Read and vet every logo the file names; raise naming the item on the first bad one."""
    logos: dict[str, bytes] = {}
    for cat in categories:
        for sub in cat.subcategories:
            for item in sub.items:
                name = item.fields.get("logo_name")
                if not name or name in logos:
                    continue
                path = logos_dir / name
                if not path.is_file():
                    raise LandscapeFormatError(
                        f"logo file {name!r} not found in {logos_dir}",
                        path=item.path,
                        line=item.line,
                    )
                data = path.read_bytes()
                if len(data) > settings.LOGO_MAX_BYTES:
                    raise LandscapeFormatError(
                        f"logo {name!r} is {len(data)} bytes, over the limit of "
                        f"{settings.LOGO_MAX_BYTES}",
                        path=item.path,
                        line=item.line,
                    )
                try:
                    logo_kind(data, name=name)
                except LogoError as exc:
                    raise LandscapeFormatError(
                        f"logo {name!r} refused: {exc}", path=item.path, line=item.line
                    ) from exc
                logos[name] = data
    return logos


def _store_logos(logos: dict[str, bytes]) -> int:
    """Write logos under their own names (landscape2 refers to them by name)."""
    stored = 0
    for name, data in logos.items():
        target = f"{LOGO_UPLOAD_DIR}/{name}"
        if default_storage.exists(target):
            with default_storage.open(target, "rb") as existing:
                if existing.read() == data:
                    continue
            default_storage.delete(target)
        default_storage.save(target, ContentFile(data))
        stored += 1
    return stored


def landscape_import(
    *,
    text: str,
    logos_dir: Path | None = None,
    guide_text: str | None = None,
    dry_run: bool = False,
    progress: Callable[[Iterable[Any], int], Iterable[Any]] | None = None,
    actor: Any = None,
) -> ImportSummary:
    """Upsert a landscape2 file: categories, then items, in one transaction.

    Items are matched to existing entries by repository URL first (an item renamed
    upstream keeps its entry), then by name. A malformed file raises
    LandscapeFormatError before anything is written.
    """
    categories = parse_landscape(text)
    guide = parse_guide(guide_text) if guide_text else {}
    logos = _read_logos(categories, logos_dir) if logos_dir else {}
    summary = ImportSummary(dry_run=dry_run)
    if logos and not dry_run:
        summary.logos_stored = _store_logos(logos)

    items = [
        (cat, sub, position, item)
        for cat in categories
        for sub in cat.subcategories
        for position, item in enumerate(sub.items)
    ]
    with transaction.atomic():
        subcategories = _upsert_categories(categories, guide, summary)
        index = _ImportIndex(actor)
        iterator: Iterable[Any] = progress(items, len(items)) if progress else items
        for cat, sub, position, item in iterator:
            outcome = _upsert_item(
                item,
                category=subcategories[(cat.name, sub.name)],
                position=position,
                subcategories=subcategories,
                logo_stored=item.fields.get("logo_name") in logos,
                actor=actor,
                index=index,
            )
            getattr(summary, outcome)[cat.name] += 1
        index.flush()
        if dry_run:
            transaction.set_rollback(True)
    return summary


class _ImportIndex:
    """The entries an import matches against, read once (by repository URL, by name, and
    every slug taken), and the new entries it creates, written in batches with their
    history, second_path and search column: a fixed number of queries per batch instead of
    a dozen per item."""

    BATCH = 2000
    # The tables a batch writes, itself or through PostgreSQL's triggers.
    WRITTEN = (
        "projects_project",
        "projects_historicalproject",
        "projects_secondarycategory",
        "projects_listing",
        "projects_facetcount",
        "api_entrybody",
    )

    def __init__(self, actor: Any) -> None:
        self.actor = actor
        self.by_repo: dict[str, Project] = {}
        self.by_name: dict[str, Project] = {}
        self.slugs: set[str] = set(Project.objects.values_list("slug", flat=True))
        for project in Project.objects.select_related("category").prefetch_related(
            "secondarycategory_set"
        ):
            self.add(project)
        self.pending: list[tuple[Project, list[Category]]] = []
        self.analyzed_at = max(len(self.slugs), self.BATCH)

    def add(self, project: Project) -> None:
        if project.repo_url:
            self.by_repo[project.repo_url] = project
        self.by_name[project.name] = project

    def find(self, repo_url: str | None, name: str) -> Project | None:
        project = self.by_repo.get(repo_url) if repo_url else None
        if project is None:
            project = self.by_name.get(name)
        return project

    def changed(self, project: Project, before: tuple[str | None, str]) -> None:
        """An entry was saved: keep the index as the database now is."""
        repo_url, name = before
        if repo_url and self.by_repo.get(repo_url) is project and repo_url != project.repo_url:
            del self.by_repo[repo_url]
        if self.by_name.get(name) is project and name != project.name:
            del self.by_name[name]
        self.add(project)

    def free_slug(self, base: str) -> str:
        base = base or "entry"
        candidate, n = base, 1
        while candidate in self.slugs:
            n += 1
            candidate = f"{base}-{n}"
        self.slugs.add(candidate)
        return candidate

    def create(self, project: Project, secondary: list[Category]) -> None:
        self.pending.append((project, secondary))
        self.add(project)
        if len(self.pending) >= self.BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        from simple_history.utils import bulk_create_with_history

        from projects.search import category_names_text
        from projects.web.cache import bump_version

        for project, secondary in self.pending:
            project.search_categories = category_names_text(project.category, secondary)
        created = bulk_create_with_history(
            [project for project, _ in self.pending],
            Project,
            batch_size=500,
            default_user=self.actor,
            default_change_reason="import_landscape",
        )
        SecondaryCategory.objects.bulk_create(
            [
                SecondaryCategory(project=project, category=category, position=i)
                for project, (_, secondary) in zip(created, self.pending, strict=True)
                for i, category in enumerate(secondary)
            ],
            batch_size=1000,
        )
        self.pending = []
        bump_version()  # what post_save would have done for each entry
        if len(self.slugs) >= 2 * self.analyzed_at:
            self.analyze()

    def analyze(self) -> None:
        """Fresh statistics on the written tables, each time the entries have doubled.

        The import is one transaction, so autovacuum never sees its rows, and PostgreSQL
        kept planning the triggers' statements for the tables as they were before it: by
        100,000 entries each batch hashed every entry and sorted every Listing row to find
        its own 2,000, and a batch took 3 s where the first took 1 s. ANALYZE counts the
        rows the transaction itself inserted."""
        from django.db import connection

        self.analyzed_at = len(self.slugs)
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {', '.join(self.WRITTEN)}")


def _upsert_categories(
    categories: list[CategoryData],
    guide: dict[tuple[str, str | None], str],
    summary: ImportSummary,
) -> dict[tuple[str, str], Category]:
    result: dict[tuple[str, str], Category] = {}
    for cat_pos, cat in enumerate(categories):
        top = _upsert_category(
            name=cat.name,
            parent=None,
            slug=slugify(cat.name),
            position=cat_pos,
            guide=guide.get((cat.name, None)),
            summary=summary,
        )
        for sub_pos, sub in enumerate(cat.subcategories):
            result[(cat.name, sub.name)] = _upsert_category(
                name=sub.name,
                parent=top,
                slug=f"{top.slug}-{slugify(sub.name)}",
                position=sub_pos,
                guide=guide.get((cat.name, sub.name)),
                summary=summary,
            )
    return result


def _upsert_category(
    *,
    name: str,
    parent: Category | None,
    slug: str,
    position: int,
    guide: str | None,
    summary: ImportSummary,
) -> Category:
    category = Category.objects.filter(parent=parent, name=name).first()
    if category is None:
        summary.categories_created += 1
        return Category.objects.create(
            name=name,
            parent=parent,
            slug=_free_slug(Category, slug),
            position=position,
            guide=guide or "",
        )
    changed = category.position != position or (guide is not None and category.guide != guide)
    if changed:
        category.position = position
        if guide is not None:
            category.guide = guide
        category.save(update_fields=["position", "guide"])
    return category


def _free_slug(model: type, base: str, exclude_pk: int | None = None) -> str:
    base = base or "entry"
    candidate, n = base, 1
    while model.objects.filter(slug=candidate).exclude(pk=exclude_pk).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


_PROJECT_FIELDS = (
    "name",
    "description",
    "homepage_url",
    "repo_url",
    "repo_branch",
    "additional_repos",
    "documentation_url",
    "other_links",
    "tags",
    "maturity",
    "accepted_at",
    "joined_at",
    "organization",
    "twitter_url",
    "crunchbase_url",
)


def _desired_values(item: ItemData, *, logo_stored: bool) -> dict[str, Any]:
    values = {key: item.fields[key] for key in _PROJECT_FIELDS}
    for key in ("accepted_at", "joined_at"):
        if values[key]:
            values[key] = date.fromisoformat(values[key])
    extra = dict(item.extra)
    logo_name = item.fields.get("logo_name") or ""
    if logo_name and logo_stored:
        values["logo"] = f"{LOGO_UPLOAD_DIR}/{logo_name}"
    elif logo_name:
        # Without --logos the file is not ours, but its name must survive the round trip.
        extra["logo"] = logo_name
    values["landscape_extra"] = extra
    return values


def _upsert_item(
    item: ItemData,
    *,
    category: Category,
    position: int,
    subcategories: dict[tuple[str, str], Category],
    logo_stored: bool,
    actor: Any = None,
    index: _ImportIndex,
) -> str:
    values = _desired_values(item, logo_stored=logo_stored)
    values["category"] = category
    values["position"] = position
    secondary = [subcategories[pair] for pair in item.second_path]

    logo_name = item.fields.get("logo_name")
    project = index.find(values["repo_url"], values["name"])

    if project is None:
        project = Project(
            slug=index.free_slug(slugify(values["name"])), publication=Publication.PUBLISHED
        )
        _assign(project, values)
        index.create(project, secondary)
        return "created"
    if project.pk is None:  # created earlier in this import: write it before changing it
        index.flush()

    if logo_name and not logo_stored and project.logo.name == f"{LOGO_UPLOAD_DIR}/{logo_name}":
        # Stored by an earlier run with --logos: the file we hold is the one the item names.
        values["logo"] = project.logo.name
        values["landscape_extra"] = {
            k: v for k, v in values["landscape_extra"].items() if k != "logo"
        }
    changed = [key for key, value in values.items() if _current(project, key) != value]
    current_secondary = [sc.category_id for sc in project.secondarycategory_set.all()]
    secondary_changed = current_secondary != [c.pk for c in secondary]
    if not changed and not secondary_changed:
        return "unchanged"
    if changed:
        before = (project.repo_url, project.name)
        _assign(project, values)
        _mark_import(project, actor)
        project.save()
        index.changed(project, before)
    if secondary_changed:
        _set_secondary(project, secondary)
        update_search_categories([project.pk])
        # The index's prefetched second_path is stale now: read it again when asked.
        getattr(project, "_prefetched_objects_cache", {}).pop("secondarycategory_set", None)
    return "updated"


def _mark_import(project: Project, actor: Any) -> None:
    """Attribute the history row to whoever ran the import, and say it was one."""
    project._history_user = actor
    project._change_reason = "import_landscape"


def _current(project: Project, key: str) -> Any:
    if key == "logo":
        return project.logo.name or ""
    if key == "category":
        return project.category if project.category_id else None
    return getattr(project, key)


def _assign(project: Project, values: dict[str, Any]) -> None:
    for key, value in values.items():
        setattr(project, key, value)


def _set_secondary(project: Project, categories: list[Category]) -> None:
    SecondaryCategory.objects.filter(project=project).delete()
    SecondaryCategory.objects.bulk_create(
        SecondaryCategory(project=project, category=category, position=i)
        for i, category in enumerate(categories)
    )


# --- Entry writes from the API (the same rules as the admin: projects.permissions) -------


def project_editable_fields(*, project: Project | None, user) -> frozenset[str]:
    """The fields ``user`` may write: on ``project``, or on a new entry when it is None."""
    from projects.permissions import writable_fields

    return writable_fields(user, project)


class ProjectWriteRefused(PermissionError):
    """The user may not write these fields (or this entry at all)."""

    def __init__(self, fields: list[str]) -> None:
        self.fields = fields
        super().__init__(f"not allowed to change: {', '.join(fields) or 'this entry'}")


def _check_fields(data: dict[str, Any], allowed: frozenset[str]) -> None:
    refused = sorted(set(data) - allowed)
    if refused or not allowed:
        raise ProjectWriteRefused(refused)


def _clean_values(data: dict[str, Any]) -> dict[str, Any]:
    from projects.landscape_yml import normalize_repo_url

    values = dict(data)
    if "repo_url" in values:
        values["repo_url"] = normalize_repo_url(values["repo_url"]) if values["repo_url"] else None
    blank_not_null = ("description", "documentation_url", "twitter_url", "repo_branch")
    for key in (*blank_not_null, "organization", "crunchbase_url"):
        if key in values and values[key] is None:
            values[key] = ""
    return values


def project_repo_url_clean(*, repo_url: str | None, exclude_pk: int | None = None) -> str | None:
    """``repo_url`` in its normal form, or ValidationError naming the entry that already
    lists the same repository (spelled with other case, www., .git, a trailing slash,
    http or https): the API, /submit/ and the admin refuse a duplicate with this."""
    from django.core.exceptions import ValidationError

    from projects.landscape_yml import normalize_repo_url
    from projects.selectors import project_with_same_repository

    if not repo_url:
        return None
    normalized = normalize_repo_url(repo_url)
    existing = project_with_same_repository(repo_url=normalized, exclude_pk=exclude_pk)
    if existing is not None:
        raise ValidationError(
            f"The entry {existing.name!r} ({existing.slug}) already lists this repository "
            f"as {existing.repo_url}.",
            code="duplicate_repository",
        )
    return normalized


def _next_position(category: Category) -> int:
    from django.db.models import Max

    last = Project.objects.filter(category=category).aggregate(m=Max("position"))["m"]
    return 0 if last is None else last + 1


def project_update(*, project: Project, data: dict[str, Any], user):
    """Change an entry's fields (validated values); refuse fields beyond the user's rights.

    Staff changes apply at once. A maintainer's editable fields apply at once and the
    moderated ones (name, repository, category) wait for review. Returns (entry, the
    pending ChangeRequest or None).
    """
    from projects.moderation import project_change
    from projects.permissions import is_moderator

    _check_fields(data, project_editable_fields(project=project, user=user))
    values = _clean_values(data)
    if not is_moderator(user):
        _, held = project_change(project=project, user=user, changes=values)
        return Project.objects.get(pk=project.pk), held
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=project.pk)
        if "category" in values and values["category"].pk != project.category_id:
            project.position = _next_position(values["category"])
        _assign(project, values)
        project._history_user = user
        project.save()
    return project, None


def project_submit(*, data: dict[str, Any], user) -> Project:
    """A new entry from a signed-in user, pending review and off the public site."""
    from projects.moderation import submission_create

    if not (user and user.is_authenticated):
        raise ProjectWriteRefused([])
    _check_fields(data, project_editable_fields(project=None, user=user))
    return submission_create(user=user, values=_clean_values(data))


def project_create(*, data: dict[str, Any], user) -> Project:
    """A new entry from staff: published unless ``publication`` says otherwise."""
    from projects.permissions import is_moderator

    if not is_moderator(user):
        raise ProjectWriteRefused([])
    _check_fields(data, project_editable_fields(project=None, user=user))
    values = _clean_values(data)
    with transaction.atomic():
        project = Project(
            slug=_free_slug(Project, slugify(values["name"])),
            publication=values.pop("publication", Publication.PUBLISHED),
            position=_next_position(values["category"]),
        )
        _assign(project, values)
        project._history_user = user
        project.save()
    return project


def project_delete(*, project: Project, user) -> None:
    from projects.permissions import is_moderator

    if not is_moderator(user):
        raise ProjectWriteRefused([])
    with transaction.atomic():
        Project.objects.filter(pk=project.pk).delete()
