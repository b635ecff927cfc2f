import ipaddress
import socket
from pathlib import Path

import pytest

pytest_plugins = ["tests.fakes.fixtures"]

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data" / "pytorch-landscape"
FIXTURE_FILE = REPO_ROOT / "fixtures" / "landscape.yml"


def _loopback_only(address) -> None:
    host = address[0] if isinstance(address, tuple) else None
    if host is None:  # a Unix socket
        return
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name other than localhost
        loopback = False
    if not loopback:
        raise OSError(f"a test tried to reach {host!r}: tests talk to 127.0.0.1 only")


@pytest.fixture(autouse=True, scope="session")
def _no_network():
    """Every socket this process opens goes to the loopback interface (the fake servers,
    PostgreSQL, Redis, the browser): a test that would reach the network fails instead."""
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex

    def guarded_connect(sock, address):
        _loopback_only(address)
        return connect(sock, address)

    def guarded_connect_ex(sock, address):
        _loopback_only(address)
        return connect_ex(sock, address)

    socket.socket.connect, socket.socket.connect_ex = guarded_connect, guarded_connect_ex
    yield
    socket.socket.connect, socket.socket.connect_ex = connect, connect_ex


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Logos and uploads go to a per-test folder, never to the developer's var/."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def _site_url(settings):
    """The test client's own address, which absolute links start with (landscape.site)."""
    settings.SITE_URL = "http://testserver"


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
