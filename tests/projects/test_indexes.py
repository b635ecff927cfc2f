"""The entries' indexes on PostgreSQL: every sort a list offers reads one (migration 0010
and project_stars_order) instead of sorting every published entry for its first page, and
no index is kept that no query reads (migration 0011).

The fixture is small, so the planner would sort it whatever the indexes; with sequential
scans and full sorts priced out (enable_seqscan, enable_sort off), a plan that still
holds one has no index to read the order from."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from projects.models import Project
from projects.selectors import ListParams, project_list
from projects.services import landscape_import
from tests.conftest import FIXTURE_FILE

pytestmark = pytest.mark.django_db


@pytest.fixture
def directory():
    if connection.vendor != "postgresql":
        pytest.skip("the sort indexes are PostgreSQL's")
    landscape_import(text=FIXTURE_FILE.read_text(encoding="utf-8"))
    assert Project.objects.published().count() > 100


def plan_of(sql: str, params=()) -> str:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def full_sorts(plan: str) -> list[str]:
    """The plan's lines that sort rows or read the whole table (an Incremental Sort only
    breaks ties within an order an index gives)."""
    lines = plan.splitlines()
    return [
        line
        for line in lines
        if "Seq Scan" in line or ("Sort" in line and "Incremental Sort" not in line)
        if "Sort Key" not in line and "Presorted Key" not in line
    ]


@pytest.mark.parametrize("sort", ["name", "activity", "added", "stars"])
def test_the_web_list_sorts_read_an_index(directory, sort):
    page = project_list(ListParams(sort=sort))[:241]
    sql, params = page.query.sql_with_params()
    plan = plan_of(sql, params)
    assert not full_sorts(plan), plan


@pytest.mark.parametrize("ordering", ["name", "-name", "created", "-created", "-pushed_at"])
def test_the_api_orderings_read_an_index(directory, ordering):
    client = APIClient()
    client.get("/api/v1/projects/", {"ordering": ordering, "page_size": 5})  # warm
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/projects/", {"ordering": ordering, "page": 2})
    assert response.status_code == 200 and response.json()["results"]
    ordered = [q["sql"] for q in queries if "ORDER BY" in q["sql"] and "LIMIT" in q["sql"]]
    assert ordered, [q["sql"] for q in queries]
    for sql in ordered:
        plan = plan_of(sql)
        assert not full_sorts(plan), plan


def test_ordering_by_a_field_without_nulls_keeps_its_order(directory):
    """Dropping NULLS LAST where a field has no NULLs changes no page."""
    client = APIClient()
    for ordering, key in [("created", "created"), ("-updated", "updated")]:
        data = client.get("/api/v1/projects/", {"ordering": ordering, "page_size": 200}).json()
        values = [p[key] for p in data["results"]]
        assert values == sorted(values, reverse=ordering.startswith("-"))


def test_only_the_slug_keeps_a_pattern_index(directory):
    """Django adds a varchar_pattern_ops index beside every indexed or unique CharField;
    only the slug's is read (each costs the import a write per entry)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'projects_project'"
            " AND indexdef LIKE '%%varchar_pattern_ops%%'"
        )
        pattern_indexes = [row[0] for row in cursor.fetchall()]
    assert len(pattern_indexes) == 1 and "(slug varchar_pattern_ops)" in pattern_indexes[0]
    # Equality on the columns whose pattern index went still reads an index.
    plan = plan_of("SELECT id FROM projects_project WHERE health = 'archived'")
    assert "Index" in plan and "Seq Scan" not in plan, plan


@pytest.mark.parametrize(
    "params",
    [
        {"ordering": "-pushed_at"},
        {"ordering": "pushed_at"},
        {"pushed_after": "2020-01-01T00:00:00Z"},
        {"pushed_before": "2030-01-01T00:00:00Z", "ordering": "-stars"},
    ],
)
def test_the_last_push_is_read_from_the_entry_itself(directory, params):
    """ordering=pushed_at, pushed_after and pushed_before read the entry's own copy of its
    primary repository's last push (projects.facts), not a subquery per entry."""
    some = Project.objects.published().order_by("pk").values("pk")[:40]
    Project.objects.filter(pk__in=some).update(pushed_at=timezone.now())
    client = APIClient()
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/projects/", params)
    assert response.status_code == 200 and response.json()["results"]
    paging = [q["sql"] for q in queries if '"pushed_at"' in q["sql"] and "LIMIT" in q["sql"]]
    assert paging, [q["sql"] for q in queries]
    for sql in paging:
        assert "projects_repositorystatus" not in sql.split("FROM", 1)[1], sql


@pytest.mark.parametrize("ordering", ["name", "-name", "created", "-created", "-pushed_at"])
def test_a_page_sought_by_key_reads_its_index_from_the_key(directory, ordering):
    """The page a next link names (api.seek) starts its index read at the previous page's
    last key, instead of reading and dropping every entry before it (OFFSET)."""
    Project.objects.filter(pk__in=Project.objects.order_by("pk").values("pk")[:60]).update(
        pushed_at=timezone.now()
    )
    client = APIClient()
    link = client.get("/api/v1/projects/", {"ordering": ordering, "page_size": 20}).json()["next"]
    with CaptureQueriesContext(connection) as queries:
        response = client.get(link)
    assert response.status_code == 200 and response.json()["results"]
    sought = [q["sql"] for q in queries if "_seek_0" in q["sql"] and "LIMIT" in q["sql"]]
    assert sought, [q["sql"] for q in queries]
    for sql in sought:
        assert " OFFSET " not in sql, sql
        plan = plan_of(sql)
        assert not full_sorts(plan), plan
        field = ordering.lstrip("-")
        assert any("Index Cond" in line and field in line for line in plan.splitlines()), plan
