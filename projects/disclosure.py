"""What the public may see of what the directory keeps: pure rules, no ORM.

Curators (staff) see everything in the admin; everyone else (pages, API, exports, the
feed, stored API bodies, maintainers' digests) sees only what these functions leave.

- A visitor's report: the email they gave "only if you want an answer" is for the curators;
  the public sees the report (its reason and details), not who made it.
- A failed check: the worker's error text names hosts, resolved addresses and the SSRF
  guard's verdict ("refusing to connect to runsc: 127.0.0.1 is not a public address"),
  which tells an outsider about our network. The public sees a short reason from a fixed
  vocabulary; anything not recognised is the generic one.
"""

from __future__ import annotations

import re
from typing import Any

# Keys of a user report's evidence that only curators see: the contact. The reason and
# the details are about the entry and stay public (the findings API shows them).
REPORT_CURATOR_KEYS = ("email",)
# Keys of a check's evidence that hold a worker's error text.
ERROR_KEYS = ("error", "last_error")

_HTTP_STATUS = re.compile(r"HTTP (\d{3})")
# "GET https://host/path: ...": the request a transport error names, not its class.
_REQUEST_PREFIX = re.compile(r"^[A-Z]+ \S+: ")
_ANSWERED = re.compile(r"\banswered (\d{3})\b")

# (pattern in the worker's text, what the public reads), first match wins. The texts
# come from projects/sources (http.py, links.py) and the forge clients.
_CLASSES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), reason)
    for pattern, reason in (
        (r"refusing to connect|not a public address|non-public address|unix socket",
         "the address is not allowed"),
        (r"rate.?limit", "rate limited"),
        (r"timed? ?out|timeout", "timed out"),
        (r"cannot resolve|name or service|nodename|getaddrinfo|dns", "the name did not resolve"),
        (r"more than \d+ redirects", "too many redirects"),
        (r"redirect|location", "unusable redirect"),
        (r"size limit", "the answer was too large"),
        (r"certificate|ssl|tls", "secure connection failed"),
        (r"disconnected|protocol ?error|incomplete", "the server closed the connection"),
        (r"connection failed|connect(ion)? ?error|connection refused|reset by peer",
         "connection failed"),
        (r"invalid url|is not allowed|credentials in the url|has no host", "invalid URL"),
    )
)  # fmt: skip


_REASONS = frozenset(reason for _, reason in _CLASSES)
_FALLBACK = re.compile(r"the \w+ could not be checked")


def public_error(error: str | None, *, subject: str = "link") -> str | None:
    """The public reason for a failed check of a ``subject`` ("link", "repository"):
    the HTTP status when that is all there is, a class of failure otherwise, never the
    worker's text. None when there was no error."""
    if not error:
        return None
    text = str(error).strip()
    # A reason already public stays as it is (evidence is split again on every check).
    if _HTTP_STATUS.fullmatch(text) or text in _REASONS or _FALLBACK.fullmatch(text):
        return text
    text = _REQUEST_PREFIX.sub("", text)
    if answered := _ANSWERED.search(text):  # "GitHub answered 502 for <url>"
        return f"HTTP {answered.group(1)}"
    for pattern, reason in _CLASSES:
        if pattern.search(text):
            return reason
    return f"the {subject} could not be checked"  # _FALLBACK


def _subject_of(kind: str) -> str:
    return "link" if kind.startswith("link_") else "repository"


def evidence_split(kind: str, evidence: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A finding's evidence as (public part, curators' part).

    Used on evidence written before the split existed (the data migration), and by
    whatever stores a finding: the public part replaces error texts by their public
    reason, in the evidence and in its words; the curators' part keeps the originals.
    """
    if not isinstance(evidence, dict):
        return evidence, {}
    public = dict(evidence)
    curator: dict[str, Any] = {}
    if kind == "user_report":
        for key in REPORT_CURATOR_KEYS:
            if key in public:
                curator[key] = public.pop(key)
    subject = _subject_of(kind)
    replaced: dict[str, str] = {}
    for key in ERROR_KEYS:
        raw = public.get(key)
        if isinstance(raw, str) and raw:
            shown = public_error(raw, subject=subject)
            if shown != raw:
                curator[key] = raw
                public[key] = shown
                replaced[raw] = shown
    words = public.get("words")
    if replaced and isinstance(words, list):
        public["words"] = [_replace_all(w, replaced) if isinstance(w, str) else w for w in words]
        curator["words"] = words
    return public, curator


def _replace_all(text: str, replaced: dict[str, str]) -> str:
    for raw, shown in replaced.items():
        text = text.replace(raw, shown)
    return text
