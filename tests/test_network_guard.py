"""tests/conftest.py refuses any connection off the loopback interface: a test that would
reach the network fails at once instead (there is no network on CI; there must be none in
the tests either)."""

import socket

import pytest


@pytest.mark.parametrize("host", ["93.184.216.34", "2606:2800:220:1::", "github.com"])
def test_a_connection_off_the_loopback_interface_is_refused(host):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock, pytest.raises(OSError, match="127"):
        sock.connect((host, 443))


def test_the_loopback_interface_is_reachable():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=5):
            pass
