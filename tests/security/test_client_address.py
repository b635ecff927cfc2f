"""One answer to "who is the client?" (landscape.client_ip) for every limit by address: the
API's anonymous throttle, the report form, login throttling and allauth's rate limits.

TRUSTED_PROXY_COUNT proxies append to X-Forwarded-For; only what they appended is believed."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.test import Client, RequestFactory
from django.utils.module_loading import import_string

from landscape.client_ip import client_ip
from projects.models import Finding
from projects.web.reports import REPORT_LIMIT

pytestmark = pytest.mark.django_db


def test_without_a_trusted_proxy_a_changed_forwarded_for_does_not_evade_the_api_throttle(
    world, settings
):
    settings.TRUSTED_PROXY_COUNT = 0
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "3/minute", "user": "100/minute", "write": "100/minute"},
    }
    client = Client()
    statuses = [
        client.get("/api/v1/stats/", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code
        for n in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    assert client.get("/api/v1/projects/", HTTP_X_FORWARDED_FOR="192.0.2.77").status_code == 429


def _report(client: Client, forwarded_for: str) -> int:
    return client.post(
        "/projects/alpha/report/",
        {"reason": "other", "message": "The description is out of date."},
        HTTP_X_FORWARDED_FOR=forwarded_for,
    ).status_code


def test_behind_one_proxy_each_client_has_its_own_report_bucket_and_forging_buys_nothing(
    world, settings
):
    settings.TRUSTED_PROXY_COUNT = 1
    # Every request arrives from the proxy (REMOTE_ADDR 127.0.0.1), which appends the
    # address it saw to X-Forwarded-For.
    first, second = Client(), Client()
    assert [_report(first, "203.0.113.5") for _ in range(REPORT_LIMIT)] == [302] * REPORT_LIMIT
    assert _report(first, "203.0.113.5") == 429
    # A forged leftmost hop is the client's own text, before the proxy's entry: same bucket.
    assert _report(first, "192.0.2.1, 203.0.113.5") == 429
    assert _report(first, "garbage, 203.0.113.5") == 429
    # Another client behind the same proxy is not limited with the first.
    assert _report(second, "203.0.113.9") == 302
    assert Finding.objects.filter(kind="user_report").count() == REPORT_LIMIT + 1


@pytest.mark.parametrize(
    ("proxies", "forwarded_for", "expected"),
    [
        (0, "192.0.2.1", "10.0.0.1"),  # no proxy: the header is the client's own text
        (1, "192.0.2.1, 203.0.113.5", "203.0.113.5"),
        (2, "192.0.2.1, 203.0.113.5, 10.1.1.1", "203.0.113.5"),
        (2, "203.0.113.5", "10.0.0.1"),  # fewer hops than proxies: it did not pass them
        (1, "not-an-address", "10.0.0.1"),
        (1, "", "10.0.0.1"),
        (1, " 2001:db8::1 ", "2001:db8::1"),
    ],
)
def test_the_client_address(settings, proxies, forwarded_for, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded_for)
    assert client_ip(request) == expected


def test_every_limit_by_address_asks_the_same_function(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.1, 203.0.113.5"
    )
    from allauth.account.adapter import get_adapter
    from axes.helpers import get_client_ip_address

    assert get_client_ip_address(request) == "203.0.113.5"
    assert get_adapter(request).get_client_ip(request) == "203.0.113.5"
    for path in django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"]:
        assert import_string(path)().get_ident(request) == "203.0.113.5", path
