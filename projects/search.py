"""Full-text search over entries, one function for the web pages and the API.

The contract: ``project_search(queryset, q)`` returns the queryset narrowed to the
entries matching ``q``, annotated with ``search_rank`` (higher is better) and
ordered by it. ``prepared_search(queryset, q)`` settles the search once (whether typos
are looked for) to apply it to several querysets narrowed from ``queryset``.

On PostgreSQL it reads the stored, weighted ``search_vector`` column (name A; tags and
category names B; description C; see migration 0002_search) with websearch syntax
(``"exact phrase"``, ``-excluded``, ``or``) where every plain word also matches as a
prefix, and, when the words find fewer than FUZZY_BELOW entries, adds trigram
similarity on the name so that typos still find the entry (``pytorh lightnin`` ranks
PyTorch Lightning first). Elsewhere (SQLite) every word must
appear in the name, tags, categories or description, and name matches rank first.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Case, ExpressionWrapper, F, FloatField, Q, Value, When
from django.db.models.expressions import Expression
from django.db.models.functions import Lower
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Names whose trigram similarity to the whole query reaches this are kept as typo matches.
TRIGRAM_THRESHOLD = 0.3
# How much a name's trigram similarity weighs against ts_rank_cd (which is mostly < 1).
TRIGRAM_WEIGHT = 2.0
MAX_QUERY_LENGTH = 200
# Below this many full-text matches, names similar to the query (typos) are added.
FUZZY_BELOW = 20

_WORD = re.compile(r"\w+", re.UNICODE)
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')


@dataclass
class ParsedQuery:
    """A websearch-style query: groups joined by OR, each a list of AND-ed clauses."""

    groups: list[list[tuple[bool, list[str]]]] = field(default_factory=list)

    @property
    def positive_words(self) -> list[str]:
        return [w for g in self.groups for neg, words in g if not neg for w in words]

    @property
    def negative_words(self) -> list[str]:
        return [w for g in self.groups for neg, words in g if neg for w in words]


def parse_query(q: str) -> ParsedQuery:
    """Split ``q`` into OR-groups of (negated, words) clauses; a quoted phrase is one clause."""
    q = (q or "")[:MAX_QUERY_LENGTH]
    groups: list[list[tuple[bool, list[str]]]] = [[]]
    for match in _TOKEN.finditer(q):
        negated_phrase, phrase, bare = match.groups()
        if phrase is not None:
            words = _WORD.findall(phrase.lower())
            if words:
                groups[-1].append((negated_phrase == "-", words))
            continue
        if bare.lower() == "or":
            if groups[-1]:
                groups.append([])
            continue
        negated = bare.startswith("-") and len(bare) > 1
        words = _WORD.findall(bare.lower())
        if words:
            groups[-1].append((negated, words))
    return ParsedQuery([g for g in groups if g])


def _tsquery_text(parsed: ParsedQuery) -> str:
    """A to_tsquery() string made only of quoted \\w+ lexemes, so it can never be malformed."""

    def lexeme(word: str, prefix: bool) -> str:
        return f"'{word}'" + (":*" if prefix else "")

    or_parts = []
    for group in parsed.groups:
        and_parts = []
        for negated, words in group:
            if len(words) > 1:
                clause = "(" + " <-> ".join(lexeme(w, False) for w in words) + ")"
            else:
                # One-letter prefixes match nearly everything: those stay whole words.
                clause = lexeme(words[0], not negated and len(words[0]) > 1)
            and_parts.append(("!" if negated else "") + clause)
        or_parts.append("(" + " & ".join(and_parts) + ")")
    return " | ".join(or_parts)


def project_search(queryset, q: str):
    return prepared_search(queryset, q).apply(queryset)


@dataclass(frozen=True)
class PreparedSearch:
    """A search whose terms are settled (on PostgreSQL: whether typo matches are looked
    for), to apply to any number of querysets of entries: a page that shows a search's
    results and its facet counts asks the same question of every one of them."""

    # A queryset of entries -> the matches among them, with ``search_rank``, best first.
    apply: Callable[[Any], Any]


def prepared_search(queryset, q: str) -> PreparedSearch:
    """The search ``q`` as project_search() would run it on ``queryset``, ready to be
    applied there or to querysets narrowed from it."""
    parsed = parse_query(q)
    if not parsed.groups:
        return PreparedSearch(
            lambda qs: qs.annotate(search_rank=Value(0.0, output_field=FloatField()))
        )
    if connection.vendor == "postgresql":
        return _postgres_search(queryset, parsed)
    return PreparedSearch(lambda qs: _portable_search(qs, parsed))


class _BaseTableColumn(Expression):
    """A column of the queryset's own table that the model does not declare (search_vector).

    It asks the compiler for the base table's current alias, so it stays right when the
    queryset is used as a subquery (``pk__in=qs``), where Django relabels tables.
    """

    def __init__(self, column: str, output_field):
        super().__init__(output_field=output_field)
        self.column = column

    def as_sql(self, compiler, connection):
        alias = compiler.query.get_initial_alias()
        return (
            f"{compiler.quote_name_unless_alias(alias)}.{connection.ops.quote_name(self.column)}",
            [],
        )


def _postgres_search(queryset, parsed: ParsedQuery) -> PreparedSearch:
    from django.contrib.postgres.search import (
        SearchQuery,
        SearchRank,
        SearchVectorField,
        TrigramSimilarity,
    )

    tsquery = SearchQuery(_tsquery_text(parsed), search_type="raw", config="english")
    # The trigram side compares the name with the words the query wants (not the excluded).
    plain = " ".join(parsed.positive_words)
    vector = _BaseTableColumn("search_vector", SearchVectorField())
    aliases = {
        "_search_vector": vector,
        "_name_similarity": TrigramSimilarity(Lower("name"), plain),
        "_lower_name": Lower("name"),
    }
    queryset = queryset.alias(**aliases)
    match = Q(_search_vector=tsquery)
    # Typo matches (trigram similarity of the name) are looked for only when the words
    # themselves find few entries: comparing the name of every entry sharing trigrams
    # with the query costs more than the full-text match, and a query whose words match
    # many entries is not a typo. The check reads at most FUZZY_BELOW rows.
    fuzzy = bool(plain) and queryset.filter(match).order_by()[:FUZZY_BELOW].count() < FUZZY_BELOW
    if fuzzy:
        # pg_trgm's % operator (similarity above pg_trgm.similarity_threshold, 0.3 by
        # default, as TRIGRAM_THRESHOLD) can use the trigram index on lower(name); a
        # comparison of similarity() with a number reads every row.
        typo = Q(_lower_name__trigram_similar=plain)
        if parsed.negative_words:  # a typo match must still honour "-word"
            excluded = " | ".join(f"'{w}'" for w in parsed.negative_words)
            typo &= ~Q(_search_vector=SearchQuery(excluded, search_type="raw", config="english"))
        match |= typo
    rank = SearchRank(vector, tsquery, cover_density=True) + Case(
        When(name__iexact=plain, then=Value(10.0)), default=Value(0.0)
    )
    if fuzzy:
        rank += Value(TRIGRAM_WEIGHT) * F("_name_similarity")
    return PreparedSearch(
        lambda qs: (
            qs.alias(**aliases)
            .filter(match)
            .annotate(search_rank=ExpressionWrapper(rank, output_field=FloatField()))
            .order_by("-search_rank", "name")
        )
    )


def _word_q(word: str) -> Q:
    return (
        Q(name__icontains=word)
        | Q(description__icontains=word)
        | Q(search_categories__icontains=word)
        # JSON list serialized as text: good enough for tags on any backend.
        | Q(tags__icontains=word)
    )


def _portable_search(queryset, parsed: ParsedQuery):
    condition = Q()
    for group in parsed.groups:
        group_q = Q()
        for negated, words in group:
            clause = Q()
            for word in words:
                clause &= _word_q(word)
            group_q &= ~clause if negated else clause
        condition |= group_q
    whole = " ".join(parsed.positive_words)
    whens = [When(name__iexact=whole, then=Value(3.0))]
    if parsed.positive_words:
        first = parsed.positive_words[0]
        whens += [
            When(name__istartswith=first, then=Value(2.5)),
            When(name__icontains=first, then=Value(2.0)),
        ]
    return (
        queryset.filter(condition)
        .annotate(search_rank=Case(*whens, default=Value(1.0), output_field=FloatField()))
        .order_by("-search_rank", F("name").asc())
    )


def highlight(text: str, q: str) -> SafeString:
    """``text`` escaped, with every query word (as a word prefix) wrapped in ``<mark>``."""
    text = text or ""
    words = sorted(set(parse_query(q).positive_words), key=len, reverse=True)
    if not words:
        return escape(text)
    pattern = re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")", re.IGNORECASE)
    out, last = [], 0
    for match in pattern.finditer(text):
        out.append(escape(text[last : match.start()]))
        out.append(f"<mark>{escape(match.group(0))}</mark>")
        last = match.end()
    out.append(escape(text[last:]))
    return mark_safe("".join(out))  # every piece is escaped above


# --- The denormalized category names the vector reads ------------------------------------


def category_names_text(category, secondary_categories=()) -> str:
    names: list[str] = []
    for cat in [category, *secondary_categories]:
        if cat is None:
            continue
        if cat.parent_id:
            names.append(cat.parent.name)
        names.append(cat.name)
    return " ".join(dict.fromkeys(names))


def update_search_categories(project_ids) -> int:
    """Recompute ``Project.search_categories`` for these entries; returns rows changed.

    Called by signals (entry saved, second_path row saved or deleted, category renamed)
    and by the importer after it rewrites an entry's second_path with bulk_create.
    """
    from projects.models import Project, SecondaryCategory

    ids = [getattr(p, "pk", p) for p in project_ids]
    if not ids:
        return 0
    projects = Project.objects.filter(pk__in=ids).select_related("category__parent")
    secondary: dict[int, list] = {}
    for sc in (
        SecondaryCategory.objects.filter(project_id__in=ids)
        .select_related("category__parent")
        .order_by("project_id", "position")
    ):
        secondary.setdefault(sc.project_id, []).append(sc.category)
    changed = 0
    for project in projects:
        text = category_names_text(project.category, secondary.get(project.pk, []))
        if text != project.search_categories:
            changed += Project.objects.filter(pk=project.pk).update(search_categories=text)
    return changed
