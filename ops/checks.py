"""Production settings checks, run by ``manage.py check --deploy`` (CI runs it with a
production environment and expects no warning)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

UNSAFE_SCRIPT_SOURCES = ("'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:")
AXES_BACKENDS = ("axes.backends.AxesStandaloneBackend", "axes.backends.AxesBackend")
# A rate-limited batch resumes after GitHub's reset (up to an hour) plus jitter: the
# longest countdown but one (broker_visibility_needed).
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
    return errors


def broker_visibility_needed() -> int:
    """The shortest visibility timeout that never hands a task out twice, in seconds.

    A task waits in a worker, unacknowledged, for its countdown (a rate-limited batch until
    GitHub's reset; a batch deferred for held locks until they expire), then runs for up to
    its time limit and holds its repositories' locks for REFRESH_LOCK_TTL_SECONDS. Redis
    gives it to another worker once the visibility timeout has passed since it was handed
    out: that must come after the task would have finished and after its locks expired, so
    that the redelivered batch of a killed worker finds them free.
    """
    from projects.status import LOCK_RETRY_MARGIN_SECONDS

    ttl = settings.REFRESH_LOCK_TTL_SECONDS
    longest_countdown = max(LONGEST_COUNTDOWN_SECONDS, ttl + LOCK_RETRY_MARGIN_SECONDS)
    return longest_countdown + max(ttl, settings.CELERY_TASK_TIME_LIMIT)


@register(Tags.caches)
def check_broker_visibility(app_configs=None, **kwargs):
    if not settings.REDIS_URL:
        return []  # no broker that redelivers: tasks run in process
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {}
    visibility = options.get("visibility_timeout", 3600)
    needed = broker_visibility_needed()
    if visibility > needed:
        return []
    return [
        Error(
            f"The broker's visibility timeout ({visibility} s) is not longer than the longest "
            f"countdown plus the refresh lock's time to live or the task time limit "
            f"({needed} s): Redis would hand waiting or running tasks to a second worker, "
            "and a killed worker's batch would come back while its locks are still held.",
            hint=f"Set CELERY_VISIBILITY_TIMEOUT above {needed}, or lower "
            "REFRESH_LOCK_TTL_SECONDS.",
            id="ops.E001",
        )
    ]
