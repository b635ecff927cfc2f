"""The project list's filters on the real PyTorch Landscape: each alone against facts
computed here, and combined (a combination is the intersection of its parts)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from projects.models import Finding, Project, RepositoryStatus, SecondaryCategory
from projects.services import landscape_import

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 6, 1, tzinfo=UTC)
LICENSES = ["MIT", "Apache-2.0", "BSD-3-Clause", ""]
HEALTHS = ["active", "inactive", "archived", "missing", "unknown"]


@pytest.fixture
def landscape(shared_landscape_text):
    """The shared landscape, with deterministic repository facts, findings and times."""
    landscape_import(text=shared_landscape_text)
    facts: dict[str, dict] = {}
    projects = list(Project.objects.select_related("category__parent").order_by("slug"))
    secondary: dict[int, list] = {}
    for sc in SecondaryCategory.objects.select_related("category__parent"):
        secondary.setdefault(sc.project_id, []).append(sc.category)
    for i, p in enumerate(projects):
        cats = [p.category, *secondary.get(p.pk, [])]
        fact = {
            "categories": {c.slug for c in cats} | {c.parent.slug for c in cats if c.parent_id},
            "maturity": p.maturity or "none",
            "has_repo": p.repo_url is not None,
            "stars": None,
            "pushed_at": None,
            "license": None,
            "health": "unknown",
            "findings": i % 7 == 0,
            "updated": NOW - timedelta(days=i),
            "created": p.created,
        }
        if p.repo_url and i % 10 != 9:  # a few entries with a repository never checked
            parts = urlsplit(p.repo_url)
            owner, _, name = parts.path.strip("/").partition("/")
            fact.update(
                stars=(i * 613) % 20000,
                pushed_at=NOW - timedelta(days=(i * 37) % 900),
                license=LICENSES[i % 4],
                health=HEALTHS[i % 5],
            )
            RepositoryStatus.objects.create(
                project=p,
                is_primary=True,
                url=p.repo_url,
                host=parts.netloc,
                owner=owner,
                name=name,
                stars=fact["stars"],
                forks=i,
                pushed_at=fact["pushed_at"],
                license=fact["license"],
                health=fact["health"],
                archived=fact["health"] == "archived",
                checked_at=NOW,
            )
        if fact["findings"]:
            Finding.objects.create(
                project=p,
                kind="inactive",
                subject=f"s{i}",
                evidence={},
                first_seen=NOW,
                last_seen=NOW,
            )
        if i % 11 == 0:  # a dismissed finding does not count
            Finding.objects.create(
                project=p,
                kind="link_broken",
                subject=f"d{i}",
                evidence={},
                first_seen=NOW,
                last_seen=NOW,
                state="dismissed",
            )
        Project.objects.filter(pk=p.pk).update(health=fact["health"], updated=fact["updated"])
        facts[p.slug] = fact
    assert len(facts) == 188
    return facts


def fetch(params: dict | list) -> list[str]:
    """Every slug the list gives for these parameters, in order, across pages."""
    client = APIClient()
    response = client.get("/api/v1/projects/", params)
    assert response.status_code == 200, response.content
    data = response.json()
    slugs = [p["slug"] for p in data["results"]]
    while data["next"]:
        data = client.get(data["next"]).json()
        slugs += [p["slug"] for p in data["results"]]
    assert len(slugs) == data["count"] or data["previous"] is not None
    return slugs


def ours(facts, keep) -> set[str]:
    return {slug for slug, f in facts.items() if keep(f)}


MIN, MAX = 5000, 15000
AFTER, BEFORE = NOW - timedelta(days=300), NOW - timedelta(days=100)

# name -> (query parameters, the rule they mean)
SINGLE = {
    "pillar": ({"category": "training"}, lambda f: "training" in f["categories"]),
    "subcategory": (
        {"category": "training-general"},
        lambda f: "training-general" in f["categories"],
    ),
    "members": (
        {"category": "pytorch-members"},
        lambda f: "pytorch-members" in f["categories"],
    ),
    "maturity": ({"maturity": "archived"}, lambda f: f["maturity"] == "archived"),
    "maturity none": ({"maturity": "none"}, lambda f: f["maturity"] == "none"),
    "maturities repeated": (
        [("maturity", "archived"), ("maturity", "foundation")],
        lambda f: f["maturity"] in {"archived", "foundation"},
    ),
    "maturities comma": (
        {"maturity": "archived,foundation"},
        lambda f: f["maturity"] in {"archived", "foundation"},
    ),
    "health": ({"health": "active"}, lambda f: f["health"] == "active"),
    "healths": (
        [("health", "inactive"), ("health", "unknown")],
        lambda f: f["health"] in {"inactive", "unknown"},
    ),
    "license": ({"license": "MIT"}, lambda f: f["license"] == "MIT"),
    "has repo": ({"has_repo": "true"}, lambda f: f["has_repo"]),
    "has no repo": ({"has_repo": "false"}, lambda f: not f["has_repo"]),
    "stars min": ({"stars_min": MIN}, lambda f: f["stars"] is not None and f["stars"] >= MIN),
    "stars max": ({"stars_max": MAX}, lambda f: f["stars"] is not None and f["stars"] <= MAX),
    "pushed after": (
        {"pushed_after": AFTER.isoformat()},
        lambda f: f["pushed_at"] is not None and f["pushed_at"] >= AFTER,
    ),
    "pushed before": (
        {"pushed_before": BEFORE.isoformat()},
        lambda f: f["pushed_at"] is not None and f["pushed_at"] < BEFORE,
    ),
    "updated since": (
        {"updated_since": (NOW - timedelta(days=20)).isoformat()},
        lambda f: f["updated"] >= NOW - timedelta(days=20),
    ),
    "has findings": ({"has_findings": "true"}, lambda f: f["findings"]),
    "has no findings": ({"has_findings": "false"}, lambda f: not f["findings"]),
}
COMBINED = [
    ("pillar", "maturity"),
    ("pillar", "health", "has findings"),
    ("subcategory", "has repo", "stars min"),
    ("stars min", "stars max"),
    ("pushed after", "pushed before", "license"),
    ("maturities comma", "healths", "updated since"),
    ("members", "has no repo"),
    ("has no findings", "license", "stars max", "pushed after", "pillar"),
]


def merged(names) -> list[tuple[str, str]]:
    pairs = []
    for name in names:
        params = SINGLE[name][0]
        pairs += list(params.items()) if isinstance(params, dict) else params
    return pairs


def test_each_filter_alone(landscape):
    everything = fetch({"page_size": 200})
    assert sorted(everything) == sorted(landscape)
    for name, (params, rule) in SINGLE.items():
        expected = ours(landscape, rule)
        assert expected, f"{name}: a case that shows nothing"
        assert expected != set(landscape), f"{name}: a case that keeps everything"
        got = fetch(params)
        assert len(got) == len(set(got)), f"{name}: an entry listed twice"
        assert set(got) == expected, name


def test_filters_combined(landscape):
    for names in COMBINED:
        expected = set(landscape)
        for name in names:
            expected &= ours(landscape, SINGLE[name][1])
        got = fetch(merged(names))
        assert len(got) == len(set(got)), names
        assert set(got) == expected, names


def test_search_alone_and_with_filters(landscape):
    found = fetch({"q": "lightning"})
    assert "pytorch-lightning" in found
    assert found == fetch({"q": "lightning", "page_size": 7})  # ranked, and stable across pages
    for names in (("has repo",), ("maturity none", "stars min"), ("pillar",)):
        expected = set(found)
        for name in names:
            expected &= ours(landscape, SINGLE[name][1])
        assert set(fetch([("q", "lightning"), *merged(names)])) == expected, names
    assert fetch({"q": "zzzqqqnotathing"}) == []


def test_ordering(landscape):
    def key_order(field, reverse):
        present = [s for s in landscape if landscape[s][field] is not None]
        missing = [s for s in landscape if landscape[s][field] is None]
        present.sort(key=lambda s: landscape[s][field], reverse=reverse)
        return present, set(missing)

    for param, field in (("stars", "stars"), ("pushed_at", "pushed_at"), ("updated", "updated")):
        for reverse in (False, True):
            got = fetch({"ordering": f"{'-' if reverse else ''}{param}", "page_size": 50})
            present, missing = key_order(field, reverse)
            values = [landscape[s][field] for s in got[: len(present)]]
            assert values == [landscape[s][field] for s in present], param
            assert set(got[len(present) :]) == missing, f"{param}: nulls last"
    names = fetch({"ordering": "name", "page_size": 200})
    assert names == [p.slug for p in sorted(Project.objects.all(), key=lambda p: (p.name, p.pk))]
    assert fetch({"ordering": "-name"}) == names[::-1]
    # A tie on stars is broken by name.
    got = fetch({"ordering": "-stars,name", "stars_max": 0})
    assert got == sorted(got, key=lambda s: Project.objects.get(slug=s).name)


def test_paging(landscape):
    client = APIClient()
    first = client.get("/api/v1/projects/", {"page_size": 50}).json()
    assert set(first) == {"count", "next", "previous", "results"}
    assert (first["count"], len(first["results"]), first["previous"]) == (188, 50, None)
    assert len(client.get("/api/v1/projects/", {"page_size": 1000}).json()["results"]) == 188
    assert len(fetch({"page_size": 50})) == 188
    assert client.get("/api/v1/projects/", {"page": 99}).status_code == 404
    # A search's page is counted in the same query; a page number whose offset would
    # overflow PostgreSQL's bigint is the same 404 (it was a 500).
    for page in (99, 10**9, 2305843009213693953, 10**30):
        for params in ({"q": "torch"}, {"q": "torch", "page_size": 200}, {"ordering": "-stars"}):
            response = client.get("/api/v1/projects/", {**params, "page": page})
            assert response.status_code == 404, (page, params)


@pytest.mark.parametrize(
    "params",
    [
        {"maturity": "mature"},
        {"maturity": "archived,nope"},
        {"health": "alive"},
        {"category": "no-such-category"},
        {"stars_min": "-1"},
        {"stars_max": "many"},
        {"pushed_after": "last tuesday"},
        {"updated_since": "2024-13-40"},
        {"updated_since": "0001-01-01T00:00:00+01:00"},  # before year 1 in UTC
        {"has_findings": "perhaps"},
        {"ordering": "popularity"},
        {"q": "x" * 201},
    ],
)
def test_invalid_parameters_get_400_naming_the_parameter(db, params):
    response = APIClient().get("/api/v1/projects/", params)
    assert response.status_code == 400
    assert set(response.json()) == set(params)


def test_offsets_beyond_postgresqls_range_are_converted_not_refused(db):
    # Found by schemathesis: ISO 8601 allows -22:13, PostgreSQL does not (a 500 once).
    response = APIClient().get("/api/v1/projects/", {"pushed_before": "0394-08-15T00:48:17-22:13"})
    assert response.status_code == 200


SEEKING = ["name", "-name", "stars", "pushed_at", "-pushed_at", "created", "-created", "-updated"]


def pages_by_next(client, params) -> list[tuple[str, list[str]]]:
    """Each page's next link and slugs, from page 1 on by following next."""
    data = client.get("/api/v1/projects/", params).json()
    pages = [(data["next"], [p["slug"] for p in data["results"]])]
    while data["next"]:
        with CaptureQueriesContext(connection) as queries:
            data = client.get(data["next"]).json()
        assert not [q["sql"] for q in queries if " OFFSET " in q["sql"]], "counted, not sought"
        pages.append((data["next"], [p["slug"] for p in data["results"]]))
    return pages


