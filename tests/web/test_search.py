"""Search: the query parser, the PostgreSQL ranking on the real landscape, the portable
fallback, highlighting, and the category names the search vector reads."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from projects.models import Finding, Project, SecondaryCategory
from projects.search import (
    _portable_search,
    _tsquery_text,
    highlight,
    parse_query,
    project_search,
)

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the weighted tsvector exists on PostgreSQL only"
)


def names(queryset) -> list[str]:
    return [p.name for p in queryset]


# --- Parsing ---------------------------------------------------------------------------------


def test_parse_query_understands_websearch_syntax():
    parsed = parse_query('graph "neural network" -archived or vision')
    assert parsed.groups == [
        [(False, ["graph"]), (False, ["neural", "network"]), (True, ["archived"])],
        [(False, ["vision"])],
    ]
    assert parsed.positive_words == ["graph", "neural", "network", "vision"]
    assert parsed.negative_words == ["archived"]


@pytest.mark.parametrize(
    "hostile",
    ["'", "a:*", "!!", "(", "x & | y", "'; drop table x; --", '"', "-", "or", "\\", "日本 語"],
)
def test_tsquery_text_is_made_of_quoted_words_only(hostile):
    text = _tsquery_text(parse_query(hostile))
    # Only quoted \w+ lexemes, operators and parentheses: never a syntax error.
    stripped = (
        text.replace(":*", "").replace("<->", "").replace("&", "").replace("|", "").replace("!", "")
    )
    for token in stripped.replace("(", " ").replace(")", " ").split():
        assert token.startswith("'")
        assert token.endswith("'")
        assert "'" not in token[1:-1]


def test_prefix_matching_skips_one_letter_words():
    assert _tsquery_text(parse_query("c lightn")) == "('c' & 'lightn':*)"


# --- PostgreSQL on the real landscape ----------------------------------------------------


@pytest.fixture
def real_landscape(db, shared_data):
    call_command("import_landscape", str(shared_data / "landscape.yml"), verbosity=0)


@postgres_only
def test_typos_put_pytorch_lightning_first(real_landscape):
    results = names(project_search(Project.objects.all(), "pytorh lightnin"))
    assert results[0] == "PyTorch Lightning"


@postgres_only
def test_a_prefix_finds_detectron2(real_landscape):
    assert "Detectron2" in names(project_search(Project.objects.all(), "detectron"))


@postgres_only
def test_medical_imaging_finds_monai_and_torchio(real_landscape):
    # MONAI's description says "Healthcare Imaging": it matches through its category's name.
    results = names(project_search(Project.objects.all(), "medical imaging"))
    assert {"MONAI", "TorchIO"} <= set(results)
    assert "PyTorch Lightning" not in results


@postgres_only
def test_weights_rank_a_name_match_above_a_description_match(real_landscape):
    results = names(project_search(Project.objects.all(), "monai"))
    assert results[0] == "MONAI"


@postgres_only
def test_exclusion_and_phrases(real_landscape):
    assert "MONAI" not in names(project_search(Project.objects.all(), "medical imaging -monai"))
    assert "TorchIO" in names(project_search(Project.objects.all(), '"medical imaging"'))


@postgres_only
def test_search_survives_being_a_subquery(real_landscape):
    """pk__in=... relabels the inner table: the search must follow."""
    inner = project_search(Project.objects.all(), "medical imaging").values("pk")
    outer = set(Project.objects.filter(pk__in=inner).values_list("name", flat=True))
    assert {"MONAI", "TorchIO"} <= outer


@postgres_only
def test_rank_is_annotated_and_ordered(real_landscape):
    ranked = list(project_search(Project.objects.all(), "vision"))
    ranks = [p.search_rank for p in ranked]
    assert ranks == sorted(ranks, reverse=True)
    assert all(r > 0 for r in ranks)


def test_an_empty_query_narrows_nothing(make_entries):
    make_entries(5)
    results = project_search(Project.objects.all(), '  "" - ')
    assert results.count() == 5
    assert all(p.search_rank == 0 for p in results)


# --- The portable fallback (what SQLite runs), exercised on this database -----------------


def test_portable_search_requires_every_word_and_ranks_names_first(entry, tree):
    Project.objects.create(
        name="Imaging Kit",
        slug="imaging-kit",
        description="Not medical at all",
        homepage_url="https://x.example.org/",
        category=tree["general"],
    )
    results = _portable_search(Project.objects.all(), parse_query("imaging medical"))
    assert names(results) == ["Imaging Kit", "TorchThing"]
    assert names(_portable_search(Project.objects.all(), parse_query("imaging -all"))) == [
        "TorchThing"
    ]
    # Category names and tags are searched too.
    assert names(_portable_search(Project.objects.all(), parse_query("biology"))) == ["TorchThing"]
    assert names(_portable_search(Project.objects.all(), parse_query("segmentation"))) == [
        "TorchThing"
    ]


# --- Highlighting ------------------------------------------------------------------------


def test_highlight_marks_word_prefixes_and_escapes_everything():
    html = highlight("<b>Medical</b> imaging & more", "imag medical")
    assert html == "&lt;b&gt;<mark>Medical</mark>&lt;/b&gt; <mark>imag</mark>ing &amp; more"
    assert highlight("<i>x</i>", "") == "&lt;i&gt;x&lt;/i&gt;"
    assert highlight("a<script>", "script") == "a&lt;<mark>script</mark>&gt;"


# --- The denormalized category names -----------------------------------------------------


def test_search_categories_follow_saves_second_paths_and_renames(entry, tree):
    entry.refresh_from_db()
    assert entry.search_categories == "Modeling Medical & Biology"

    SecondaryCategory.objects.create(project=entry, category=tree["general"], position=0)
    entry.refresh_from_db()
    assert entry.search_categories == "Modeling Medical & Biology Training General"

    tree["training"].name = "Learning"
    tree["training"].save()
    entry.refresh_from_db()
    assert entry.search_categories == "Modeling Medical & Biology Learning General"

    SecondaryCategory.objects.filter(project=entry).delete()
    entry.category = tree["vision"]
    entry.save()
    entry.refresh_from_db()
    assert entry.search_categories == "Modeling Computer Vision"


def test_the_importer_fills_search_categories_from_second_path(db, shared_data):
    call_command("import_landscape", str(shared_data / "landscape.yml"), verbosity=0)
    pytorch = Project.objects.get(name="PyTorch")
    expected = {pytorch.category.name, pytorch.category.parent.name} | {
        name
        for sc in pytorch.secondarycategory_set.select_related("category__parent")
        for name in (sc.category.name, sc.category.parent.name)
    }
    assert pytorch.secondarycategory_set.exists()
    assert len(expected) > 2
    assert all(name in pytorch.search_categories for name in expected)


# --- A search's results and facet counts -------------------------------------------------


def _reference_facets(params, search) -> dict:
    """Each facet counted by a query of its own, as its definition reads: the entries every
    *other* filter keeps, counted by this facet's value."""
    from django.db.models import Count

    from projects.selectors import LICENSE_FACET_LIMIT, _base

    def grouped(without: str, field: str) -> dict:
        rows = _base(params, without=without, search=search).order_by().values_list(field)
        return dict(rows.annotate(n=Count("pk")).values_list(field, "n"))

    by_license = grouped("license", "license")
    by_license.pop("", None)
    licenses = sorted(by_license.items(), key=lambda kv: (-kv[1], kv[0]))[:LICENSE_FACET_LIMIT]
    if params.license and params.license not in dict(licenses):
        licenses.append((params.license, 0))  # the selected one is always offered
    return {
        "maturity": grouped("maturity", "maturity"),
        "health": grouped("health", "health"),
        "license": licenses,
        "has_findings": _base(params, without="has_findings", search=search)
        .filter(has_open_findings=True)
        .count(),
        "archived": _base(params, without="show_archived", search=search)
        .filter(maturity="archived")
        .count(),
        "total": _base(params, search=search).count(),
    }


