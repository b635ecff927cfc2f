"""Secrets never logged: the GitHub token of a refresh (with failures on the way), the
password of a failed login, an API key that is refused and the webhook secret do not appear
in any log record, at any level, in the text or the JSON format, nor in what is stored."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

import pytest
from axes.models import AccessAttempt

from landscape.logging import JsonFormatter
from projects import status
from projects.models import RepositoryStatus
from tests.fakes.servers import Fault

pytestmark = pytest.mark.django_db

PASSWORD = "Zebra-Orchid-73-secret"
NOISY = ("httpx", "httpcore", "django.request", "django.server", "axes", "celery", "projects")


@pytest.fixture
def everything_logged(caplog):
    caplog.set_level(logging.DEBUG)
    for name in NOISY:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def all_output(caplog) -> str:
    text = logging.Formatter("%(name)s %(levelname)s %(message)s %(args)s")
    as_json = JsonFormatter()
    lines = []
    for record in caplog.records:
        lines.append(text.format(record))
        lines.append(as_json.format(record))
    return "\n".join(lines)


def test_a_refresh_with_a_token_never_logs_it(everything_logged, fake_github, github_token, world):
    fake_github.active("acme/alpha")
    status.repositories_sync()
    ids = list(RepositoryStatus.objects.values_list("pk", flat=True))
    status.repositories_refresh(ids=ids)  # GraphQL with the token
    fake_github.inject(*[Fault.server_error(502) for _ in range(10)])
    status.repositories_refresh(ids=ids)  # failures, a fallback to REST, error messages
    fake_github.graphql_quota.exhaust_after(0)
    status.repositories_refresh(ids=ids)  # a rate limit

    assert any(r.name.startswith("httpx") for r in everything_logged.records), "nothing captured"
    assert any("Bearer" in (r.header("authorization") or "") for r in fake_github.requests)
    output = all_output(everything_logged)
    assert github_token not in output
    stored = json.dumps(list(RepositoryStatus.objects.values("last_error", "health_evidence")))
    assert github_token not in stored


def test_a_failed_login_never_logs_the_password(everything_logged, client, world):
    client.post("/accounts/login/", {"login": "owner@example.org", "password": PASSWORD})
    client.post("/admin/login/?next=/admin/", {"username": "owner", "password": PASSWORD})
    assert any(r.name.startswith("axes") for r in everything_logged.records), "nothing captured"
    assert PASSWORD not in all_output(everything_logged)
    attempts = AccessAttempt.objects.all()
    assert len(attempts) == 1  # owner's, by address (allauth) and by username (admin)
    assert attempts[0].failures_since_start == 2
    for attempt in attempts:
        assert PASSWORD not in attempt.post_data and PASSWORD not in attempt.get_data


def test_a_refused_api_key_and_the_webhook_secret_are_never_logged(
    everything_logged, client, world, settings
):
    key = "plk_deadbeef_" + "s" * 40
    assert client.get("/api/v1/projects/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401
    settings.GITHUB_WEBHOOK_SECRET = "webhook-secret-never-in-logs"
    body = b'{"repository": {"full_name": "acme/alpha"}}'
    wrong = hmac.new(b"another-secret", body, hashlib.sha256).hexdigest()
    response = client.post(
        "/hooks/github/",
        body,
        content_type="application/json",
        HTTP_X_GITHUB_EVENT="push",
        HTTP_X_HUB_SIGNATURE_256=f"sha256={wrong}",
    )
    assert response.status_code == 403
    output = all_output(everything_logged)
    assert "webhook refused" in output
    assert key not in output and "s" * 40 not in output
    assert settings.GITHUB_WEBHOOK_SECRET not in output