@pytest.mark.parametrize("ordering", SEEKING)
def test_next_links_of_an_explicit_order_seek_by_key_and_give_the_numbered_pages(
    landscape, ordering
):
    # Pages of 7 cross ties (pushed_at repeats) and the step from entries with a value to
    # those without (NULLs last); a filter narrows the list the token belongs to.
    client = APIClient()
    for extra in ({}, {"has_findings": "false"}):
        params = {"ordering": ordering, "page_size": 7, **extra}
        pages = pages_by_next(client, params)
        assert len(pages) > 3
        for number, (next_link, slugs) in enumerate(pages, start=1):
            by_number = client.get("/api/v1/projects/", {**params, "page": number}).json()
            assert slugs == [p["slug"] for p in by_number["results"]], (ordering, number)
            if next_link:
                query = parse_qs(urlsplit(next_link).query)
                assert query["page"] == [str(number + 1)] and query["after"], next_link
        everything = fetch({"ordering": ordering, "page_size": 200, **extra})
        assert [s for _, slugs in pages for s in slugs] == everything


def test_a_sought_pages_previous_link_is_by_number(landscape):
    client = APIClient()
    first = client.get("/api/v1/projects/", {"ordering": "-pushed_at", "page_size": 20}).json()
    second = client.get(first["next"]).json()
    third = client.get(second["next"]).json()
    assert "after" not in parse_qs(urlsplit(third["previous"]).query)
    assert client.get(third["previous"]).json()["results"] == second["results"]


