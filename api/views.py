"""The API's views: thin over projects.selectors (reads) and projects.services (writes)."""

from __future__ import annotations

import csv
import io

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from api import caching
from api.filters import FindingFilter, ProjectFilter, facet_list_params
from api.pagination import ProjectPagination, table_page_ids
from api.permissions import ProjectPermission
from api.public_list import public_list_answer, public_list_response
from api.renderers import CSVRenderer, FirstRendererNegotiation, YAMLRenderer
from api.selectors import (
    api_stats,
    category_tree_with_counts,
    visible_projects,
)
from api.serializers import (
    CategoryTreeSerializer,
    FindingSerializer,
    PendingChangeSerializer,
    ProjectSerializer,
    ProjectWriteSerializer,
    StatsSerializer,
    project_representation,
    project_representations,
    project_representations_by_id,
    representations_from_rows,
)
from projects.models import (
    Finding,
    Maintainer,
    Project,
    RepositoryStatus,
    SecondaryCategory,
)
from projects.moderation import ModerationError
from projects.permissions import is_moderator
from projects.selectors import landscape_export_yaml, with_repository_facts
from projects.services import (
    ProjectWriteRefused,
    project_create,
    project_delete,
    project_editable_fields,
    project_submit,
    project_update,
)

WRITE_METHODS = ("POST", "PATCH", "PUT")

# Why a field is refused to a user who may otherwise write the entry.
REFUSAL_REASONS = {
    "maturity": "Maturity is set by the curators: only staff may change it.",
    "publication": "Publication is decided on review: only staff may change it.",
}
DEFAULT_REFUSAL = "Only staff may change this field."
# Why a field is not written through this endpoint at all.
NOT_WRITABLE_REASONS = {
    "alternatives": "Alternatives are not written here: a maintainer proposes one in the "
    "admin, and it is listed once a maintainer of the other entry (or staff) accepts it.",
}


LANDSCAPE_ORDER = ("category__parent__position", "category__position", "position", "pk")


def with_project_relations(queryset):
    """Everything a ProjectSerializer reads, in a fixed number of queries."""
    return with_repository_facts(
        queryset.select_related("category__parent").prefetch_related(
            Prefetch(
                "secondarycategory_set",
                queryset=SecondaryCategory.objects.select_related("category__parent").order_by(
                    "position"
                ),
            ),
            Prefetch(
                "repositories",
                queryset=RepositoryStatus.objects.filter(is_primary=True).order_by("pk"),
                to_attr="primary_repositories",
            ),
            Prefetch(
                "findings",
                queryset=Finding.objects.filter(state=Finding.State.OPEN).order_by(
                    "-last_seen", "pk"
                ),
                to_attr="open_findings",
            ),
            Prefetch(
                "maintainers",
                queryset=Maintainer.objects.select_related("user").order_by("pk"),
                to_attr="public_maintainers",
            ),
        )
    )


class ConditionalListMixin:
    """ETag/Last-Modified on lists (and details, below): a conditional GET that still holds
    answers 304 before anything is serialized. A list's validators are the data version's
    (no query); an anonymous read is answered whole before DRF (projects.web.kept)."""

    def list(self, request, *args, **kwargs):
        def page_data():
            # The queryset is built only when the body must be computed.
            page = self.paginate_queryset(self.list_queryset())
            return self.get_paginated_response(self.list_representation(page)).data

        return caching.respond(request, self, page_data)

    def list_queryset(self):
        return self.filter_queryset(self.get_queryset())

    def list_representation(self, page) -> list:
        return self.get_serializer(page, many=True).data


class ConditionalRetrieveMixin:
    def retrieve(self, request, *args, **kwargs):
        instance = self.get_object()
        validators = caching.object_validators(request, instance)
        if (response := caching.not_modified(request, validators)) is not None:
            return response
        response = Response(self.representation(instance))
        return caching.apply_headers(request, response, validators)

    def representation(self, instance):
        return self.get_serializer(instance).data


def _validation_detail(exc) -> dict:
    if isinstance(exc, DjangoValidationError) and hasattr(exc, "message_dict"):
        return exc.message_dict
    return {"non_field_errors": [str(getattr(exc, "message", None) or exc)]}


