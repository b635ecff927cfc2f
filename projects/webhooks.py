"""GitHub webhook: push, release and repository events refresh that repository at once."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from projects.models import RepositoryStatus
from projects.tasks import enqueue_refresh

logger = logging.getLogger(__name__)

REFRESH_EVENTS = {"push", "release", "repository"}
MAX_BODY_BYTES = 5 * 1024 * 1024


def signature_valid(*, secret: str, body: bytes, header: str | None) -> bool:
    """X-Hub-Signature-256 is ``sha256=<hex HMAC of the body>``, compared in constant time."""
    if not secret or not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256="))


@csrf_exempt  # authenticated by the HMAC signature instead of a CSRF token
@require_POST
def github_webhook(request: HttpRequest) -> JsonResponse:
    secret = settings.GITHUB_WEBHOOK_SECRET
    if not secret:
        return JsonResponse({"detail": "the webhook is not configured"}, status=503)
    body = request.body[: MAX_BODY_BYTES + 1]
    if len(body) > MAX_BODY_BYTES:
        return JsonResponse({"detail": "payload too large"}, status=413)
    if not signature_valid(
        secret=secret, body=body, header=request.headers.get("X-Hub-Signature-256")
    ):
        logger.warning("webhook refused: bad or missing signature")
        return JsonResponse({"detail": "invalid signature"}, status=403)

    event = request.headers.get("X-GitHub-Event", "")
    if event == "ping":
        return JsonResponse({"detail": "pong"})
    if event not in REFRESH_EVENTS:
        return JsonResponse({"detail": f"event {event!r} ignored"}, status=202)
    try:
        payload = json.loads(body)
        full_name = payload["repository"]["full_name"]
        owner, name = full_name.split("/", 1)
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"detail": "payload has no repository.full_name"}, status=400)

    ids = list(
        RepositoryStatus.objects.filter(
            host="github.com", owner__iexact=owner, name__iexact=name
        ).values_list("pk", flat=True)
    )
    if not ids:
        return JsonResponse({"detail": f"{full_name} is not listed"}, status=202)
    enqueue_refresh(ids)
    logger.info("webhook %s for %s: refresh queued", event, full_name)
    return JsonResponse({"detail": "refresh queued", "repositories": len(ids)}, status=202)
