"""Production settings: `manage.py check --deploy` prints no warning; the answers carry a
Content-Security-Policy that allows no inline script, HSTS and secure cookies; and no page
relies on an inline script or event handler (the CSP would block it)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from django.db import connection
from django.test import override_settings

from ops import checks
from tests.conftest import REPO_ROOT
from tests.reliability.procs import app_env

PRODUCTION = {"SECURE_SSL_REDIRECT": "1", "REDIS_URL": "redis://127.0.0.1:6379/9"}


def production_env(**extra) -> dict:
    s = connection.settings_dict
    database = f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    return app_env(**PRODUCTION, DATABASE_URL=database, **extra)


def test_check_deploy_prints_no_warning_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO_ROOT,
        env=app_env(**PRODUCTION, DATABASE_URL="postgres://postgres@127.0.0.1:5432/unused"),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "WARNING" not in result.stdout + result.stderr.replace('"level": "INFO"', "")


@pytest.mark.parametrize(
    ("override", "check", "code"),
    [
        (
            {
                "CONTENT_SECURITY_POLICY": {
                    "DIRECTIVES": {"script-src": ["'self'", "'unsafe-inline'"]}
                }
            },
            checks.check_content_security_policy,
            "ops.W002",
        ),
        (
            {"AUTHENTICATION_BACKENDS": ["django.contrib.auth.backends.ModelBackend"]},
            checks.check_login_throttling,
            "ops.W003",
        ),
        ({"REDIS_URL": ""}, checks.check_shared_services, "ops.W004"),
        (
            {
                "REDIS_URL": "redis://x",
                "CELERY_BROKER_TRANSPORT_OPTIONS": {"visibility_timeout": 60},
            },
            checks.check_broker_visibility,
            "ops.E001",
        ),
    ],
)
def test_the_deploy_checks_catch_what_they_guard(override, check, code):
    assert [w.id for w in check()] == []
    with override_settings(**override):
        assert code in [w.id for w in check()]


PROBE = """
import json, django
django.setup()
from django.test import Client
from django.conf import settings
client = Client(HTTP_HOST="localhost")
login = client.get("/accounts/login/", secure=True)
plain = client.get("/accounts/login/")
health = client.get("/healthz")
cookie = login.cookies.get(settings.CSRF_COOKIE_NAME)
print(json.dumps({
    "status": login.status_code,
    "headers": dict(login.headers),
    "csrf_cookie": {"secure": bool(cookie["secure"]), "samesite": cookie["samesite"]},
    "session_cookie": [settings.SESSION_COOKIE_SECURE, settings.SESSION_COOKIE_HTTPONLY],
    "plain": [plain.status_code, plain.headers.get("Location")],
    "health": health.status_code,
}))
"""


@pytest.mark.django_db
def test_production_answers_carry_csp_hsts_and_secure_cookies(static_root):
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO_ROOT,
        env=production_env(STATIC_ROOT=str(static_root)),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    headers = probe["headers"]
    assert probe["status"] == 200

    csp = dict(
        ([*part.strip().split(" ", 1), ""])[:2]
        for part in headers["Content-Security-Policy"].split(";")
    )
    assert csp["script-src"] == "'self'"
    assert "unsafe-inline" not in csp["script-src"] and "unsafe-eval" not in csp["script-src"]
    assert csp["default-src"] == "'self'" and csp["object-src"] == "'none'"

    hsts = headers["Strict-Transport-Security"]
    assert (
        re.search(r"max-age=(\d+)", hsts) and int(re.search(r"max-age=(\d+)", hsts)[1]) >= 31536000
    )
    assert "includeSubDomains" in hsts and "preload" in hsts
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert probe["csrf_cookie"] == {"secure": True, "samesite": "Lax"}
    assert probe["session_cookie"] == [True, True]
    # Plain HTTP is sent to HTTPS, except the container healthcheck.
    assert probe["plain"] == [301, "https://localhost/accounts/login/"]
    assert probe["health"] in (200, 503)


INLINE_SCRIPT = re.compile(
    r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/(ld\+)?json\")[^>]*>", re.I
)
EVENT_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)


@pytest.mark.django_db
def test_no_page_depends_on_an_inline_script(client, world):
    pages = [
        "/",
        "/projects/alpha/",
        "/stats/",
        "/accounts/login/",
        "/admin/login/",
        "/api/docs/",
        "/api/redoc/",
    ]
    staff_pages = [
        "/admin/",
        "/admin/projects/project/",
        f"/admin/projects/project/{world['alpha'].pk}/change/",
    ]
    seen = {}
    for url in pages:
        seen[url] = client.get(url)
    client.force_login(world["actors"]["staff"].user)
    for url in staff_pages:
        seen[url] = client.get(url)
    for url, response in seen.items():
        assert response.status_code == 200, url
        html = response.content.decode()
        assert "Content-Security-Policy" in response.headers, url
        assert not INLINE_SCRIPT.search(html), (url, INLINE_SCRIPT.search(html)[0])
        assert not EVENT_HANDLER.search(html), (url, EVENT_HANDLER.search(html)[0])
    # The Swagger UI's init script is a file of its own, served as JavaScript.
    script = re.search(r'<script src="([^"]*script=[^"]*)"', seen["/api/docs/"].content.decode())
    assert script, "the docs page must load its init script from a URL"
    served = client.get(script[1].replace("&amp;", "&"))
    assert served.status_code == 200
    assert served["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in served.content
