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


def settings_of(*names: str, **env: str) -> list[str]:
    """The named settings, as a fresh process with ``env`` (and no DATABASE_URL, REDIS_URL,
    CACHE_URL, CELERY_BROKER_URL, DEBUG of ours) prints them."""
    code = "import django; django.setup(); from django.conf import settings as s; " + "; ".join(
        f"print(s.{name})" for name in names
    )
    unset = {"DATABASE_URL", "REDIS_URL", "CACHE_URL", "CELERY_BROKER_URL", "DEBUG"}
    base = {k: v for k, v in os.environ.items() if k not in unset}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "landscape.settings", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.splitlines()


def test_without_database_url_the_settings_say_what_to_do():
    result = run_with(DATABASE_URL="")
    assert result.returncode != 0
    assert "DATABASE_URL is not set. Run `make run`" in result.stderr
    assert "DATABASE_URL=postgres://" in result.stderr


def test_without_a_broker_tasks_run_in_process_on_a_private_cache():
    engine, cache, eager = settings_of(
        "DATABASES['default']['ENGINE']",
        "CACHES['default']['BACKEND']",
        "CELERY_TASK_ALWAYS_EAGER",
        DATABASE_URL="postgres://u@db.example:5432/x",
    )
    assert engine == "django.db.backends.postgresql"
    assert cache.endswith("LocMemCache")
    assert eager == "True"


def test_make_runs_job_without_redis_database_cache_and_a_broker_in_var(tmp_path):
    """What `make run` exports when REDIS_URL is unset: a worker is expected (not eager), the
    cache is one every process shares, the broker's folders exist under VAR_DIR."""
    cache, location, broker, eager, options = settings_of(
        "CACHES['default']['BACKEND']",
        "CACHES['default']['LOCATION']",
        "CELERY_BROKER_URL",
        "CELERY_TASK_ALWAYS_EAGER",
        "CELERY_BROKER_TRANSPORT_OPTIONS",
        DATABASE_URL="postgres://postgres@/%2Ftmp%2Fvar%2Fpostgres/landscape",
        CACHE_URL="dbcache://landscape_cache",
        CELERY_BROKER_URL="filesystem://",
        VAR_DIR=str(tmp_path),
    )
    assert cache == "django.core.cache.backends.db.DatabaseCache"
    assert location == "landscape_cache"
    assert broker == "filesystem://"
    assert eager == "False"
    queue = tmp_path / "broker" / "queue"
    assert f"'data_folder_in': '{queue}'" in options
    assert f"'data_folder_out': '{queue}'" in options
    assert queue.is_dir() and (tmp_path / "broker" / "control").is_dir()


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
