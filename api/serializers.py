"""The API's representations: an entry as the pages show it, and what may be written."""

from __future__ import annotations

import datetime as dt
import functools
import re
from enum import Enum
from typing import NamedTuple

from django.conf import settings
from django.urls import NoReverseMatch, get_script_prefix, reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import ISO_8601, serializers
from rest_framework.settings import api_settings

from landscape.site import site_url
from projects.models import (
    Category,
    Finding,
    Health,
    Maturity,
    Project,
    Publication,
    RepositoryStatus,
)
from projects.permissions import STAFF_ONLY_FIELDS, SUBMISSION_FIELDS
from projects.validators import validate_public_url

MATURITY_VALUES = [m for m in Maturity.values if m]
# http(s) with a host and no credentials: the same rule as the model fields.
HTTP_URL = validate_public_url


def _absolute(request, path: str | None) -> str | None:
    """``path`` as an absolute URL under SITE_URL for a request's answer (never from its
    Host: landscape.site), as it is without one."""
    if not path:
        return None
    return site_url(path) if request is not None else path


# --- Reads ----------------------------------------------------------------------------------


class OptionalURLField(serializers.URLField):
    """A URL, or null where the entry has none (never an empty string)."""

    def __init__(self, **kwargs):
        super().__init__(read_only=True, allow_null=True, **kwargs)

    def to_representation(self, value):
        return value or None


class CategoryRefSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    path = serializers.CharField(help_text="'Pillar / Subcategory'")
    primary = serializers.BooleanField(help_text="The entry's own category (else second_path).")


class RepositorySerializer(serializers.Serializer):
    """The latest observation of the entry's primary repository (null before any check)."""

    url = serializers.URLField()
    stars = serializers.IntegerField(allow_null=True)
    forks = serializers.IntegerField(allow_null=True)
    open_issues = serializers.IntegerField(allow_null=True)
    pushed_at = serializers.DateTimeField(allow_null=True)
    last_release_at = serializers.DateTimeField(allow_null=True)
    archived = serializers.BooleanField(allow_null=True)
    license = serializers.CharField(allow_blank=True)
    health = serializers.ChoiceField(choices=Health.choices)
    checked_at = serializers.DateTimeField(allow_null=True)


class FindingSerializer(serializers.ModelSerializer):
    project = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    evidence = serializers.JSONField(help_text="What the workers observed (a JSON object).")
    suggestion = serializers.JSONField(help_text="The suggested fix (a JSON object).")

    class Meta:
        model = Finding
        fields = [
            "id",
            "project",
            "kind",
            "subject",
            "state",
            "evidence",
            "suggestion",
            "first_seen",
            "last_seen",
        ]
        read_only_fields = fields


class FindingInProjectSerializer(FindingSerializer):
    class Meta(FindingSerializer.Meta):
        fields = [f for f in FindingSerializer.Meta.fields if f != "project"]
        read_only_fields = fields


class MaintainerSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The maintainer's public name.")
    role = serializers.CharField()


class LinkSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    url = serializers.CharField(max_length=500, validators=[HTTP_URL])


