from django.core.paginator import InvalidPage, Page, Paginator
from django.db.models import Count, Window
from django.utils.functional import cached_property
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination

from projects.selectors import facet_table_count, landscape_page_ids, listing_page_ids


class ProjectPagination(PageNumberPagination):
    """``{count, next, previous, results}``; ``page_size`` up to 200.

    When the view can tell that only facets filter the list (``facet_params``: an
    anonymous visitor on PostgreSQL), the count comes from the FacetCount rows and, for
    ordering=-stars, the page's ids from the Listing rows; a ranked search gets its count
    in the same query as its page. Elsewhere, Django's paginator counts the entries.
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def paginate_queryset(self, queryset, request, view=None):
        facets = getattr(view, "facet_params", None)
        params = facets(request) if facets is not None else None
        self._known_count = facet_table_count(params) if params is not None else None
        page_ids = table_page_ids(request, params)
        if page_ids is not None:
            ids_only = getattr(view, "reads_pages_by_id", lambda: False)()
            page = self._page_by_ids(queryset, request, params, page_ids, ids_only=ids_only)
            return self._serve(request, page)
        if self._known_count is None and "search_rank" in queryset.query.annotations:
            page = self._counted_in_window(queryset, request)
            if page is not None:
                return self._serve(request, page)
        return super().paginate_queryset(queryset, request, view)

    def links(self, request, *, number: int, size: int, count: int):
        """For a page served without a queryset (api.public_list): DRF's own next and
        previous links of page ``number`` of ``count`` entries; None when there is no
        such page."""
        paginator = _CountedPaginator([], size, known_count=count)
        if number > paginator.num_pages:
            return None
        self.request, self.page = request, Page([], number, paginator)
        return self.get_next_link(), self.get_previous_link()

    def _serve(self, request, page: Page) -> list:
        # What PageNumberPagination.paginate_queryset() leaves behind for the response.
        self.request, self.page = request, page
        if page.paginator.num_pages > 1 and self.template is not None:
            self.display_page_controls = True
        return list(page)

    def _page_by_ids(self, queryset, request, params, page_ids, *, ids_only: bool) -> Page:
        """The page's ids from ``page_ids`` (table_page_ids()), then those entries from
        ``queryset`` in that order; with ``ids_only``, the ids themselves (both functions
        give published entries only)."""
        size = self.get_page_size(request)
        paginator = self.django_paginator_class(queryset, size)
        number = request.query_params.get(self.page_query_param) or 1
        if number in self.last_page_strings:
            number = paginator.num_pages
        try:
            number = paginator.validate_number(number)
        except InvalidPage as exc:
            raise NotFound(
                self.invalid_page_message.format(page_number=number, message=str(exc))
            ) from exc
        ids = page_ids(params, offset=(number - 1) * size, limit=size)
        if ids_only:
            return Page(ids, number, paginator)
        by_id = {p.pk: p for p in queryset.filter(pk__in=ids)}
        return Page([by_id[pk] for pk in ids if pk in by_id], number, paginator)

    def _counted_in_window(self, queryset, request) -> Page | None:
        """A ranked search's page and its count in one query (``COUNT(*) OVER ()``): the
        matches are found and ranked once, not once more for a COUNT. None (the usual
        path, with its 404 for a page out of range) when that page is empty."""
        try:
            number = int(request.query_params.get(self.page_query_param) or 1)
        except ValueError:
            return None
        size = self.get_page_size(request)
        # A page number past any count (as the public list's, at most nine digits) is the
        # usual path's 404: its offset could overflow PostgreSQL's bigint.
        if not 1 <= number < 10**9 or not size:
            return None
        bottom = (number - 1) * size
        rows = list(queryset.annotate(_matches=Window(Count("pk")))[bottom : bottom + size])
        if not rows:
            return None
        paginator = _CountedPaginator(queryset, size, known_count=rows[0]._matches)
        return Page(rows, number, paginator)

    def django_paginator_class(self, object_list, per_page):
        return _CountedPaginator(object_list, per_page, known_count=self._known_count)


def table_page_ids(request, params):
    """The function giving a page's ids without sorting the entries, when the tables kept
    by triggers can: by stars from the Listing rows; in landscape order (no ``ordering``)
    from the FacetCount rows. None: the queryset's own order."""
    if params is None:
        return None
    ordering = request.query_params.get("ordering")
    if ordering == "-stars":
        return listing_page_ids
    if not ordering:
        return landscape_page_ids
    return None


class _CountedPaginator(Paginator):
    """A Paginator told its count (when known) instead of counting ``object_list``."""

    def __init__(self, object_list, per_page, *, known_count: int | None = None):
        super().__init__(object_list, per_page)
        self.known_count = known_count

    @cached_property
    def count(self) -> int:
        if self.known_count is not None:
            return self.known_count
        return super().count