HEALTHS = ["active", "inactive", "archived", "unknown"]


@pytest.mark.parametrize("q", ["entry", "tag", "entry 0007", "description -tag", "entyr 0012"])
def test_search_facets_equal_each_facet_counted_on_its_own(make_entries, q):
    """facet_counts_from_entries reads one grouped count and applies the other filters to
    its groups in Python; every facet must equal its own query under any filters."""
    import random

    from projects.selectors import ListParams, facet_counts_from_entries, list_search

    entries = make_entries(60)
    for entry in entries[::7]:
        Finding.objects.create(
            project=entry,
            kind="link_broken",
            subject=entry.homepage_url,
            first_seen=timezone.now(),
            last_seen=timezone.now(),
        )
    rng = random.Random(3)
    for _ in range(30):
        params = ListParams(
            q=q,
            category=rng.choice(["", "", "modeling", "modeling-computer-vision", "training"]),
            health=tuple(
                rng.sample(["active", "inactive", "archived", "unknown"], rng.randint(0, 2))
            ),
            maturity=tuple(rng.sample(["graduated", "archived", "none"], rng.randint(0, 2))),
            license=rng.choice(["", "", "MIT", "Apache-2.0"]),
            has_findings=rng.choice([None, None, True, False]),
            show_archived=rng.random() < 0.5,
        )
        facets = facet_counts_from_entries(params)
        reference = _reference_facets(params, list_search(params))
        assert {k: facets[k] for k in reference} == reference, params


@postgres_only
def test_a_search_page_runs_the_search_in_a_bounded_number_of_reads(client, make_entries):
    from django.core.cache import cache
    from django.test.utils import CaptureQueriesContext

    from projects.web import near

    make_entries(40)
    cache.clear()
    near.forget()
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/?q=entry&category=modeling-computer-vision&health=active")
    assert response.status_code == 200
    searching = [q["sql"] for q in ctx.captured_queries if "search_vector" in q["sql"]]
    # The results, one grouped count for the facets, the categories' memberships, and the
    # check for typos (once for the results, once for the facets): was 17 reads.
    assert len(searching) <= 5, searching


@postgres_only
def test_results_and_facets_agree_on_whether_typos_are_looked_for(client, make_entries, tree):
    """The words find 20 or more published entries, but fewer in one category: typo matches
    are not added there either, so that category's facet count, the total and the results
    shown are the same entries."""
    from projects.selectors import ListParams, facet_counts, project_list

    entries = make_entries(40, prefix="Quasar")  # every fourth in tree["medical"]
    look_alike = entries[0]
    look_alike.name = "Quasr"  # a typo's distance from "quasar", without the word
    look_alike.description = "A near namesake"
    look_alike.category = tree["medical"]
    look_alike.save()
    medical = tree["medical"].slug
    params = ListParams(q="quasar", category=medical, show_archived=True)
    shown = {p.name for p in project_list(params)}
    facets = facet_counts(params)
    assert "Quasr" not in shown
    assert len(shown) == facets["total"] == facets["category"][medical]