class ProjectSerializer(serializers.ModelSerializer):
    """An entry: the same facts its HTML page shows."""

    url = serializers.SerializerMethodField(help_text="This entry in the API.")
    html_url = serializers.SerializerMethodField(help_text="This entry's page.")
    category = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    categories = serializers.SerializerMethodField()
    maturity = serializers.SerializerMethodField()
    repository = serializers.SerializerMethodField()
    findings = serializers.SerializerMethodField(help_text="The open findings.")
    maintainers = serializers.SerializerMethodField()
    logo_url = serializers.SerializerMethodField()
    badge_url = serializers.SerializerMethodField()
    homepage_url = OptionalURLField()
    repo_url = OptionalURLField()
    documentation_url = OptionalURLField()
    twitter_url = OptionalURLField()
    other_links = LinkSerializer(many=True, read_only=True)
    tags = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Project
        fields = [
            "slug",
            "name",
            "url",
            "html_url",
            "description",
            "homepage_url",
            "repo_url",
            "documentation_url",
            "other_links",
            "tags",
            "twitter_url",
            "category",
            "categories",
            "maturity",
            "health",
            "publication",
            "repository",
            "findings",
            "maintainers",
            "logo_url",
            "badge_url",
            "created",
            "updated",
        ]
        read_only_fields = fields

    @extend_schema_field(CategoryRefSerializer(many=True))
    def get_categories(self, project: Project) -> list[dict]:
        def ref(category: Category, primary: bool) -> dict:
            path = (
                f"{category.parent.name} / {category.name}" if category.parent_id else category.name
            )
            return {"slug": category.slug, "name": category.name, "path": path, "primary": primary}

        return [ref(project.category, True)] + [
            ref(sc.category, False) for sc in project.secondarycategory_set.all()
        ]

    @extend_schema_field(
        serializers.ChoiceField(
            choices=MATURITY_VALUES, allow_null=True, help_text="What curators say (null: none)."
        )
    )
    def get_maturity(self, project: Project) -> str | None:
        return project.maturity or None

    @extend_schema_field(RepositorySerializer(allow_null=True))
    def get_repository(self, project: Project) -> dict | None:
        repos = getattr(project, "primary_repositories", None)
        if repos is None:
            repos = list(project.repositories.filter(is_primary=True).order_by("pk")[:1])
        return RepositorySerializer(repos[0]).data if repos else None

    @extend_schema_field(FindingInProjectSerializer(many=True))
    def get_findings(self, project: Project) -> list[dict]:
        findings = getattr(project, "open_findings", None)
        if findings is None:
            findings = project.findings.filter(state=Finding.State.OPEN)
        return FindingInProjectSerializer(findings, many=True).data

    @extend_schema_field(MaintainerSerializer(many=True))
    def get_maintainers(self, project: Project) -> list[dict]:
        rows = getattr(project, "public_maintainers", None)
        if rows is None:
            rows = project.maintainers.select_related("user").order_by("pk")
        return [
            {"name": m.user.get_full_name() or m.user.get_username(), "role": m.role} for m in rows
        ]

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, project: Project) -> str:
        return _absolute(
            self.context.get("request"), reverse("api:project-detail", args=[project.slug])
        )

    @extend_schema_field(OpenApiTypes.URI)
    def get_html_url(self, project: Project) -> str:
        return _absolute(self.context.get("request"), project.get_absolute_url())

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_logo_url(self, project: Project) -> str | None:
        return _absolute(self.context.get("request"), project.logo.url if project.logo else None)

    @extend_schema_field(OpenApiTypes.URI)
    def get_badge_url(self, project: Project) -> str:
        try:
            path = reverse("projects:badge", kwargs={"slug": project.slug})
        except NoReverseMatch:  # the badge view (issue 4) serves this path
            path = f"/badge/{project.slug}.svg"
        return _absolute(self.context.get("request"), path)


# --- Reads without the field machinery ------------------------------------------------------
#
# ProjectSerializer stays the documented schema (drf-spectacular reads it) and the reference;
# the API's reads build the same dicts with the functions below: DRF's per-row cost (nested
# serializers built for every entry, a field object per value, reverse() twice per entry) was
# most of a list's time. tests/api/test_representation.py compares the two on every entry of
# the fixture data, so that they cannot drift apart.

# Slugs that reverse() and site_url() copy into a URL unchanged (the `slug` path
# converter's characters): these are put into a URL computed once per request. Any other
# slug takes the serializer's own path (and fails the same way where it fails).
_PLAIN_SLUG = re.compile(r"[-a-zA-Z0-9_]+")
# Paths that site_url() appends to SITE_URL unchanged (under the script prefix "/").
_PLAIN_PATH = re.compile(r"/[-a-zA-Z0-9_./~]*")
_SLUG_PLACEHOLDER = "zq0slug0placeholder0qz"


