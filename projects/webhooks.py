"""GitHub webhook: push, release and repository events refresh that repository at once."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from landscape.request_input import InputError, json_parse
from ops.deliveries import delivery_claim
from projects.models import RepositoryStatus
from projects.tasks import enqueue_refresh

logger = logging.getLogger(__name__)

REFRESH_EVENTS = {"push", "release", "repository"}
# GitHub's delivery ids are GUIDs; anything else is not one of its deliveries.
DELIVERY_ID = re.compile(r"[0-9A-Za-z-]{1,64}")
FULL_NAME = re.compile(r"[^/\x00]+/[^/\x00]+")


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
    # Read from the stream, not request.body: this hook's limit is GITHUB_WEBHOOK_MAX_BYTES
    # alone (request.body would apply DATA_UPLOAD_MAX_MEMORY_SIZE, half of it, first).
    limit = settings.GITHUB_WEBHOOK_MAX_BYTES
    body = request.read(limit + 1)
    if len(body) > limit:
        return JsonResponse({"detail": f"payload larger than {limit} bytes"}, status=413)
    if not signature_valid(
        secret=secret, body=body, header=request.headers.get("X-Hub-Signature-256")
    ):
        logger.warning("webhook refused: bad or missing signature")
        return JsonResponse({"detail": "invalid signature"}, status=403)

    event = request.headers.get("X-GitHub-Event", "")
    if event == "ping":
        return JsonResponse({"detail": "pong"})
    if event not in REFRESH_EVENTS:
        return JsonResponse({"detail": f"event {event[:40]!r} ignored"}, status=202)
    delivery_id = request.headers.get("X-GitHub-Delivery", "")
    if delivery_id and not DELIVERY_ID.fullmatch(delivery_id):
        return JsonResponse({"detail": "X-GitHub-Delivery is not a delivery id"}, status=400)
    try:
        payload = json_parse(body)
    except InputError as exc:
        return JsonResponse({"detail": str(exc)}, status=400)
    repository = payload.get("repository") if isinstance(payload, dict) else None
    full_name = repository.get("full_name") if isinstance(repository, dict) else None
    if not isinstance(full_name, str) or not FULL_NAME.fullmatch(full_name):
        return JsonResponse(
            {"detail": "payload has no repository.full_name of the form owner/name"}, status=400
        )
    owner, name = full_name.split("/")

    with transaction.atomic():
        # In the transaction of the work: a failure forgets the delivery, GitHub's
        # redelivery is then acted on.
        if not delivery_claim(
            source="github",
            delivery_id=delivery_id,
            body=body,
            keep=timedelta(hours=settings.GITHUB_WEBHOOK_REPLAY_HOURS),
        ):
            logger.info("webhook %s for %s: replay of a delivery, ignored", event, full_name)
            return JsonResponse({"detail": "delivery already processed"}, status=200)
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
