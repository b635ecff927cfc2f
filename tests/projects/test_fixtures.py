"""The demo data that `make run` loads: standalone, the real landscape's facts, our own words."""

from collections import Counter
from io import StringIO

import pytest
import yaml
from django.core.management import call_command

from projects.models import Project
from tests.conftest import FIXTURE_FILE

pytestmark = pytest.mark.django_db


def subcategory_counts(doc: dict) -> Counter:
    return Counter(
        {
            (cat["name"], sub["name"]): len(sub["items"])
            for cat in doc["landscape"]
            for sub in cat["subcategories"]
        }
    )


def test_the_fixtures_load_to_the_real_counts_plus_numpyro(shared_landscape_text):
    call_command("seed_demo", stdout=StringIO())

    loaded = Counter(Project.objects.values_list("category__parent__name", "category__name"))
    expected = subcategory_counts(yaml.safe_load(shared_landscape_text))
    # The real file already lists PyTorch/XLA ("PyTorchXLA") and ClearML ("Clear ML"), so
    # of the three named additions only NumPyro is new; the other two stay single entries.
    expected[("Training", "Probabilistic & Optimization")] += 1
    assert +loaded == +expected
    assert Project.objects.count() == 189

    numpyro = Project.objects.get(slug="numpyro")
    assert numpyro.repo_url == "https://github.com/pyro-ppl/numpyro"
    assert numpyro.category.slug == "training-probabilistic-optimization"
    assert Project.objects.get(repo_url="https://github.com/pytorch/xla").category.slug == (
        "optimizations-compilers-runtimes"
    )
    assert Project.objects.get(name="Clear ML").category.slug == "optimizations-mlops"


def test_seed_demo_leaves_a_populated_database_alone():
    call_command("seed_demo", stdout=StringIO())
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert "not loaded" in out.getvalue()
    assert Project.objects.count() == 189


def test_the_fixtures_keep_the_facts_but_not_the_prose(shared_landscape_text):
    source = yaml.safe_load(shared_landscape_text)
    demo = yaml.safe_load(FIXTURE_FILE.read_text(encoding="utf-8"))
    src_items = {
        item["name"]: item
        for cat in source["landscape"]
        for sub in cat["subcategories"]
        for item in sub["items"]
    }
    demo_items = [
        item for cat in demo["landscape"] for sub in cat["subcategories"] for item in sub["items"]
    ]
    assert len(demo_items) == 189
    for item in demo_items:
        assert item.get("description"), item["name"]
        assert "logo" not in item
        if item["name"] not in src_items:
            continue
        original = src_items[item["name"]]
        for key in ("homepage_url", "repo_url", "project", "second_path", "crunchbase"):
            assert item.get(key) == original.get(key), (item["name"], key)
        assert item["description"] != original.get("description")


def test_the_fixtures_do_not_depend_on_the_shared_folder():
    text = FIXTURE_FILE.read_text(encoding="utf-8")
    assert "shared/" not in text
    assert "logo:" not in text
