"""The public pages: thin views over projects.selectors, rendering templates/projects/."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.syndication.views import Feed
from django.http import HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers

from landscape.client_ip import client_ip
from landscape.request_input import bad_request
from landscape.site import site_url
from projects import selectors
from projects.forms import FilterForm, ReportForm
from projects.models import Category, Maturity, Project
from projects.web.cache import cached_fragment
from projects.web.feed import PlainTextAtom1Feed
from projects.web.kept import keeps_anonymous_reads
from projects.web.reports import create_user_report, report_allowed


@keeps_anonymous_reads(keyed_on=("HX-Request",))
@require_GET
@vary_on_headers("HX-Request")
def landscape(request):
    form = FilterForm(request.GET)
    params = form.params()
    if params.category and not selectors.category_with_descendants(params.category):
        return bad_request(request, "the query parameter 'category' names no category")
    view = form.view_mode
    # Searching or an explicit sort gives one ranked list; otherwise the landscape layout.
    flat = bool(params.q) or bool(params.sort)

    def render_results() -> str:
        truncated = False
        if flat:
            # A few words can match thousands of entries: one readable page, not all.
            limit = selectors.FLAT_RESULTS_LIMIT
            projects, sections = list(selectors.project_list(params)[: limit + 1]), None
            truncated = len(projects) > limit
            projects = projects[:limit]
        else:
            top, totals = selectors.landscape_top(params)
            projects = list(top)
            sections = selectors.landscape_sections(projects, totals=totals)
        context = {
            "params": params,
            "view": view,
            "flat": flat,
            "projects": projects,
            "count": len(projects),
            "truncated": truncated,
            "sections": sections,
        }
        return render_to_string("projects/_results.html", context)

    results = cached_fragment("results", (params, view), render_results)
    facets = cached_fragment("facets", (params,), lambda: selectors.facet_counts(params))
    context = {
        "form": form,
        "params": params,
        "view": view,
        "results": results,
        "facets": facets,
        "choices": cached_fragment("choices", (), selectors.filter_choices),
        "maturity_choices": FilterForm.base_fields["maturity"].choices,
        "health_choices": FilterForm.base_fields["health"].choices,
        "sort_choices": selectors.SORT_CHOICES,
    }
    if request.htmx:
        response = render(request, "projects/_results_swap.html", context)
        # The address bar gets the parameters that mean something, not every empty field.
        query = QueryDict(mutable=True)
        for key, values in request.GET.lists():
            kept = [v for v in values if v and not (key == "view" and v == "cards")]
            if kept:
                query.setlist(key, kept)
        encoded = query.urlencode()
        response["HX-Push-Url"] = request.path + (f"?{encoded}" if encoded else "")
        return response
    return render(request, "projects/landscape.html", context)


def project_detail(request, slug: str):
    page = selectors.entry_page(slug)
    context = {
        "project": page.project,
        "repository": page.repository,
        "health_words": selectors.health_words(page.repository),
        "stars": page.stars,
        "related": page.related,
        "alternatives": page.alternatives,
        "secondary": page.secondary,
        "maintainers": page.maintainers,
        "links": page.links,
        "findings": page.findings,
        "can_edit": selectors.can_edit_listing(request.user, page.maintainers),
        "badge_url": site_url(reverse("projects:badge", args=[page.project.slug])),
        "params": selectors.ListParams(),
    }
    return render(request, "projects/detail.html", context)


@require_http_methods(["GET", "POST"])
def report_problem(request, slug: str):
    # The form has a page of its own: an entry's page then carries no CSRF token, so it is
    # the same for every anonymous visitor and sets no cookie.
    project = get_object_or_404(Project.objects.published(), slug=slug)
    if request.method == "GET":
        return _report_page(request, project, ReportForm(), status=200)
    form = ReportForm(request.POST)
    if form.is_spam:
        # Answer a bot exactly as a person, and store nothing.
        messages.success(request, "Thank you: your report was sent to the curators.")
        return redirect(project.get_absolute_url() + "#report")
    if not report_allowed(client_ip(request)):
        return _report_page(
            request,
            project,
            form,
            status=429,
            error="Too many reports from your address: please try later.",
        )
    if not form.is_valid():
        return _report_page(request, project, form, status=400)
    create_user_report(
        project,
        reason=form.cleaned_data["reason"],
        message=form.cleaned_data["message"],
        email=form.cleaned_data["email"],
    )
    messages.success(request, "Thank you: your report was sent to the curators.")
    return redirect(project.get_absolute_url() + "#report")


def _report_page(request, project, form, *, status: int, error: str = ""):
    return render(
        request,
        "projects/report.html",
        {"project": project, "report_form": form, "error": error},
        status=status,
    )


def stats(request):
    data = cached_fragment("stats", (), selectors.directory_stats)
    return render(request, "projects/stats.html", {"stats": data})


BADGE_LABEL = "PyTorch Ecosystem"


def _badge_value(project: Project) -> str:
    if project.maturity == Maturity.FOUNDATION:
        return "foundation-hosted"
    if project.category.parent_id and project.category.parent.name == _members_category():
        return "member"
    return "ecosystem"


def _members_category() -> str:
    from django.conf import settings

    return settings.LANDSCAPE_MEMBERS_CATEGORY


def _text_width(text: str) -> int:
    # Verdana-ish 11px: about 6.5 px a character, enough for a badge.
    return int(len(text) * 6.5) + 12


@require_GET
@cache_control(public=True, max_age=3600, stale_while_revalidate=86400)
def badge(request, slug: str):
    project = get_object_or_404(
        Project.objects.published().select_related("category__parent"), slug=slug
    )
    value = _badge_value(project)
    label_w, value_w = _text_width(BADGE_LABEL), _text_width(value)
    svg = render_to_string(
        "projects/badge.svg",
        {
            "label": BADGE_LABEL,
            "value": value,
            "label_w": label_w,
            "value_w": value_w,
            "width": label_w + value_w,
            "label_x": label_w / 2,
            "value_x": label_w + value_w / 2,
            "colour": "#b3360c" if value == "foundation-hosted" else "#1d4ed8",
        },
    )
    response = HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


@require_GET
@xframe_options_exempt
def embed(request, slug: str):
    category = get_object_or_404(Category.objects.select_related("parent"), slug=slug)
    show_archived = request.GET.get("show_archived") == "1"

    def render_embed() -> str:
        params = selectors.ListParams(category=category.slug, show_archived=show_archived)
        projects = list(selectors.project_list(params))
        return render_to_string(
            "projects/_embed_tiles.html", {"projects": projects, "category": category}
        )

    tiles = cached_fragment("embed", (category.slug, show_archived), render_embed)
    return render(request, "projects/embed.html", {"category": category, "tiles": tiles})


class LatestEntriesFeed(Feed):
    """Its links (and so the feed's and entries' ids) are absolute under SITE_URL: the
    syndication framework would otherwise put the request's Host in front of them."""

    feed_type = PlainTextAtom1Feed
    title = "PyTorch Landscape: new and changed listings"
    subtitle = "Entries added to or changed in the directory of the PyTorch ecosystem."

    def link(self):
        return site_url(reverse("projects:landscape"))

    def feed_url(self):
        return site_url(reverse("projects:feed"))

    def items(self):
        return selectors.feed_entries()

    def item_title(self, item: Project) -> str:
        new = abs((item.updated - item.created).total_seconds()) < 60
        return f"{'New' if new else 'Changed'}: {item.name}"

    def item_description(self, item: Project) -> str:
        return f"{item.description} ({item.category})"

    def item_link(self, item: Project) -> str:
        return site_url(item.get_absolute_url())

    def item_pubdate(self, item: Project):
        return item.created

    def item_updateddate(self, item: Project):
        return item.updated

    def item_categories(self, item: Project):
        return [str(item.category)]
