from pathlib import Path

import pytest

pytest_plugins = ["tests.fakes.fixtures"]

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data" / "pytorch-landscape"
FIXTURE_FILE = REPO_ROOT / "fixtures" / "landscape.yml"


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Logos and uploads go to a per-test folder, never to the developer's var/."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The suite runs on Redis: locks, throttles and fragments must not leak between tests."""
    from django.core.cache import cache

    from projects.web import near

    cache.clear()
    near.forget()  # the worker's own copies hang on the version just cleared
    yield
    cache.clear()
    near.forget()


@pytest.fixture
def shared_data() -> Path:
    if not (SHARED_DATA / "landscape.yml").is_file():
        pytest.skip(f"the shared PyTorch Landscape data is not at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def shared_landscape_text(shared_data) -> str:
    return (shared_data / "landscape.yml").read_text(encoding="utf-8")
