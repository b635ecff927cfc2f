from django.core.paginator import InvalidPage, Page, Paginator
from django.db.models import Count, Window
from django.utils.functional import cached_property
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.utils.urls import remove_query_param, replace_query_param

from api import seek
from landscape.site import SiteAddressed
from projects.selectors import facet_table_count, landscape_page_ids, listing_page_ids


class ProjectPagination(PageNumberPagination):
    """``{count, next, previous, results}``; ``page_size`` up to 200.

    When the view can tell that only facets filter the list (``facet_params``: an
    anonymous visitor on PostgreSQL), the count comes from the FacetCount rows and, for
    ordering=-stars, the page's ids from the Listing rows; a ranked search gets its count
    in the same query as its page. Elsewhere, Django's paginator counts the entries.

    A list in an explicit order pages by key (api.seek): its ``next`` link carries
    ``after``, and the page it names is read from that key, not counted from the start.
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    # The token of the next page's key (api.seek), when the page served has one.
    _after: str | None = None

    def paginate_queryset(self, queryset, request, view=None):
        request = SiteAddressed(request)
        facets = getattr(view, "facet_params", None)
        params = facets(request) if facets is not None else None
        self._known_count = facet_table_count(params) if params is not None else None
        if seek.PARAMETER in request.query_params:  # then table_page_ids() gives None
            keys = seek.sort_keys(queryset)
            if keys is None or "search_rank" in queryset.query.annotations:
                raise ValidationError(
                    {
                        seek.PARAMETER: [
                            "Only a list in an explicit ordering, without a search, pages by "
                            "key: ask this one by page number."
                        ]
                    }
                )
            return self._serve(request, self._sought_page(queryset, request, keys))
        page_ids = table_page_ids(request, params)
        if page_ids is not None:
            ids_only = getattr(view, "reads_pages_by_id", lambda: False)()
            page = self._page_by_ids(queryset, request, params, page_ids, ids_only=ids_only)
            return self._serve(request, page)
        if self._known_count is None and "search_rank" in queryset.query.annotations:
            page = self._counted_in_window(queryset, request)
            if page is not None:
                return self._serve(request, page)
        keys = seek.sort_keys(queryset)
        if keys is not None:
            return self._serve(request, self._sought_page(queryset, request, keys))
        return super().paginate_queryset(queryset, request, view)

    def get_next_link(self):
        url = super().get_next_link()
        if url is None or self._after is None:
            return url
        return replace_query_param(url, seek.PARAMETER, self._after)

    def get_previous_link(self):
        url = super().get_previous_link()
        if url is None or seek.PARAMETER not in self.request.GET:  # also a WSGIRequest
            return url
        return remove_query_param(url, seek.PARAMETER)

    def get_schema_operation_parameters(self, view):
        return [
            *super().get_schema_operation_parameters(view),
            {
                "name": seek.PARAMETER,
                "required": False,
                "in": "query",
                "description": "The key the page starts after, as a list in an explicit "
                "`ordering` gives it in its `next` link: that page is then read from the key, "
                "as fast at page 2,000 as at page 2.",
                "schema": {"type": "string"},
            },
        ]

    def links(self, request, *, number: int, size: int, count: int):
        """For a page served without a queryset (api.public_list): DRF's own next and
        previous links of page ``number`` of ``count`` entries; None when there is no
        such page."""
        paginator = _CountedPaginator([], size, known_count=count)
        if number > paginator.num_pages:
            return None
        self.request, self.page = SiteAddressed(request), Page([], number, paginator)
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
        number = self._valid_number(paginator, number)
        ids = page_ids(params, offset=(number - 1) * size, limit=size)
        if ids_only:
            return Page(ids, number, paginator)
        by_id = {p.pk: p for p in queryset.filter(pk__in=ids)}
        return Page([by_id[pk] for pk in ids if pk in by_id], number, paginator)

    def _valid_number(self, paginator, number) -> int:
        """``number`` as an int within the paginator's pages; DRF's 404 otherwise."""
        try:
            return paginator.validate_number(number)
        except InvalidPage as exc:
            raise NotFound(
                self.invalid_page_message.format(page_number=number, message=str(exc))
            ) from exc

    def _sought_page(self, queryset, request, keys: list[seek.SortKey]) -> Page:
        """The page ``after`` names, read from its key; or, without ``after``, the page by
        number as usual. Either way, the token of the next page's key when there is one."""
        size = self.get_page_size(request)
        signature = seek.list_signature(request, size)
        queryset = seek.with_keys(queryset, keys)
        token = request.query_params.get(seek.PARAMETER)
        if token is None:
            super().paginate_queryset(queryset, request)
            page = self.page
        else:
            number, values = seek.read_token(token, keys, signature=signature)
            asked = request.query_params.get(self.page_query_param)
            if asked is not None and asked != str(number):
                raise ValidationError(
                    {seek.PARAMETER: [f"This token starts page {number}, not page {asked}."]}
                )
            paginator = self.django_paginator_class(queryset, size)
            number = self._valid_number(paginator, number)
            page = Page(seek.rows_after(queryset, keys, values, limit=size), number, paginator)
        if page.has_next() and len(page.object_list):
            last = page.object_list[-1]
            self._after = seek.token_for(last, keys, page=page.number + 1, signature=signature)
        return page

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
    from the FacetCount rows. None: the queryset's own order (and a page sought by key)."""
    if params is None or seek.PARAMETER in request.query_params:
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