@functools.cache
def _choice_maps() -> dict[str, dict]:
    """The ChoiceFields' own value maps (ProjectSerializer's health and publication, the
    repository's health, a finding's kind and state)."""
    project = ProjectSerializer().fields
    finding = FindingInProjectSerializer().fields
    return {
        "health": project["health"].choice_strings_to_values,
        "publication": project["publication"].choice_strings_to_values,
        "repository_health": RepositorySerializer().fields["health"].choice_strings_to_values,
        "kind": finding["kind"].choice_strings_to_values,
        "state": finding["state"].choice_strings_to_values,
    }


def _choice(choices: dict, value):
    # ChoiceField.to_representation, for the values a model field holds.
    if value in ("", None):
        return value
    if isinstance(value, Enum) and str(value) != str(value.value):
        value = value.value
    return choices.get(str(value), value)


def _text(value):
    return None if value is None else str(value)


def _integer(value):
    return None if value is None else int(value)


_DRF_DATETIME = serializers.DateTimeField()


class ProjectRepresentation:
    """``ProjectSerializer(project, context={"request": request}).data`` as a plain dict,
    for reads; one instance per request (it computes the request's URLs once)."""

    def __init__(self, request=None):
        self.request = request
        self.choices = _choice_maps()
        self.iso_dates = str(api_settings.DATETIME_FORMAT).lower() == ISO_8601
        self.tz = timezone.get_current_timezone() if settings.USE_TZ else None
        # SITE_URL as site_url() writes it (IRI-escaped); the request's own Host never.
        self.origin = site_url("/")[:-1] if request is not None else None
        self.plain_prefix = get_script_prefix() == "/"
        placeholder = Project(slug=_SLUG_PLACEHOLDER)
        self.url_parts = self._split(reverse("api:project-detail", args=[_SLUG_PLACEHOLDER]))
        self.html_url_parts = self._split(placeholder.get_absolute_url())
        try:
            badge = reverse("projects:badge", kwargs={"slug": _SLUG_PLACEHOLDER})
        except NoReverseMatch:
            badge = f"/badge/{_SLUG_PLACEHOLDER}.svg"
        self.badge_url_parts = self._split(badge)

    def _split(self, path: str) -> tuple[str, str] | None:
        url = _absolute(self.request, path)
        before, found, after = url.rpartition(_SLUG_PLACEHOLDER)
        return (before, after) if found else None

    def absolute(self, path: str | None) -> str | None:
        """``_absolute(request, path)``, without its work for a plain path."""
        if not path:
            return None
        if self.request is None:
            return path
        if self.plain_prefix and _PLAIN_PATH.fullmatch(path) and not path.startswith("//"):
            return self.origin + path
        return site_url(path)

    def datetime(self, value):
        """DateTimeField.to_representation (ISO 8601 in the current time zone)."""
        if not value:
            return None
        if (
            self.iso_dates
            and self.tz is not None
            and isinstance(value, dt.datetime)
            and value.utcoffset() is not None  # aware (naive ones: DRF's own way)
        ):
            try:
                text = value.astimezone(self.tz).isoformat()
            except OverflowError:
                return _DRF_DATETIME.to_representation(value)
            return text[:-6] + "Z" if text.endswith("+00:00") else text
        return _DRF_DATETIME.to_representation(value)

    def _url(self, parts, slug: str, slow):
        if parts is not None and _PLAIN_SLUG.fullmatch(slug):
            return parts[0] + slug + parts[1]
        return slow()

    def categories(self, project: Project) -> list[dict]:
        def ref(category: Category, primary: bool) -> dict:
            pillar = category.parent.name if category.parent_id else None
            return _category_ref(category.slug, category.name, pillar, primary)

        return [ref(project.category, True)] + [
            ref(sc.category, False) for sc in project.secondarycategory_set.all()
        ]

    def repository(self, repo: RepositoryStatus | _RepositoryRow) -> dict:
        return {
            "url": _text(repo.url),
            "stars": _integer(repo.stars),
            "forks": _integer(repo.forks),
            "open_issues": _integer(repo.open_issues),
            "pushed_at": self.datetime(repo.pushed_at),
            "last_release_at": self.datetime(repo.last_release_at),
            "archived": None if repo.archived is None else bool(repo.archived),
            "license": _text(repo.license),
            "health": _choice(self.choices["repository_health"], repo.health),
            "checked_at": self.datetime(repo.checked_at),
        }

    def finding(self, finding: Finding | _FindingRow) -> dict:
        return {
            "id": _integer(finding.id),
            "kind": _choice(self.choices["kind"], finding.kind),
            "subject": _text(finding.subject),
            "state": _choice(self.choices["state"], finding.state),
            "evidence": finding.evidence,
            "suggestion": finding.suggestion,
            "first_seen": self.datetime(finding.first_seen),
            "last_seen": self.datetime(finding.last_seen),
        }

    @staticmethod
    def links(value):
        if value is None:
            return None
        if isinstance(value, list) and all(
            isinstance(link, dict) and "name" in link and "url" in link for link in value
        ):
            return [{"name": _text(link["name"]), "url": _text(link["url"])} for link in value]
        return LinkSerializer(many=True, read_only=True).to_representation(value)

    def __call__(self, project: Project) -> dict:
        repos = getattr(project, "primary_repositories", None)
        if repos is None:
            repos = list(project.repositories.filter(is_primary=True).order_by("pk")[:1])
        findings = getattr(project, "open_findings", None)
        if findings is None:
            findings = project.findings.filter(state=Finding.State.OPEN)
        maintainers = getattr(project, "public_maintainers", None)
        if maintainers is None:
            maintainers = project.maintainers.select_related("user").order_by("pk")
        logo = project.logo
        return self._assemble(
            project,
            category=project.category.slug,
            categories=self.categories(project),
            repository=self.repository(repos[0]) if repos else None,
            findings=[self.finding(f) for f in findings],
            maintainers=[
                (m.user.get_full_name() or m.user.get_username(), m.role) for m in maintainers
            ],
            logo_url=self.absolute(logo.url) if logo else None,
        )

    def _assemble(
        self, entry, *, category, categories, repository, findings, maintainers, logo_url
    ) -> dict:
        """The representation, in the serializer's field order, from an entry's own columns
        (``entry``: a model instance or an _EntryRow) and its related parts."""
        request, slug, tags = self.request, entry.slug, entry.tags
        return {
            "slug": _text(slug),
            "name": _text(entry.name),
            "url": self._url(
                self.url_parts,
                slug,
                lambda: _absolute(request, reverse("api:project-detail", args=[slug])),
            ),
            "html_url": self._url(
                self.html_url_parts,
                slug,
                lambda: _absolute(request, Project(slug=slug).get_absolute_url()),
            ),
            "description": _text(entry.description),
            "homepage_url": entry.homepage_url or None,
            "repo_url": entry.repo_url or None,
            "documentation_url": entry.documentation_url or None,
            "other_links": self.links(entry.other_links),
            "tags": None if tags is None else [None if tag is None else str(tag) for tag in tags],
            "twitter_url": entry.twitter_url or None,
            "category": category,
            "categories": categories,
            "maturity": entry.maturity or None,
            "health": _choice(self.choices["health"], entry.health),
            "publication": _choice(self.choices["publication"], entry.publication),
            "repository": repository,
            "findings": findings,
            "maintainers": [{"name": name, "role": role} for name, role in maintainers],
            "logo_url": logo_url,
            "badge_url": self._url(self.badge_url_parts, slug, lambda: _badge_url(request, slug)),
            "created": self.datetime(entry.created),
            "updated": self.datetime(entry.updated),
        }

    # --- From api.selectors.entry_rows: one query a page, no model instances -----------------

    def from_row(self, row: tuple) -> dict:
        entry = _EntryRow(*row)
        repo = entry.repository
        return self._assemble(
            entry,
            category=entry.category,
            categories=[
                _category_ref(entry.category, entry.category_name, entry.pillar_name, True),
                *(_category_ref(*parts, False) for parts in entry.secondary),
            ],
            repository=None if repo is None else self.repository(_RepositoryRow(*repo)),
            findings=[self.finding(_FindingRow(*f)) for f in entry.findings],
            maintainers=[
                (f"{first} {last}".strip() or username, role)
                for first, last, username, role in entry.maintainers
            ],
            logo_url=self.absolute(_LOGO_STORAGE.url(entry.logo)) if entry.logo else None,
        )


