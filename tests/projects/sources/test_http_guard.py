"""The SSRF guard: refused destinations are never connected to."""

from __future__ import annotations

import contextlib
import ipaddress
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator

import httpcore
import pytest

from projects.sources.base import OutboundRefused, TransientError
from projects.sources.http import (
    GuardedNetworkBackend,
    fetch,
    make_client,
    parse_networks,
    refusal_reason,
)
from projects.sources.links import check_link
from tests.fakes.servers import AcceptRecorder, FakeLinks


@pytest.fixture
def connect_attempts(monkeypatch) -> list[tuple[str, int]]:
    """Every TCP connection the guarded backend hands to the real socket layer."""
    attempts: list[tuple[str, int]] = []
    original = httpcore.SyncBackend.connect_tcp

    def spy(self, host, port, *args, **kwargs):
        attempts.append((host, port))
        return original(self, host, port, *args, **kwargs)

    monkeypatch.setattr(httpcore.SyncBackend, "connect_tcp", spy)
    return attempts


@contextlib.contextmanager
def _ipv6_recorder() -> Iterator[AcceptRecorder | None]:
    """A listener on [::1] where the host has IPv6 loopback; None elsewhere."""
    try:
        recorder = AcceptRecorder("::1")
    except OSError:
        yield None
        return
    with recorder:
        yield recorder


@pytest.fixture
def no_allowlist(settings) -> None:
    settings.OUTBOUND_ALLOWED_NETWORKS = []


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:{port6}/",
        "http://localhost:{port}/",
        "http://[::ffff:127.0.0.1]:{port}/",
        "http://127.0.0.1:{port}/",
        "http://0.0.0.0:{port}/",
        "http://2130706433:{port}/",  # 127.0.0.1 as a decimal integer
    ],
)
def test_refused_without_allowlist_and_nothing_connects(url, no_allowlist, connect_attempts):
    with AcceptRecorder("127.0.0.1") as v4, _ipv6_recorder() as v6:
        target = url.format(port=v4.port, port6=v6.port if v6 else 9)
        with make_client(timeout=2) as client, pytest.raises(OutboundRefused):
            fetch(client, "GET", target)
        assert connect_attempts == []
        assert v4.connections() == 0
        if v6 is not None:
            assert v6.connections() == 0


def test_link_check_reports_refusal_as_definite_failure(no_allowlist, connect_attempts):
    with AcceptRecorder("127.0.0.1") as listener:
        result = check_link(f"http://localhost:{listener.port}/docs")
        assert not result.ok
        assert not result.transient
        assert "refusing to connect" in (result.error or "")
        assert listener.connections() == 0
    assert connect_attempts == []


def test_allowlisted_loopback_connects(settings, connect_attempts):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    with FakeLinks() as site:
        url = site.page("/")
        with make_client(timeout=5) as client:
            response = fetch(client, "GET", url)
        assert response.status_code == 200
        assert site.request_count == 1
    assert connect_attempts == [("127.0.0.1", site.port)]


def test_allowlist_also_admits_a_name_resolving_into_it(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    with FakeLinks() as site:
        site.page("/")
        with make_client(timeout=5) as client:
            response = fetch(client, "GET", f"http://localhost:{site.port}/")
        assert response.status_code == 200
        # The Host header keeps the name even though we connected to the vetted IP.
        assert site.requests[0].header("host") == f"localhost:{site.port}"


def test_allowlist_is_read_at_connect_time(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    with FakeLinks() as site, make_client(timeout=5) as client:
        url = site.page("/")
        with pytest.raises(OutboundRefused):
            fetch(client, "GET", url)
        settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
        assert fetch(client, "GET", url).status_code == 200


def test_dns_rebinding_connects_to_the_vetted_address(settings, connect_attempts):
    """The name is resolved once, by the guard; the socket goes to that very IP."""
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    answers = iter(["127.0.0.1", "10.0.0.1"])  # a second lookup would get 10.0.0.1

    def resolver(host, port, type=0):
        address = next(answers)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    with FakeLinks() as site:
        site.page("/")
        backend = GuardedNetworkBackend(resolver=resolver)
        with make_client(timeout=5, network_backend=backend) as client:
            response = fetch(client, "GET", f"http://rebind.example:{site.port}/")
        assert response.status_code == 200
        assert site.requests[0].header("host") == f"rebind.example:{site.port}"
    assert connect_attempts == [("127.0.0.1", site.port)]


def test_a_name_with_mixed_answers_only_reaches_public_ones(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = []

    def resolver(host, port, type=0):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
        ]

    backend = GuardedNetworkBackend(resolver=resolver)
    assert backend.vetted_addresses("mixed.example", 443) == ["93.184.216.34"]


def test_dns_failure_is_transient_not_a_refusal(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = []

    def resolver(host, port, type=0):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    backend = GuardedNetworkBackend(resolver=resolver)
    with make_client(timeout=2, network_backend=backend) as client, pytest.raises(TransientError):
        fetch(client, "GET", "http://no-such-host.invalid/")


def test_unix_sockets_are_refused():
    with pytest.raises(OutboundRefused):
        GuardedNetworkBackend().connect_unix_socket("/var/run/docker.sock")


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::127.0.0.1",
        "2002:7f00:1::1",  # 6to4 wrapping 127.0.0.1
        "2002:a00:1::1",  # 6to4 wrapping 10.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 wrapping 169.254.169.254
        "2001:db8::1",
    ],
)
def test_non_public_addresses_are_refused(address):
    assert refusal_reason(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700::6810:84e5"])
def test_public_addresses_are_allowed(address):
    assert refusal_reason(ipaddress.ip_address(address)) is None


def test_allowlist_covers_embedded_ipv4():
    allowed = parse_networks(["127.0.0.0/8"])
    assert refusal_reason(ipaddress.ip_address("::ffff:127.0.0.1"), allowed) is None
    assert refusal_reason(ipaddress.ip_address("10.0.0.1"), allowed) is not None


def test_parse_networks_accepts_a_comma_separated_string():
    assert parse_networks("127.0.0.0/8, ::1/128") == (
        ipaddress.ip_network("127.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
    )


@pytest.fixture
def throwaway_certificate(tmp_path) -> tuple[str, str]:
    """A self-signed certificate for ``secure.test`` (made with the openssl CLI)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=secure.test", "-addext", "subjectAltName=DNS:secure.test",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return str(cert), str(key)


def test_tls_uses_the_hostname_for_sni_and_verification(settings, throwaway_certificate):
    """We connect to the vetted IP, yet TLS still names and verifies the host."""
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    cert, key = throwaway_certificate
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    sni_names: list[str | None] = []
    server_context.sni_callback = lambda sock, name, ctx: sni_names.append(name)
    client_context = ssl.create_default_context(cafile=cert)

    looked_up: list[str] = []

    def resolver(host, port, type=0):
        looked_up.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    backend = GuardedNetworkBackend(resolver=resolver)
    with FakeLinks().start(tls=server_context) as site:
        site.page("/")
        with make_client(timeout=5, network_backend=backend, ssl_context=client_context) as client:
            response = fetch(client, "GET", f"https://secure.test:{site.port}/")
            assert response.status_code == 200
            # Asking by IP must fail verification: the certificate names the host only.
            with pytest.raises(TransientError):
                fetch(client, "GET", f"https://127.0.0.1:{site.port}/")
    assert looked_up == ["secure.test", "127.0.0.1"]
    assert sni_names[0] == "secure.test"
    assert site.requests[0].header("host") == f"secure.test:{site.port}"
