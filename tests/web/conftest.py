"""Fixtures of the public pages' tests: a small landscape built in bulk, a clean cache."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from projects.facts import project_facts_sync
from projects.models import Category, Project, RepositoryStatus
from projects.search import update_search_categories


@pytest.fixture(autouse=True)
def _clean_cache():
    """Fragments live in the cache, which a database rollback does not undo."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def tree(db):
    """Two pillars with two subcategories each, then the foundation and members categories."""
    modeling = Category.objects.create(name="Modeling", slug="modeling", position=0)
    training = Category.objects.create(name="Training", slug="training", position=1)
    projects = Category.objects.create(name="PyTorch Projects", slug="pytorch-projects", position=2)
    members = Category.objects.create(name="PyTorch Members", slug="pytorch-members", position=3)
    return {
        "modeling": modeling,
        "training": training,
        "vision": Category.objects.create(
            name="Computer Vision", slug="modeling-computer-vision", parent=modeling, position=0
        ),
        "medical": Category.objects.create(
            name="Medical & Biology", slug="modeling-medical-biology", parent=modeling, position=1
        ),
        "general": Category.objects.create(
            name="General", slug="training-general", parent=training, position=0
        ),
        "probabilistic": Category.objects.create(
            name="Probabilistic", slug="training-probabilistic", parent=training, position=1
        ),
        "foundation": Category.objects.create(
            name="Foundation", slug="pytorch-projects-foundation", parent=projects, position=0
        ),
        "platinum": Category.objects.create(
            name="Platinum", slug="pytorch-members-platinum", parent=members, position=0
        ),
    }


@pytest.fixture
def make_entries(tree):
    """Create ``n`` entries in bulk (spread over the subcategories), each with a primary
    repository, so that query counts can be compared at any size."""

    def make(n: int, *, prefix: str = "Entry") -> list[Project]:
        subs = [tree["vision"], tree["medical"], tree["general"], tree["probabilistic"]]
        maturities = ["", "", "graduated", "archived"]
        healths = ["active", "inactive", "archived", "unknown", "missing"]
        projects = Project.objects.bulk_create(
            Project(
                name=f"{prefix} {i:04d}",
                slug=f"{prefix.lower()}-{i:04d}",
                description=f"Description number {i}",
                homepage_url=f"https://example.org/{i}",
                repo_url=f"https://github.com/{prefix.lower()}/{i}",
                category=subs[i % len(subs)],
                maturity=maturities[i % len(maturities)],
                health=healths[i % len(healths)],
                position=i,
                tags=["tag-a"] if i % 2 else [],
            )
            for i in range(n)
        )
        now = timezone.now()
        RepositoryStatus.objects.bulk_create(
            RepositoryStatus(
                project=p,
                url=p.repo_url,
                host="github.com",
                owner=prefix.lower(),
                name=str(i),
                stars=i * 10,
                license="MIT" if i % 2 else "Apache-2.0",
                pushed_at=now - timedelta(days=i),
                checked_at=now,
                health=p.health,
            )
            for i, p in enumerate(projects)
        )
        update_search_categories([p.pk for p in projects])
        # Bulk writes send no signal: copy the stars, license, activity as bulk writers do.
        project_facts_sync(project_ids=[p.pk for p in projects])
        return projects

    return make


@pytest.fixture
def entry(tree):
    """One ordinary entry, created the way the importer and the admin do (signals fire)."""
    return Project.objects.create(
        name="TorchThing",
        slug="torchthing",
        description="Medical imaging toolkit for deep learning",
        homepage_url="https://torchthing.example.org/",
        repo_url="https://github.com/example/torchthing",
        category=tree["medical"],
        tags=["segmentation"],
    )
