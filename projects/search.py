"""Full-text search over entries, one function for the web pages and the API.

The contract: ``project_search(queryset, q)`` returns the queryset narrowed to the
entries matching ``q``, annotated with ``search_rank`` (higher is better) and
ordered by it. (A portable first version; the PostgreSQL one ranks with a weighted
tsvector and trigram similarity.)
"""

from __future__ import annotations

from django.db.models import Case, FloatField, Q, Value, When


def project_search(queryset, q: str):
    terms = [t for t in q.split() if t]
    if not terms:
        return queryset.annotate(search_rank=Value(0.0, output_field=FloatField()))
    condition = Q()
    for term in terms:
        condition &= Q(name__icontains=term) | Q(description__icontains=term)
    return (
        queryset.filter(condition)
        .annotate(
            search_rank=Case(
                When(name__iexact=q, then=Value(3.0)),
                When(name__icontains=terms[0], then=Value(2.0)),
                default=Value(1.0),
                output_field=FloatField(),
            )
        )
        .order_by("-search_rank", "name")
    )
