"""Production settings checks, run by ``manage.py check --deploy`` (CI runs it with a
production environment and expects no warning)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Tags, Warning, register

UNSAFE_SCRIPT_SOURCES = ("'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:")
AXES_BACKENDS = ("axes.backends.AxesStandaloneBackend", "axes.backends.AxesBackend")
# The longest a task may wait in Redis, unacknowledged: a rate-limited batch resumes after
# GitHub's reset (up to an hour) plus jitter; a longer wait than the visibility timeout
# makes Redis hand the task to a second worker.
LONGEST_COUNTDOWN_SECONDS = 3600 + 30


@register(Tags.security, deploy=True)
def check_content_security_policy(app_configs=None, **kwargs):
    errors = []
    if "csp.middleware.CSPMiddleware" not in settings.MIDDLEWARE:
        return [
            Warning(
                "django-csp's CSPMiddleware is not installed: no Content-Security-Policy header.",
                id="ops.W001",
            )
        ]
    directives = (getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}).get("DIRECTIVES", {})
    script_src = directives.get("script-src", directives.get("default-src"))
    if not script_src:
        errors.append(Warning("The CSP has no script-src (nor default-src).", id="ops.W002"))
    else:
        unsafe = sorted({str(s) for s in script_src} & set(UNSAFE_SCRIPT_SOURCES))
        if unsafe:
            errors.append(
                Warning(
                    f"The CSP's script-src allows {', '.join(unsafe)}: inline or foreign "
                    "scripts would run.",
                    id="ops.W002",
                )
            )
    return errors


@register(Tags.security, deploy=True)
def check_login_throttling(app_configs=None, **kwargs):
    backends = list(settings.AUTHENTICATION_BACKENDS)
    if not backends or backends[0] not in AXES_BACKENDS:
        return [
            Warning(
                "django-axes' backend must come first in AUTHENTICATION_BACKENDS, or failed "
                "logins are not throttled.",
                id="ops.W003",
            )
        ]
    if not getattr(settings, "AXES_ENABLED", True):
        return [Warning("AXES_ENABLED is off: failed logins are not throttled.", id="ops.W003")]
    return []


@register(Tags.caches, deploy=True)
def check_shared_services(app_configs=None, **kwargs):
    errors = []
    if not settings.REDIS_URL:
        errors.append(
            Warning(
                "REDIS_URL is empty: each process keeps its own cache and tasks run inside "
                "web requests. Production needs Redis.",
                id="ops.W004",
            )
        )
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {}
    visibility = options.get("visibility_timeout", 3600)
    longest = max(LONGEST_COUNTDOWN_SECONDS, settings.CELERY_TASK_TIME_LIMIT)
    if settings.REDIS_URL and visibility <= longest:
        errors.append(
            Warning(
                f"The broker's visibility timeout ({visibility} s) is not longer than the "
                f"longest task wait ({longest} s): Redis would deliver such tasks twice.",
                hint="Raise CELERY_VISIBILITY_TIMEOUT.",
                id="ops.W005",
            )
        )
    return errors
