"""The project list's query parameters, thin over the shared read path (projects.selectors,
projects.search): a filter here means what it means on the web pages."""

from __future__ import annotations

from datetime import UTC

import django_filters
from django import forms
from django.db.models import F
from django.db.models.functions import Lower
from django_filters.constants import EMPTY_VALUES
from drf_spectacular.utils import extend_schema_field

from projects.models import Category, Finding, Health, Maturity, Project, Publication
from projects.search import MAX_QUERY_LENGTH, project_search
from projects.selectors import project_filter

MAX_INT = 2**31 - 1


class CommaMultipleChoiceField(forms.MultipleChoiceField):
    """Repeated parameters (``?health=active&health=inactive``) or one comma-separated."""

    def to_python(self, value):
        values = super().to_python(value)
        return [part.strip() for v in values for part in v.split(",") if part.strip()]


class MultipleValueFilter(django_filters.MultipleChoiceFilter):
    field_class = CommaMultipleChoiceField


class StrictBooleanField(forms.NullBooleanField):
    """true/false (or 1/0); anything else is an error, not "no filter"."""

    widget = forms.TextInput  # NullBooleanSelect would read unknown values as "unset"

    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise forms.ValidationError("Give true or false.", code="invalid")

    def validate(self, value):
        pass


class BooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class UTCDateTimeField(django_filters.fields.IsoDateTimeField):
    """ISO 8601, converted to UTC: PostgreSQL refuses offsets beyond ±15:59, which ISO
    allows, and a date near year 1 may not survive the conversion (a 400, not a 500)."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except (OverflowError, ValueError):
            raise forms.ValidationError("Date out of range.", code="invalid") from None


class DateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UTCDateTimeField


@extend_schema_field({"type": "integer", "minimum": 0, "maximum": MAX_INT})
class StarsFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField


class ProjectOrderingFilter(django_filters.OrderingFilter):
    """name, stars, pushed_at, created, updated; '-' for descending; entries without a
    value (no repository checked yet) come last either way."""

    def filter(self, qs, value):
        if value in EMPTY_VALUES:
            return qs
        ordering = []
        for param in value:
            descending = param.startswith("-")
            field = self.param_map[param.lstrip("-")]
            # NULLS LAST only where there can be NULLs: an index read backwards (by
            # created, by name) gives NULLS FIRST, so asking for it would mean a sort.
            nulls_last = True if Project._meta.get_field(field).null else None
            expression = F(field)
            ordering.append(
                expression.desc(nulls_last=nulls_last)
                if descending
                else expression.asc(nulls_last=nulls_last)
            )
        # Ties by lower-case name, as the web pages and the Listing rows (whose index
        # answers ordering=-stars) sort them.
        return qs.order_by(*ordering, Lower("name"), "pk")


class ProjectFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="filter_q",
        max_length=MAX_QUERY_LENGTH,
        help_text="Full-text search, as on the web pages (results ranked unless `ordering`).",
    )
    category = django_filters.ModelChoiceFilter(
        queryset=Category.objects.all(),
        to_field_name="slug",
        method="filter_category",
        help_text="A pillar or subcategory slug; a pillar includes its subcategories, and "
        "entries listed there through second_path count too.",
    )
    maturity = MultipleValueFilter(
        choices=[("none", "none"), *[(m, m) for m in Maturity.values if m]],
        method="filter_maturity",
        help_text="One or more (repeat the parameter or separate with commas); 'none' for "
        "entries without one.",
    )
    health = MultipleValueFilter(
        choices=Health.choices, method="filter_health", help_text="One or more."
    )
    license = django_filters.CharFilter(
        method="filter_license", max_length=100, help_text="The primary repository's license."
    )
    has_repo = BooleanFilter(method="filter_has_repo")
    stars_min = StarsFilter(
        field_name="stars",
        lookup_expr="gte",
        min_value=0,
        max_value=MAX_INT,
    )
    stars_max = StarsFilter(
        field_name="stars",
        lookup_expr="lte",
        min_value=0,
        max_value=MAX_INT,
    )
    pushed_after = DateTimeFilter(
        field_name="pushed_at", lookup_expr="gte", help_text="Last push at or after."
    )
    pushed_before = DateTimeFilter(
        field_name="pushed_at", lookup_expr="lt", help_text="Last push before."
    )
    updated_since = DateTimeFilter(
        field_name="updated", lookup_expr="gte", help_text="Entry changed at or after."
    )
    has_findings = BooleanFilter(method="filter_has_findings", help_text="Has open findings.")
    publication = MultipleValueFilter(
        choices=Publication.choices,
        field_name="publication",
        help_text="Only meaningful to staff and submitters: others see published entries only.",
    )
    ordering = ProjectOrderingFilter(
        fields={
            "name": "name",
            "stars": "stars",
            "pushed_at": "pushed_at",
            "created": "created",
            "updated": "updated",
        },
    )

    class Meta:
        model = Project
        fields: list[str] = []

    def filter_q(self, queryset, name, value):
        return project_search(queryset, value)

    def filter_category(self, queryset, name, value):
        return project_filter(queryset, category=value.slug)

    def filter_maturity(self, queryset, name, value):
        return project_filter(queryset, maturity=list(value))

    def filter_health(self, queryset, name, value):
        return project_filter(queryset, health=list(value))

    def filter_license(self, queryset, name, value):
        return project_filter(queryset, license=value)

    def filter_has_repo(self, queryset, name, value):
        return queryset.filter(repo_url__isnull=not value)

    def filter_has_findings(self, queryset, name, value):
        return project_filter(queryset, has_findings=value)


class FindingFilter(django_filters.FilterSet):
    kind = MultipleValueFilter(choices=Finding.Kind.choices, field_name="kind")
    project = django_filters.CharFilter(
        field_name="project__slug", max_length=220, help_text="An entry's slug."
    )

    class Meta:
        model = Finding
        fields: list[str] = []


# Parameters that FacetCount rows can answer a count for; the others only order or page.
FACET_COUNTABLE = {"category", "maturity", "health", "license", "has_findings"}
PAGING = {"ordering", "page", "page_size", "format", "after"}


def facet_list_params(request):
    """The request as ListParams when FacetCount and Listing rows can answer it exactly (an
    anonymous visitor, PostgreSQL, only facet filters); None: ask the entries."""
    from projects.selectors import ListParams, facet_table_available

    if request.user.is_authenticated:  # staff and submitters also see unpublished entries
        return None
    if not set(request.query_params) <= FACET_COUNTABLE | PAGING or not facet_table_available():
        return None
    filterset = ProjectFilter(
        request.query_params, queryset=Project.objects.none(), request=request
    )
    if not filterset.is_valid():
        return None
    data = filterset.form.cleaned_data
    return ListParams(
        category=data["category"].slug if data.get("category") else "",
        maturity=tuple(data.get("maturity") or ()),
        health=tuple(data.get("health") or ()),
        license=data.get("license") or "",
        has_findings=data.get("has_findings"),
        show_archived=True,  # the API lists archived entries unless maturity says otherwise
    )