def _category_ref(slug: str, name: str, pillar: str | None, primary: bool) -> dict:
    path = f"{pillar} / {name}" if pillar else name
    return {"slug": slug, "name": name, "path": path, "primary": primary}


class _EntryRow(NamedTuple):
    """A row of api.selectors.entry_rows, as the database wrote it in JSON."""

    pk: int
    slug: str
    name: str
    description: str
    homepage_url: str
    repo_url: str
    documentation_url: str
    other_links: object
    tags: object
    twitter_url: str
    category: str
    maturity: str
    health: str
    publication: str
    logo: str
    created: str  # already as DRF writes it (ProjectRepresentation.datetime keeps strings)
    updated: str
    category_name: str
    pillar_name: str | None
    secondary: list
    repository: list | None
    findings: list
    maintainers: list


class _RepositoryRow(NamedTuple):
    """The primary repository in an _EntryRow, read as repository() reads the model."""

    url: str
    stars: int | None
    forks: int | None
    open_issues: int | None
    pushed_at: str | None  # timestamps already as DRF writes them
    last_release_at: str | None
    archived: bool | None
    license: str
    health: str
    checked_at: str | None


class _FindingRow(NamedTuple):
    """An open finding in an _EntryRow, read as finding() reads the model."""

    id: int
    kind: str
    subject: str
    state: str
    evidence: object
    suggestion: object
    first_seen: str
    last_seen: str