@extend_schema_view(
    list=extend_schema(
        summary="List entries",
        description="Published entries (and, for staff "
        "and submitters, the unpublished ones they may see), filtered and paged.",
    ),
    retrieve=extend_schema(summary="One entry"),
)
class ProjectViewSet(
    caching.KeptReadsMixin,
    ConditionalListMixin,
    ConditionalRetrieveMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    lookup_field = "slug"
    # Any segment reaches the view, so an unknown slug answers a JSON 404 like every other.
    lookup_value_regex = r"[^/]+"
    permission_classes = [ProjectPermission]
    filterset_class = ProjectFilter
    pagination_class = ProjectPagination
    serializer_class = ProjectSerializer

    def facet_params(self, request):
        """The request as ListParams when FacetCount and Listing rows can answer it."""
        if not hasattr(self, "_facet_params"):
            self._facet_params = facet_list_params(request)
        return self._facet_params

    @classmethod
    def as_view(cls, actions=None, **initkwargs):
        view = super().as_view(actions, **initkwargs)
        if actions and actions.get("get") == "list":
            # A plain anonymous read of a page by stars, answered before the session and
            # DRF (projects.web.kept); with a cookie, list() below gives the same answer.
            view.answers_anonymous_reads = public_list_answer
        return view

    def list(self, request, *args, **kwargs):
        # The public's pages by stars come from stored bodies (api.public_list).
        response = public_list_response(request, pagination=self.paginator)
        return response if response is not None else super().list(request, *args, **kwargs)

    def list_queryset(self):
        # When the tables kept by triggers give the page's ids exactly (api.pagination: by
        # stars, or the whole directory in landscape order), the entries are then read by
        # id, and the filters need not run over them.
        if table_page_ids(self.request, self.facet_params(self.request)) is not None:
            return self.get_queryset()
        return super().list_queryset()

    def get_queryset(self):
        # Landscape order unless `q` (ranked) or `ordering` says otherwise.
        visible = visible_projects(self.request.user).order_by(*LANDSCAPE_ORDER)
        if self.request.method not in ("GET", "HEAD"):
            return visible
        if self.reads_pages_by_id():  # a page's ids; its entries are read in one query
            return with_repository_facts(visible).only("pk")
        return with_project_relations(visible)

    def reads_pages_by_id(self) -> bool:
        """A list page needs only its entries' ids (api.pagination may give just those)."""
        return self.action == "list" and representations_from_rows()

    def get_object(self):
        # The same visibility on every path; filters are for lists, not for one entry.
        obj = get_object_or_404(self.get_queryset(), slug=self.kwargs["slug"])
        self.check_object_permissions(self.request, obj)
        return obj

    def get_serializer_class(self):
        if self.request is not None and self.request.method in WRITE_METHODS:
            return ProjectWriteSerializer
        return ProjectSerializer

    # Reads: ProjectSerializer's output without its per-row machinery (same dicts).
    def list_representation(self, page) -> list:
        if self.reads_pages_by_id():
            ids = [entry if isinstance(entry, int) else entry.pk for entry in page]
            return project_representations_by_id(ids, request=self.request)
        return project_representations(page, request=self.request)

    def representation(self, instance):
        return project_representation(instance, request=self.request)

    # --- writes ---------------------------------------------------------------------------

    def _payload(self, request, *, project) -> dict:
        """The request's fields, after refusing those beyond the user's rights (403) and
        naming unknown or read-only ones (400)."""
        data = request.data
        if not isinstance(data, dict):
            raise ValidationError({"non_field_errors": ["Expected a JSON object."]})
        if hasattr(data, "dict"):  # a QueryDict from a form post
            data = {k: (data.getlist(k) if k in ("tags",) else data[k]) for k in data}
        writable = set(ProjectWriteSerializer.Meta.fields)
        allowed = project_editable_fields(project=project, user=request.user)
        refused = sorted((set(data) & writable) - allowed)
        if refused:
            raise PermissionDenied({f: [REFUSAL_REASONS.get(f, DEFAULT_REFUSAL)] for f in refused})
        readable = set(ProjectSerializer.Meta.fields)
        errors = {
            f: [
                NOT_WRITABLE_REASONS.get(f)
                or ("This field is read-only." if f in readable else "Unknown field.")
            ]
            for f in sorted(set(data) - writable)
        }
        if errors:
            raise ValidationError(errors)
        return data

    def _representation(self, project: Project, status_code: int, **headers) -> Response:
        project = with_project_relations(Project.objects.all()).get(pk=project.pk)
        data = ProjectSerializer(project, context=self.get_serializer_context()).data
        return Response(data, status=status_code, headers=headers)

    @extend_schema(
        summary="Submit an entry",
        description="Any signed-in user: the entry waits for review (publication 'pending') "
        "and is visible only to its submitter and staff. Staff create published entries "
        "unless they give `publication`.",
        request=ProjectWriteSerializer,
        responses={201: ProjectSerializer},
    )
    def create(self, request, *args, **kwargs):
        data = self._payload(request, project=None)
        serializer = ProjectWriteSerializer(data=data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        try:
            if is_moderator(request.user):
                project = project_create(data=serializer.validated_data, user=request.user)
            else:
                project = project_submit(data=serializer.validated_data, user=request.user)
        except ProjectWriteRefused as exc:
            raise PermissionDenied() from exc
        except (ModerationError, DjangoValidationError) as exc:
            raise ValidationError(_validation_detail(exc)) from exc
        location = reverse("api:project-detail", args=[project.slug])
        return self._representation(project, status.HTTP_201_CREATED, Location=location)

    @extend_schema(
        summary="Change an entry",
        description="A maintainer of the entry changes description, homepage_url, "
        "documentation_url, other_links, tags and twitter_url at once; a change of name, "
        "repo_url or category waits for review by staff (202, with the pending change); "
        "maturity and publication answer 403. Staff change every writable field at once.",
        request=ProjectWriteSerializer,
        responses={200: ProjectSerializer, 202: PendingChangeSerializer},
    )
    def partial_update(self, request, *args, **kwargs):
        project = self.get_object()
        data = self._payload(request, project=project)
        serializer = ProjectWriteSerializer(
            project, data=data, partial=True, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        try:
            project, held = project_update(
                project=project, data=serializer.validated_data, user=request.user
            )
        except ProjectWriteRefused as exc:
            raise PermissionDenied() from exc
        except ModerationError as exc:
            raise ValidationError({"non_field_errors": [str(exc)]}) from exc
        if held is not None:
            # The moderated part waits for staff; what a maintainer may change is applied.
            return Response(
                {
                    "detail": "Saved; the change of "
                    f"{', '.join(sorted(held.changes))} waits for review by staff.",
                    "pending_change": {"id": held.pk, "fields": sorted(held.changes)},
                    "project": self._representation(project, status.HTTP_200_OK).data,
                },
                status=status.HTTP_202_ACCEPTED,
            )
        return self._representation(project, status.HTTP_200_OK)

    @extend_schema(summary="Delete an entry (staff)", responses={204: None})
    def destroy(self, request, *args, **kwargs):
        project = self.get_object()
        try:
            project_delete(project=project, user=request.user)
        except ProjectWriteRefused as exc:
            raise PermissionDenied() from exc
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(list=extend_schema(summary="Open findings on published entries"))
class FindingViewSet(
    caching.KeptReadsMixin, ConditionalListMixin, mixins.ListModelMixin, viewsets.GenericViewSet
):
    serializer_class = FindingSerializer
    filterset_class = FindingFilter
    pagination_class = ProjectPagination

    def get_queryset(self):
        return (
            Finding.objects.filter(
                state=Finding.State.OPEN, project__in=Project.objects.published()
            )
            .select_related("project")
            .order_by("-last_seen", "pk")
        )


class _PublishedAggregateView(caching.KeptReadsMixin, APIView):
    """A read over all published entries, with the same validators (and the same kept
    anonymous JSON bodies) as the lists."""

    def respond(self, request, compute):
        return caching.respond(request, self, compute)


class CategoryTreeView(_PublishedAggregateView):
    @extend_schema(
        summary="The category tree with counts",
        responses={200: CategoryTreeSerializer(many=True)},
    )
    def get(self, request):
        return self.respond(
            request,
            lambda: CategoryTreeSerializer(category_tree_with_counts(), many=True).data,
        )


class StatsView(_PublishedAggregateView):
    @extend_schema(summary="Counts over the published entries", responses={200: StatsSerializer})
    def get(self, request):
        return self.respond(request, lambda: StatsSerializer(api_stats()).data)


# --- Exports --------------------------------------------------------------------------------

CSV_COLUMNS = [
    "slug",
    "name",
    "category",
    "maturity",
    "health",
    "homepage_url",
    "repo_url",
    "documentation_url",
    "stars",
    "forks",
    "pushed_at",
    "last_release_at",
    "license",
    "archived",
    "open_findings",
    "description",
    "created",
    "updated",
]


def _csv_cell(value) -> str:
    text = "" if value is None else str(value)
    # A cell a spreadsheet would run as a formula is written as text.
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


class _ExportView(APIView):
    content_negotiation_class = FirstRendererNegotiation

    def export(self, request, compute, **headers):
        # The lists' validators; the body (every published entry) is never kept.
        validators = caching.list_validators(request)
        if (response := caching.not_modified(request, validators)) is not None:
            return response
        response = Response(compute(), headers=headers)
        return caching.apply_headers(request, response, validators)


_LANDSCAPE_ITEM = {
    "type": "object",
    "description": "A landscape2 item: `item: null`, then its keys (name, homepage_url, "
    "logo, repo_url, project, extra, ...).",
    "required": ["name"],
    "properties": {"item": {"nullable": True}, "name": {"type": "string"}},
    "additionalProperties": True,
}
LANDSCAPE_YML_SCHEMA = {
    "type": "object",
    "required": ["landscape"],
    "properties": {
        "landscape": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "subcategories"],
                "properties": {
                    "category": {"nullable": True},
                    "name": {"type": "string"},
                    "subcategories": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["name"],
                            "properties": {
                                "subcategory": {"nullable": True},
                                "name": {"type": "string"},
                                "items": {
                                    "type": "array",
                                    "nullable": True,
                                    "items": _LANDSCAPE_ITEM,
                                },
                            },
                        },
                    },
                },
            },
        }
    },
}


