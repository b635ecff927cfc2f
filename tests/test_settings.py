"""Settings come from the environment; production refuses to start half-configured."""

import os
import subprocess
import sys

from tests.conftest import REPO_ROOT

PROBE = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"


def run_with(**env: str) -> subprocess.CompletedProcess:
    base = {
        k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"}
    }
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO_ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "landscape.settings", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_refuses_the_development_secret_key():
    result = run_with(DEBUG="0", ALLOWED_HOSTS="landscape.example")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_without_explicit_allowed_hosts():
    result = run_with(DEBUG="0", SECRET_KEY="x" * 50)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS must list" in result.stderr


def test_production_starts_when_both_are_given():
    result = run_with(DEBUG="0", SECRET_KEY="k" * 50, ALLOWED_HOSTS="landscape.example")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_the_embedded_default_needs_no_server():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CACHES['default']['BACKEND'], "
        "s.CELERY_TASK_ALWAYS_EAGER)"
    )
    base = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG"}}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "landscape.settings"},
        capture_output=True,
        text=True,
        check=True,
    )
    engine, cache, eager = result.stdout.split()
    assert engine == "django.db.backends.sqlite3"
    assert cache.endswith("LocMemCache")
    assert eager == "True"


def test_database_and_redis_urls_switch_to_postgres_and_redis():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CACHES['default']['BACKEND'], "
        "s.CELERY_BROKER_URL, s.CELERY_TASK_ALWAYS_EAGER)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "landscape.settings",
            "DATABASE_URL": "postgres://u@db.example:5432/x",
            "REDIS_URL": "redis://cache.example:6379/0",
        },
        capture_output=True,
        text=True,
        check=True,
    )
    engine, cache, broker, eager = result.stdout.split()
    assert engine == "django.db.backends.postgresql"
    assert cache.endswith("RedisCache")
    assert broker == "redis://cache.example:6379/0"
    assert eager == "False"


def test_sign_in_with_github_appears_only_when_its_oauth_app_is_configured():
    code = (
        "import django; django.setup(); from django.urls import reverse, NoReverseMatch\n"
        "try:\n    print(reverse('github_login'))\nexcept NoReverseMatch:\n    print('off')"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_OAUTH")} | {
        "DJANGO_SETTINGS_MODULE": "landscape.settings"
    }

    def run(env):
        return subprocess.run(
            [sys.executable, "-c", code],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    assert run(base) == "off"
    configured = base | {"GITHUB_OAUTH_CLIENT_ID": "id", "GITHUB_OAUTH_SECRET": "secret"}
    assert run(configured) == "/accounts/github/login/"


def test_a_visibility_timeout_within_the_lock_and_countdown_is_refused():
    """Redis must not hand a task out again before it has finished waiting and running, nor
    a killed worker's batch back while its repository locks are held (ops.E001)."""

    def check(**env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", "check"],
            cwd=REPO_ROOT,
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "landscape.settings",
                "REDIS_URL": "redis://cache.example:6379/0",
                **env,
            },
            capture_output=True,
            text=True,
            check=False,
        )

    assert check().returncode == 0
    # 15 minutes' locks, an hour's rate-limit countdown: 75 minutes is not enough.
    refused = check(CELERY_VISIBILITY_TIMEOUT=str(75 * 60), REFRESH_LOCK_TTL_SECONDS="900")
    assert refused.returncode != 0
    assert "ops.E001" in refused.stderr and "REFRESH_LOCK_TTL_SECONDS" in refused.stderr
    # Shorter locks make room again.
    assert (
        check(CELERY_VISIBILITY_TIMEOUT=str(75 * 60), REFRESH_LOCK_TTL_SECONDS="600").returncode
        == 0
    )


def _proxy_count(**env: str) -> subprocess.CompletedProcess:
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.TRUSTED_PROXY_COUNT, s.AXES_CLIENT_IP_CALLABLE)"
    )
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"TRUSTED_PROXY_COUNT", "AXES_PROXY_COUNT", "DEBUG"}
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "landscape.settings", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_one_trusted_proxy_count_with_its_former_name_as_an_alias():
    """TRUSTED_PROXY_COUNT (default 0) serves every limit by address; AXES_PROXY_COUNT, its
    former name, still works, and the new name wins when both are set."""
    assert _proxy_count().stdout.split() == ["0", "landscape.client_ip.client_ip"]
    assert _proxy_count(TRUSTED_PROXY_COUNT="2").stdout.split()[0] == "2"
    assert _proxy_count(AXES_PROXY_COUNT="1").stdout.split()[0] == "1"
    both = _proxy_count(TRUSTED_PROXY_COUNT="2", AXES_PROXY_COUNT="1")
    assert both.stdout.split()[0] == "2"
    refused = _proxy_count(TRUSTED_PROXY_COUNT="-1")
    assert refused.returncode != 0
    assert "TRUSTED_PROXY_COUNT must be 0 or more" in refused.stderr