_LOGO_STORAGE = Project._meta.get_field("logo").storage


def _badge_url(request, slug: str) -> str:
    try:
        path = reverse("projects:badge", kwargs={"slug": slug})
    except NoReverseMatch:
        path = f"/badge/{slug}.svg"
    return _absolute(request, path)


def project_representation(project: Project, *, request=None) -> dict:
    """One entry, exactly as ProjectSerializer(project, context={"request": request}).data."""
    return ProjectRepresentation(request)(project)


def project_representations(projects, *, request=None) -> list[dict]:
    """Entries (with_project_relations' prefetches), as ProjectSerializer(many=True).data."""
    build = ProjectRepresentation(request)
    return [build(project) for project in projects]


def representations_from_rows() -> bool:
    """Whether project_representations_by_id() may be used: on PostgreSQL, with DRF's ISO
    8601 dates in UTC (the database formats the nested timestamps)."""
    from django.db import connection

    return (
        connection.vendor == "postgresql"
        and str(api_settings.DATETIME_FORMAT).lower() == ISO_8601
        and settings.USE_TZ
        and str(timezone.get_current_timezone()) == "UTC"
    )


def project_representations_by_id(ids: list[int], *, request=None) -> list[dict]:
    """The entries ``ids`` in that order, as ProjectSerializer(many=True).data, read in one
    query (api.selectors.entry_rows) instead of model instances and their prefetches."""
    from api.selectors import entry_rows

    build = ProjectRepresentation(request)
    return [build.from_row(row) for row in entry_rows(ids)]


class CategoryLeafSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    path = serializers.CharField()
    guide = serializers.CharField(allow_blank=True)
    count = serializers.IntegerField(
        help_text="Published entries listed here (primary category or second_path; a "
        "pillar's include its subcategories', each entry once)."
    )


class CategoryTreeSerializer(CategoryLeafSerializer):
    children = CategoryLeafSerializer(many=True)


class CountSerializer(serializers.Serializer):
    name = serializers.CharField()
    count = serializers.IntegerField()


class PillarCountSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    count = serializers.IntegerField()
    subcategories = CountSerializer(many=True)


class LabelCountSerializer(serializers.Serializer):
    label = serializers.CharField()
    count = serializers.IntegerField()


