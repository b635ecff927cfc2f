"""Visitors' "Report a problem": one open finding of kind ``user_report`` per report."""

from __future__ import annotations

import hashlib
import uuid

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from projects.disclosure import evidence_split
from projects.models import Finding, Project

REPORT_LIMIT = getattr(settings, "REPORT_RATE_LIMIT", 5)
REPORT_WINDOW_SECONDS = getattr(settings, "REPORT_RATE_WINDOW", 60 * 60)


def _rate_key(ip: str) -> str:
    return "web:report-rate:" + hashlib.sha256(ip.encode()).hexdigest()[:32]


def report_allowed(ip: str) -> bool:
    """Count one attempt for this address; False once it is over the limit in the window."""
    key = _rate_key(ip)
    if cache.add(key, 1, timeout=REPORT_WINDOW_SECONDS):
        return True
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.add(key, 1, timeout=REPORT_WINDOW_SECONDS)
        return True
    return count <= REPORT_LIMIT


def create_user_report(project: Project, *, reason: str, message: str, email: str) -> Finding:
    now = timezone.now()
    # The reporter's email is for the curators' answer only: the public sees the report,
    # not who made it.
    evidence, curator_evidence = evidence_split(
        Finding.Kind.USER_REPORT,
        {"reason": reason, "message": message, "email": email, "page": "public"},
    )
    return Finding.objects.create(
        project=project,
        kind=Finding.Kind.USER_REPORT,
        # Each report is its own finding: the subject is unique per report.
        subject=f"user-report:{uuid.uuid4()}",
        evidence=evidence,
        curator_evidence=curator_evidence,
        first_seen=now,
        last_seen=now,
    )
