"""Webhook deliveries remembered for a while, so that a replay does no work twice.

A delivery is known by its id (GitHub's ``X-GitHub-Delivery``) and by the digest of its
signed body: the signature does not cover the id, so a captured delivery sent again under
a new id is still a replay. Rows live in PostgreSQL (ops.models.Delivery), not in Redis:
the unique key decides between concurrent deliveries, and a replay is recognised while
Redis is away or after it lost its data.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from ops.models import Delivery


def delivery_claim(*, source: str, delivery_id: str, body: bytes, keep: timedelta) -> bool:
    """Record a delivery; False if it (its id or its body) was seen within ``keep``.

    Call it inside the transaction that does the delivery's work: if that work fails and
    rolls back, the delivery is forgotten and a redelivery is acted on. A concurrent claim
    of the same key waits for this transaction and then gets False.
    """
    now = timezone.now()
    Delivery.objects.filter(received__lt=now - keep).delete()
    keys = [f"{source}:sha256:{hashlib.sha256(body).hexdigest()}"]
    if delivery_id:
        keys.append(f"{source}:id:{delivery_id}")
    try:
        with transaction.atomic():
            Delivery.objects.bulk_create([Delivery(key=key, received=now) for key in keys])
    except IntegrityError:
        return False
    return True