class LicenseCountSerializer(serializers.Serializer):
    license = serializers.CharField()
    count = serializers.IntegerField()


class YearCountSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    count = serializers.IntegerField()


class FindingTotalsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    by_kind = serializers.DictField(child=serializers.IntegerField())


class StatsSerializer(serializers.Serializer):
    """The numbers behind the /stats/ page, over the published entries."""

    projects = serializers.IntegerField()
    by_pillar = PillarCountSerializer(many=True)
    by_health = serializers.DictField(child=serializers.IntegerField())
    by_maturity = serializers.DictField(
        child=serializers.IntegerField(), help_text="'none' counts entries without one."
    )
    by_last_activity = LabelCountSerializer(many=True)
    licenses = LicenseCountSerializer(many=True, help_text="The ten most common.")
    added_per_year = YearCountSerializer(many=True)
    open_findings = FindingTotalsSerializer()


# --- Writes ---------------------------------------------------------------------------------


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


class ProjectWriteSerializer(serializers.ModelSerializer):
    """What may be written. Which of these fields a user may give depends on who they are:
    a maintainer of the entry: description, homepage_url, documentation_url, other_links,
    tags, twitter_url, repo_url; a new submission adds name and category; staff all."""

    category = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Category.objects.filter(parent__isnull=False),
        help_text="A subcategory's slug.",
    )
    description = serializers.CharField(max_length=5000, allow_blank=True, required=False)

    def to_internal_value(self, data):
        # Refuse NUL characters before any validator queries the database with them
        # (PostgreSQL text cannot hold them; DRF runs uniqueness and lookups regardless).
        if isinstance(data, dict):
            bad = sorted(k for k, v in data.items() if _has_nul(v))
            if bad:
                raise serializers.ValidationError(
                    {k: ["Null characters are not allowed."] for k in bad}
                )
        return super().to_internal_value(data)

    homepage_url = serializers.CharField(max_length=500, validators=[HTTP_URL])
    repo_url = serializers.CharField(
        max_length=500, validators=[HTTP_URL], allow_null=True, required=False
    )
    documentation_url = serializers.CharField(
        max_length=500, validators=[HTTP_URL], allow_blank=True, required=False
    )
    twitter_url = serializers.CharField(
        max_length=500, validators=[HTTP_URL], allow_blank=True, required=False
    )
    crunchbase_url = serializers.CharField(
        max_length=500, validators=[HTTP_URL], allow_blank=True, required=False
    )
    other_links = LinkSerializer(many=True, required=False, max_length=20)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=50), required=False, max_length=20
    )
    maturity = serializers.ChoiceField(
        choices=[*MATURITY_VALUES, "none"], required=False, help_text="'none' clears it."
    )
    publication = serializers.ChoiceField(choices=Publication.choices, required=False)

    class Meta:
        model = Project
        # Everything anyone may write; projects.permissions decides who may write which.
        fields = [*SUBMISSION_FIELDS, *STAFF_ONLY_FIELDS]

    def validate_repo_url(self, value: str | None) -> str | None:
        from projects.services import project_repo_url_clean

        return project_repo_url_clean(
            repo_url=value, exclude_pk=self.instance.pk if self.instance is not None else None
        )

    def validate_maturity(self, value: str) -> str:
        return "" if value == "none" else value

    def validate_tags(self, value: list[str]) -> list[str]:
        return list(dict.fromkeys(t.strip() for t in value if t.strip()))

    def create(self, validated_data):  # pragma: no cover - the views call the services
        raise NotImplementedError("use projects.services")

    def update(self, instance, validated_data):  # pragma: no cover
        raise NotImplementedError("use projects.services")


class PendingChangeRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    fields = serializers.ListField(child=serializers.CharField())


class PendingChangeSerializer(serializers.Serializer):
    """A maintainer's PATCH that touched moderated fields (name, repo_url, category): the
    rest is applied, these wait for staff."""

    detail = serializers.CharField()
    pending_change = PendingChangeRefSerializer()
    project = ProjectSerializer()
