"""The exports: landscape.yml round trip through the importer, CSV and JSON."""

from __future__ import annotations

import csv
import io
from io import StringIO

import pytest
import yaml
from django.core.management import call_command
from rest_framework.test import APIClient

from projects.models import Category, Project, Publication
from projects.selectors import landscape_export_yaml

pytestmark = pytest.mark.django_db


def exported() -> str:
    response = APIClient().get("/api/v1/export/landscape.yml")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/yaml; charset=utf-8"
    return response.content.decode("utf-8")


def test_landscape_yml_round_trip_is_identical(shared_data, tmp_path):
    call_command(
        "import_landscape", str(shared_data / "landscape.yml"), stdout=StringIO(), stderr=StringIO()
    )
    first = exported()
    assert first == landscape_export_yaml()  # the same file the export command writes
    assert (
        len(
            [
                i
                for c in yaml.safe_load(first)["landscape"]
                for s in c["subcategories"]
                for i in s["items"] or []
            ]
        )
        == 188
    )

    Project.objects.all().delete()
    Category.objects.all().delete()
    (tmp_path / "landscape.yml").write_text(first, encoding="utf-8")
    call_command(
        "import_landscape", str(tmp_path / "landscape.yml"), stdout=StringIO(), stderr=StringIO()
    )
    assert Project.objects.count() == 188

    assert exported() == first


def test_exports_leave_out_unpublished_entries(actors, small_landscape):
    client = actors["anonymous"].client()
    assert "Hidden" not in client.get("/api/v1/export/landscape.yml").content.decode()
    rows = list(
        csv.DictReader(io.StringIO(client.get("/api/v1/export/projects.csv").content.decode()))
    )
    assert [r["slug"] for r in rows] == ["alpha", "beta", "gamma"]
    data = client.get("/api/v1/export/projects.json").json()
    assert [p["slug"] for p in data] == ["alpha", "beta", "gamma"]
    assert data[0] == client.get("/api/v1/projects/alpha/").json()


def test_csv_columns_and_formula_cells(small_landscape):
    Project.objects.filter(slug="alpha").update(description='=HYPERLINK("http://x")')
    response = APIClient().get("/api/v1/export/projects.csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="projects.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    alpha = rows[0]
    assert alpha["category"] == "training-general"
    assert alpha["maturity"] == "none"
    assert rows[1]["maturity"] == "archived"
    assert alpha["description"].startswith("'=")  # a spreadsheet shows it, never runs it


def test_a_published_submission_enters_the_export(actors, small_landscape):
    new = {"name": "Delta", "homepage_url": "https://delta.example", "category": "modeling-vision"}
    assert actors["other"].client().post("/api/v1/projects/", new, format="json").status_code == 201
    assert "Delta" not in exported()
    Project.objects.filter(slug="delta").update(publication=Publication.PUBLISHED)
    assert "name: Delta" in exported()