def test_a_token_altered_or_used_with_another_list_is_refused_naming_it(landscape):
    client = APIClient()
    params = {"ordering": "name", "page_size": 20}
    link = client.get("/api/v1/projects/", params).json()["next"]
    query = {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}
    token = query["after"]
    tampered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    for changed, says in (
        ({"after": tampered}, "Not a token this API gave"),
        ({"after": "nonsense"}, "Not a token this API gave"),
        ({"ordering": "-name"}, "belongs to another list"),
        ({"page_size": 21}, "belongs to another list"),
        ({"maturity": "archived"}, "belongs to another list"),
        ({"page": "5"}, "starts page 2, not page 5"),
    ):
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/api/v1/projects/", {**query, **changed})
        assert response.status_code == 400, changed
        assert list(response.json()) == ["after"], response.json()
        assert says in response.json()["after"][0], response.json()
        assert not [q for q in queries if q["sql"].startswith(("UPDATE", "INSERT", "DELETE"))]
    assert client.get("/api/v1/projects/", query).status_code == 200
    # Nor is a token taken where no list pages by key: a search's, the landscape order's.
    for changed in ({"q": "torch"}, {"ordering": ""}):
        response = client.get("/api/v1/projects/", {**query, **changed})
        assert response.status_code == 400, changed
        assert "Only a list in an explicit ordering" in response.json()["after"][0]


def test_the_findings_list_pages_by_key_in_its_own_order(landscape):
    # Latest seen first, then id: every finding here was last seen at the same time.
    client = APIClient()
    params = {"page_size": 4}
    data = client.get("/api/v1/findings/", params).json()
    pages, number = [[f["id"] for f in data["results"]]], 1
    while data["next"]:
        assert parse_qs(urlsplit(data["next"]).query)["after"], data["next"]
        with CaptureQueriesContext(connection) as queries:
            data = client.get(data["next"]).json()
        assert not [q["sql"] for q in queries if " OFFSET " in q["sql"]]
        number += 1
        pages.append([f["id"] for f in data["results"]])
        by_number = client.get("/api/v1/findings/", {**params, "page": number}).json()
        assert pages[-1] == [f["id"] for f in by_number["results"]], number
    ids = [i for page in pages for i in page]
    assert len(ids) == data["count"] == sum(f["findings"] for f in landscape.values()) > 8
    assert len(set(ids)) == len(ids)
