"""import_landscape and export_landscape on the real PyTorch Landscape and on broken files."""

from collections import Counter
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from projects.landscape_yml import normalize_repo_url
from projects.models import Category, Project, SecondaryCategory
from projects.selectors import landscape_export_yaml

pytestmark = pytest.mark.django_db


def run_import(path: Path, *args: str) -> str:
    out = StringIO()
    call_command("import_landscape", str(path), *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def run_export(tmp_path: Path, name: str) -> str:
    target = tmp_path / name
    call_command("export_landscape", "-o", str(target), stderr=StringIO())
    return target.read_text(encoding="utf-8")


def items_of(doc: dict) -> list[tuple[str, str, dict]]:
    result = []
    for cat in doc["landscape"]:
        for sub in cat["subcategories"]:
            for item in sub["items"] or []:
                item = dict(item)
                if item.get("repo_url"):
                    item["repo_url"] = normalize_repo_url(item["repo_url"])
                result.append((cat["name"], sub["name"], item))
    return result


def database_state() -> tuple:
    """Everything an import may write, to show that a refused import wrote nothing."""
    return (
        list(Category.objects.order_by("pk").values()),
        list(Project.objects.order_by("pk").values()),
        list(SecondaryCategory.objects.order_by("pk").values()),
    )


def test_import_of_the_shared_file_gives_the_real_landscape(shared_data):
    out = run_import(
        shared_data / "landscape.yml",
        "--logos",
        str(shared_data / "logos"),
        "--guide",
        str(shared_data / "guide.yml"),
    )

    assert Project.objects.count() == 188
    per_pillar = Counter(Project.objects.values_list("category__parent__name", flat=True))
    assert per_pillar == {
        "Modeling": 57,
        "Training": 41,
        "Optimizations": 39,
        "PyTorch Projects": 6,
        "PyTorch Members": 45,
    }
    assert Project.objects.filter(maturity="archived").count() == 68
    assert Project.objects.filter(maturity="foundation").count() == 6
    assert Project.objects.exclude(repo_url=None).count() == 143
    # Every entry names a logo, and every one of them is stored under its own name.
    assert Project.objects.filter(logo="").count() == 0
    for project in Project.objects.all():
        assert default_storage.exists(project.logo.name), project.name
    assert "188" in out and "Modeling" in out

    assert Category.objects.get(slug="training-general").parent.name == "Training"
    assert Category.objects.get(slug="optimizations-general").parent.name == "Optimizations"
    assert Project.objects.get(slug="pytorch-lightning").name == "PyTorch Lightning"
    assert Project.objects.get(slug="pytorch3d").maturity == "archived"
    pytorch = Project.objects.get(slug="pytorch")
    assert [sc.category.slug for sc in pytorch.secondarycategory_set.all()] == ["training-general"]
    assert str(pytorch.accepted_at) == "2022-09-07"
    assert (
        "interpret and understand visual"
        in Category.objects.get(slug="modeling-computer-vision").guide
    )
    dgl = Project.objects.get(name="DGL")
    assert dgl.repo_url == "https://github.com/dmlc/dgl"  # normalized: no trailing slash


def test_second_import_reports_everything_unchanged_and_writes_nothing(shared_data):
    logos = ("--logos", str(shared_data / "logos"))
    run_import(shared_data / "landscape.yml", *logos)
    before = database_state()

    out = run_import(shared_data / "landscape.yml", *logos)

    assert database_state() == before
    total = next(line for line in out.splitlines() if line.startswith("total"))
    assert total.split()[1:4] == ["0", "0", "188"]


def test_round_trip_is_exact(shared_data, shared_landscape_text, tmp_path):
    run_import(shared_data / "landscape.yml", "--logos", str(shared_data / "logos"))
    first = run_export(tmp_path, "first.yml")

    Project.objects.all().delete()
    Category.objects.all().delete()
    run_import(tmp_path / "first.yml", "--logos", str(shared_data / "logos"))
    second = run_export(tmp_path, "second.yml")

    assert first == second
    source, exported = yaml.safe_load(shared_landscape_text), yaml.safe_load(first)
    # Same categories and subcategories in the same order ...
    assert [
        (c["name"], [s["name"] for s in c["subcategories"]]) for c in exported["landscape"]
    ] == [(c["name"], [s["name"] for s in c["subcategories"]]) for c in source["landscape"]]
    # ... and the same items, in order, with every field and value (repo URLs normalized).
    assert items_of(exported) == items_of(source)
    # landscape2's own shape: a null level key beside the name.
    assert first.startswith("landscape:\n  - category:\n    name: Modeling\n")


def test_round_trip_without_logos_keeps_the_logo_names(shared_data, tmp_path):
    run_import(shared_data / "landscape.yml")
    exported = yaml.safe_load(run_export(tmp_path, "e.yml"))
    assert items_of(exported) == items_of(
        yaml.safe_load((shared_data / "landscape.yml").read_text())
    )


def test_an_item_renamed_upstream_is_matched_by_its_repository(shared_data, tmp_path):
    run_import(shared_data / "landscape.yml")
    lightning = Project.objects.get(name="PyTorch Lightning")
    renamed = (
        (shared_data / "landscape.yml")
        .read_text()
        .replace("name: PyTorch Lightning\n", "name: Lightning\n", 1)
    )
    (tmp_path / "renamed.yml").write_text(renamed)

    out = run_import(tmp_path / "renamed.yml")

    assert Project.objects.count() == 188
    lightning.refresh_from_db()
    assert lightning.name == "Lightning"
    assert lightning.slug == "pytorch-lightning"  # links out there keep working
    assert next(line for line in out.splitlines() if line.startswith("total")).split()[1:4] == [
        "0",
        "1",
        "187",
    ]


def test_dry_run_validates_and_writes_nothing(shared_data):
    out = run_import(shared_data / "landscape.yml", "--dry-run")
    assert "188" in out and "dry run" in out
    assert Project.objects.count() == 0
    assert Category.objects.count() == 0


VALID = """\
landscape:
  - category:
    name: Training
    subcategories:
      - subcategory:
        name: General
        items:
          - item:
            name: Alpha
            homepage_url: https://alpha.example/
            repo_url: https://github.com/example/alpha
            logo: alpha.svg
          - item:
            name: Beta
            homepage_url: https://beta.example/
            second_path:
              - Training / General
            extra:
              accepted: '2024-01-02'
"""

SAFE_SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><rect width="1" height="1"/></svg>'


def _breaks(old: str, new: str) -> str:
    assert old in VALID
    return VALID.replace(old, new, 1)


MALFORMED = [
    ("yaml-syntax", _breaks("name: Beta", "name: [Beta"), "YAML syntax error", "line"),
    (
        "missing-name",
        _breaks("            name: Beta\n", ""),
        "Training › General",
        "without a name",
    ),
    (
        "missing-homepage",
        _breaks("            homepage_url: https://beta.example/\n", ""),
        "Training › General › Beta",
        "homepage_url is required",
    ),
    (
        "ftp-homepage",
        _breaks("https://beta.example/", "ftp://beta.example/"),
        "Training › General › Beta",
        "http(s) URL",
    ),
    (
        "javascript-repo",
        _breaks("https://github.com/example/alpha", "javascript:alert(1)"),
        "Training › General › Alpha",
        "repo_url must be an http(s) URL",
    ),
    (
        "credentials-in-url",
        _breaks("https://beta.example/", "https://user:pw@beta.example/"),
        "Training › General › Beta",
        "without credentials",
    ),
    (
        "unknown-second-path",
        _breaks("Training / General", "Training / Nowhere"),
        "Training › General › Beta",
        "unknown category 'Training / Nowhere'",
    ),
    (
        "duplicate-name",
        _breaks("name: Beta", "name: Alpha"),
        "Training › General › Alpha",
        "already used",
    ),
    (
        "description-wrong-type",
        _breaks("name: Beta\n", "name: Beta\n            description: [a, b]\n"),
        "Training › General › Beta",
        "description must be text",
    ),
    (
        "items-not-a-list",
        VALID.split("        items:")[0] + "        items: {name: x}\n",
        "Training › General",
        "'items' must be a list",
    ),
    (
        "unknown-maturity",
        _breaks("name: Beta\n", "name: Beta\n            project: famous\n"),
        "Training › General › Beta",
        "maturity",
    ),
    (
        "extra-not-a-mapping",
        _breaks("extra:\n              accepted: '2024-01-02'", "extra: yes"),
        "Training › General › Beta",
        "extra must be a mapping",
    ),
    (
        "bad-date",
        _breaks("'2024-01-02'", "'2024-02-31'"),
        "Training › General › Beta",
        "not a real date",
    ),
    (
        "duplicate-key",
        _breaks("name: Beta\n", "name: Beta\n            name: Gamma\n"),
        "",
        "duplicate key 'name'",
    ),
    ("not-a-landscape", "- just\n- a list\n", "", "'landscape' list"),
]


@pytest.fixture
def imported_valid(tmp_path):
    (tmp_path / "logos").mkdir()
    (tmp_path / "logos" / "alpha.svg").write_bytes(SAFE_SVG)
    (tmp_path / "valid.yml").write_text(VALID)
    run_import(tmp_path / "valid.yml", "--logos", str(tmp_path / "logos"))
    assert Project.objects.count() == 2
    return tmp_path


@pytest.mark.parametrize(
    ("case", "text", "path", "message"), MALFORMED, ids=[m[0] for m in MALFORMED]
)
def test_malformed_input_is_refused_naming_the_item_and_changes_nothing(
    imported_valid, case, text, path, message
):
    before = database_state()
    broken = imported_valid / f"{case}.yml"
    broken.write_text(text)

    with pytest.raises(CommandError) as excinfo:
        run_import(broken, "--logos", str(imported_valid / "logos"))

    error = str(excinfo.value)
    assert path in error
    assert message in error
    assert "(line " in error
    assert "nothing was imported" in error
    assert database_state() == before


def test_an_unsafe_logo_aborts_the_import_naming_the_item(imported_valid):
    before = database_state()
    (imported_valid / "logos" / "alpha.svg").write_bytes(
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
    )
    (imported_valid / "renamed.yml").write_text(VALID.replace("name: Beta", "name: Beta Two"))

    with pytest.raises(CommandError) as excinfo:
        run_import(imported_valid / "renamed.yml", "--logos", str(imported_valid / "logos"))

    assert "Training › General › Alpha" in str(excinfo.value)
    assert "event handler" in str(excinfo.value)
    assert database_state() == before


def test_a_failed_import_exits_non_zero_from_the_shell(imported_valid):
    import subprocess
    import sys

    (imported_valid / "bad.yml").write_text(MALFORMED[2][1])
    result = subprocess.run(
        [sys.executable, "manage.py", "import_landscape", str(imported_valid / "bad.yml")],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "Training › General › Beta" in result.stderr


def test_export_writes_published_entries_only(imported_valid):
    Project.objects.filter(name="Beta").update(publication="pending")
    exported = yaml.safe_load(landscape_export_yaml())
    assert [item["name"] for _, _, item in items_of(exported)] == ["Alpha"]


def test_a_large_import_keeps_the_planners_statistics_of_the_rows_it_writes(db):
    """The import is one transaction, out of autovacuum's sight: without ANALYZE as the
    entries double, the triggers' statements were planned for the empty tables, and each
    batch of 2,000 read every entry and every Listing row (import of 100,000: 131 -> 88 s)."""
    from django.db import connection

    from bench.importbench import landscape_file
    from projects.services import landscape_import

    if connection.vendor != "postgresql":
        pytest.skip("the statistics are PostgreSQL's")
    landscape_import(text=landscape_file(4_500))
    published = Project.objects.published().count()
    assert published == 4_500
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) SELECT id FROM projects_listing")
        listing_rows = cursor.fetchone()[0][0]["Plan"]["Plan Rows"]
        cursor.execute(
            "EXPLAIN (FORMAT JSON) SELECT id FROM projects_project WHERE publication = %s",
            ["published"],
        )
        published_rows = cursor.fetchone()[0][0]["Plan"]["Plan Rows"]
        cursor.execute("SELECT count(*) FROM projects_listing")
        listing_count = cursor.fetchone()[0]
    # Statistics taken at 4,000 entries (the last doubling), not at the start.
    assert published_rows >= 3_500, published_rows
    assert listing_rows >= 0.8 * listing_count * 4_000 / 4_500, (listing_rows, listing_count)