class LandscapeYamlExport(_ExportView):
    renderer_classes = [YAMLRenderer]

    @extend_schema(
        summary="The published entries as a landscape2 landscape.yml",
        description="The format `import_landscape` reads (and landscape2 too).",
        responses={(200, "application/yaml"): OpenApiResponse(LANDSCAPE_YML_SCHEMA)},
    )
    def get(self, request):
        return self.export(request, landscape_export_yaml)


class ProjectsCsvExport(_ExportView):
    renderer_classes = [CSVRenderer]

    @extend_schema(
        summary="The published entries as CSV",
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR)},
    )
    def get(self, request):
        def compute() -> str:
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(CSV_COLUMNS)
            published = Project.objects.published().order_by(*LANDSCAPE_ORDER)
            for p in with_project_relations(published):
                repo = p.primary_repositories[0] if p.primary_repositories else None
                row = {
                    "slug": p.slug,
                    "name": p.name,
                    "category": p.category.slug,
                    "maturity": p.maturity or "none",
                    "health": p.health,
                    "homepage_url": p.homepage_url,
                    "repo_url": p.repo_url,
                    "documentation_url": p.documentation_url,
                    "stars": repo.stars if repo else None,
                    "forks": repo.forks if repo else None,
                    "pushed_at": repo.pushed_at.isoformat() if repo and repo.pushed_at else None,
                    "last_release_at": repo.last_release_at.isoformat()
                    if repo and repo.last_release_at
                    else None,
                    "license": repo.license if repo else None,
                    "archived": repo.archived if repo else None,
                    "open_findings": len(p.open_findings),
                    "description": p.description,
                    "created": p.created.isoformat(),
                    "updated": p.updated.isoformat(),
                }
                writer.writerow([_csv_cell(row[c]) for c in CSV_COLUMNS])
            return buffer.getvalue()

        return self.export(
            request, compute, **{"Content-Disposition": 'attachment; filename="projects.csv"'}
        )


class ProjectsJsonExport(_ExportView):
    renderer_classes = [JSONRenderer]

    @extend_schema(
        summary="Every published entry as JSON (one array, not paged)",
        responses={200: ProjectSerializer(many=True)},
    )
    def get(self, request):
        def compute():
            projects = with_project_relations(
                Project.objects.published().order_by(*LANDSCAPE_ORDER)
            )
            return project_representations(projects, request=request)

        return self.export(request, compute)
