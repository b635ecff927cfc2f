"""A password-reset link signs in whoever holds it: its key must not reach a log. gunicorn
runs as docker-compose starts it (its command line, access log on), on a free loopback port,
and serves a real reset link, the same key in a page that is not found (django.request
logs the path), as a referer and a query-string token; the log holds none of them."""

from __future__ import annotations

import shlex
import sys

import pytest
import yaml
from allauth.account.forms import default_token_generator
from allauth.account.utils import user_pk_to_url_str
from django.contrib.auth import get_user_model
from gunicorn.config import Config

from landscape.gunicorn_logging import RedactingLogger
from tests.conftest import REPO_ROOT
from tests.reliability.conftest import test_database_url
from tests.reliability.procs import AppProcess, app_env, free_port, get, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def compose_gunicorn_args(port: int) -> list[str]:
    """The web service's gunicorn command from docker-compose.yml, bound to loopback."""
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    shell = compose["services"]["web"]["command"]
    # sh -c "migrate && collectstatic && seed_demo && gunicorn ...": the last step.
    inner = shlex.split(shell)[-1]
    args = shlex.split(inner.split("&&")[-1])
    assert args[0] == "gunicorn", args
    bind = args.index("--bind")
    args[bind + 1] = f"127.0.0.1:{port}"
    workers = args.index("--workers")
    args[workers + 1] = "1"
    assert "--access-logfile" in args, "docker-compose logs every request: the case tested"
    return [sys.executable, "-m", *args]


def test_gunicorn_as_composed_logs_no_reset_key(static_root, tmp_path):
    user = get_user_model().objects.create_user("reader", "reader@example.org", "x-Long-pw-42")
    key = default_token_generator.make_token(user)
    link = f"/accounts/password/reset/key/{user_pk_to_url_str(user)}-{key}/"
    query_token = "QueryToken0123456789abcdef"

    port = free_port()
    env = app_env(DATABASE_URL=test_database_url(), REDIS_URL="", STATIC_ROOT=str(static_root))
    web = AppProcess("gunicorn", compose_gunicorn_args(port), env, tmp_path).start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(
            lambda: _answers(base),
            deadline_s=60,
            what="gunicorn",
            logs=web.text,
            processes=(web.process,),
        )
        status, _ = get(base + link)
        assert status == 200  # a good key: allauth keeps it and shows the new-password form
        # (allauth's pattern takes anything after the key: a 404 needs another prefix.)
        assert get(base + "/gone" + link)[0] == 404
        assert get(base + "/stats/", headers={"Referer": base + link})[0] == 200
        assert get(base + f"/api/v1/stats/?page=1&token={query_token}")[0] == 200
        wait_until(
            lambda: "/api/v1/stats/" in web.text(tail=10**6),
            deadline_s=30,
            what="the access log line of the last request",
            logs=web.text,
            processes=(web.process,),
        )
    finally:
        web.stop()
    log = web.log.read_text(errors="replace")
    assert "/accounts/password/reset/key/[redacted]/" in log  # the access log was written
    assert "Not Found: /gone/accounts/password/reset/key/[redacted]/" in log  # django.request
    assert key not in log
    assert query_token not in log


def _answers(base: str) -> bool:
    try:
        return get(base + "/healthz")[0] in (200, 503)
    except OSError:
        return False


def test_gunicorns_error_log_masks_the_key_too(tmp_path):
    config = Config()
    config.set("errorlog", str(tmp_path / "error.log"))
    logger = RedactingLogger(config)
    logger.error("Error handling request %s", "/accounts/password/reset/key/1-k3y-s3cret/")
    for handler in logger.error_log.handlers:
        handler.flush()
    text = (tmp_path / "error.log").read_text()
    assert "Error handling request /accounts/password/reset/key/[redacted]/" in text
    assert "k3y-s3cret" not in text
