"""projects.disclosure: what the public reads of the workers' error texts and of reports."""

from __future__ import annotations

import pytest

from projects.disclosure import evidence_split, public_error

WORKER_TEXTS = [
    # (the worker's text, what the public reads)
    ("refusing to connect to runsc: 127.0.0.1 is not a public address",
     "the address is not allowed"),
    ("refusing to connect to x: ::ffff:10.0.0.1 embeds the non-public address 10.0.0.1",
     "the address is not allowed"),
    ("GET http://10.1.2.3:8080/x: timed out (ReadTimeout)", "timed out"),
    ("GET https://intranet.corp/: connection failed: cannot resolve 'intranet.corp': [Errno -2]",
     "the name did not resolve"),
    ("GET https://a.example/: connection failed: [Errno 111] Connection refused",
     "connection failed"),
    ("HEAD https://a.example/: RemoteProtocolError: Server disconnected without a response.",
     "the server closed the connection"),
    ("GitHub answered 502 for http://10.0.0.5:9000/repos/acme/x", "HTTP 502"),
    ("HTTP 404", "HTTP 404"),
    ("more than 5 redirects", "too many redirects"),
    ("redirect refused: scheme 'file' is not allowed", "unusable redirect"),
    ("response from http://10.0.0.5/ exceeded the size limit", "the answer was too large"),
    ("rate limited", "rate limited"),
    ("something nobody foresaw at 10.9.8.7", "the link could not be checked"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "shown"), WORKER_TEXTS)
def test_a_worker_error_is_shown_as_its_class(text, shown):
    assert public_error(text) == shown


@pytest.mark.parametrize("shown", sorted({shown for _, shown in WORKER_TEXTS}))
def test_a_public_reason_is_its_own_public_reason(shown):
    assert public_error(shown) == shown


def test_no_error_is_none_and_the_fallback_names_the_subject():
    assert public_error(None) is None and public_error("") is None
    assert public_error("odd", subject="repository") == "the repository could not be checked"


def test_a_link_findings_evidence_keeps_the_error_for_curators():
    raw = "refusing to connect to runsc: 127.0.0.1 is not a public address"
    evidence = {"url": "http://runsc/", "error": raw, "words": ["x failed", f"last error: {raw}"]}
    public, curator = evidence_split("link_broken", evidence)
    assert public["error"] == "the address is not allowed"
    assert public["words"] == ["x failed", "last error: the address is not allowed"]
    assert curator == {"error": raw, "words": evidence["words"]}
    # Already public evidence is left as it is, with nothing for curators.
    assert evidence_split("link_broken", public) == (public, {})


def test_a_reports_contact_is_for_curators():
    public, curator = evidence_split(
        "user_report", {"reason": "moved", "message": "m", "email": "a@b.example", "page": "public"}
    )
    assert public == {"reason": "moved", "message": "m", "page": "public"}
    assert curator == {"email": "a@b.example"}
