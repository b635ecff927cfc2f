"""The pure health and findings rules, as tables of observation histories."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from projects.health import (
    FindingKind,
    Health,
    LinkState,
    Listing,
    RepoState,
    Thresholds,
    decide_findings,
    decide_health,
    record_failure,
    record_link_result,
    record_observation,
    record_pypi_release,
)
from projects.sources.base import GITHUB, GITLAB, RepoObservation, RepoRef
from projects.sources.links import LinkResult

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
T = Thresholds()
REF = RepoRef(GITHUB, "facebookresearch", "pytorch3d")
URL = "https://github.com/facebookresearch/pytorch3d"


def days(n: float) -> datetime:
    return NOW - timedelta(days=n)


def hours(n: float) -> datetime:
    return NOW - timedelta(hours=n)


def seen(**fields) -> RepoObservation:
    """A found repository; ``pushed`` etc. are days before NOW."""
    pushed = fields.pop("pushed", 10)
    release = fields.pop("release", None)
    return RepoObservation(
        ref=fields.pop("ref", REF),
        found=True,
        archived=fields.pop("archived", False),
        pushed_at=days(pushed) if pushed is not None else None,
        last_release_at=days(release) if release is not None else None,
        url=URL,
        **fields,
    )


GONE = RepoObservation(ref=REF, found=False)
NOT_MODIFIED = RepoObservation(ref=REF, not_modified=True, etag='W/"x"')


def replay(events, *, start: RepoState | None = None) -> RepoState:
    """Fold (hours_before_now, event) pairs; an event is an observation, a
    ("pypi", days) pair or an error string (a transient failure)."""
    state = start or RepoState()
    for ago, event in events:
        at = hours(ago)
        if isinstance(event, RepoObservation):
            state = record_observation(state, event, now=at)
        elif isinstance(event, tuple):
            state = record_pypi_release(state, days(event[1]))
        else:
            state = record_failure(state, now=at, error=event)
    return state


HEALTH_CASES = [
    # (id, events, expected health, a phrase expected among the words)
    ("never-checked", [], Health.UNKNOWN, "never checked successfully"),
    ("only-failures", [(3, "HTTP 502"), (1, "timed out")], Health.UNKNOWN, "last error: timed out"),
    ("active", [(1, seen(pushed=10))], Health.ACTIVE, "last push on 2025-05-22"),
    ("archived", [(1, seen(archived=True, pushed=2))], Health.ARCHIVED, "archived on GitHub"),
    (
        "inactive",
        [(1, seen(pushed=400))],
        Health.INACTIVE,
        "no commit or release since 2024-04-27",
    ),
    ("inactive-at-threshold", [(0, seen(pushed=365))], Health.INACTIVE, "no commit or release"),
    ("active-below-threshold", [(0, seen(pushed=364))], Health.ACTIVE, "last push"),
    (
        "github-release-keeps-alive",
        [(1, seen(pushed=500, release=30))],
        Health.ACTIVE,
        "last release on GitHub on 2025-05-02",
    ),
    (
        "pypi-only-release-keeps-alive",
        [(1, seen(pushed=500)), (1, ("pypi", 20))],
        Health.ACTIVE,
        "last release on PyPI on 2025-05-12",
    ),
    (
        "old-pypi-release-does-not",
        [(1, seen(pushed=500)), (1, ("pypi", 400))],
        Health.INACTIVE,
        "no commit or release since 2024-04-27",
    ),
    ("no-dates-at-all", [(1, seen(pushed=None))], Health.INACTIVE, "no push, commit or release"),
    ("not-found-once", [(5, seen()), (1, GONE)], Health.ACTIVE, "waiting for a confirming check"),
    (
        "not-found-twice-too-close",
        [(5, seen()), (1, GONE), (0.5, GONE)],
        Health.ACTIVE,
        "waiting for a confirming check",
    ),
    (
        "missing",
        [(5, seen()), (3, GONE), (1, GONE)],
        Health.MISSING,
        "not found on GitHub on 2 checks since 2025-06-01 09:00 UTC",
    ),
    ("missing-exactly-one-hour", [(5, seen()), (2, GONE), (1, GONE)], Health.MISSING, "not found"),
    ("never-found-once", [(1, GONE)], Health.UNKNOWN, "never found"),
    ("never-found-twice", [(3, GONE), (1, GONE)], Health.MISSING, "not found on GitHub"),
    (
        "found-again",
        [(5, seen()), (4, GONE), (3, seen(pushed=1)), (1, GONE)],
        Health.ACTIVE,
        "waiting for a confirming check",
    ),
    (
        "transient-keeps-active",
        [(5, seen()), (4, "HTTP 502"), (3, "timed out"), (1, "rate limited")],
        Health.ACTIVE,
        "last 3 check(s) failed (rate limited)",
    ),
    (
        "transient-keeps-archived",
        [(5, seen(archived=True)), (1, "DNS lookup failed")],
        Health.ARCHIVED,
        "archived on GitHub",
    ),
    (
        "transient-does-not-confirm-missing",
        [(5, seen()), (3, GONE), (1, "HTTP 500")],
        Health.ACTIVE,
        "waiting for a confirming check",
    ),
    (
        "not-modified-keeps-data",
        [(5, seen(pushed=10)), (1, NOT_MODIFIED)],
        Health.ACTIVE,
        "last push on 2025-05-22",
    ),
    (
        "not-modified-ends-not-found-streak",
        [(5, seen()), (3, GONE), (2, NOT_MODIFIED), (1, GONE)],
        Health.ACTIVE,
        "waiting",
    ),
    # The latest release's own request failed: no answer about it, not "no release".
    (
        "unknown-release-keeps-the-last-known",
        [(5, seen(pushed=500, release=30)), (1, seen(pushed=500, release_known=False))],
        Health.ACTIVE,
        "last release on GitHub on 2025-05-02",
    ),
    (
        "unknown-release-never-known",
        [(1, seen(pushed=500, release_known=False))],
        Health.UNKNOWN,
        "latest release on GitHub not known yet",
    ),
    (
        "unknown-release-holds-active-as-of-when-known",
        [(240, seen(pushed=500, release=370)), (1, seen(pushed=500, release_known=False))],
        Health.ACTIVE,
        "latest release on GitHub unknown since 2025-05-22 12:00 UTC",
    ),
    (
        "unknown-release-inactive-when-known-stays-inactive",
        [(240, seen(pushed=500, release=400)), (1, seen(pushed=500, release_known=False))],
        Health.INACTIVE,
        "no commit or release since 2024-04-27",
    ),
    (
        "unknown-release-then-none",
        [(5, seen(pushed=500, release_known=False)), (1, seen(pushed=500))],
        Health.INACTIVE,
        "no commit or release since",
    ),
    (
        "gitlab-label",
        [(1, seen(ref=RepoRef(GITLAB, "g", "p"), archived=True))],
        Health.ARCHIVED,
        "archived on GitLab",
    ),
]


@pytest.mark.parametrize(
    ("events", "expected", "phrase"),
    [case[1:] for case in HEALTH_CASES],
    ids=[case[0] for case in HEALTH_CASES],
)
def test_decide_health(events, expected, phrase):
    decision = decide_health(replay(events), now=NOW, thresholds=T)
    assert decision.health is expected
    assert any(phrase in w for w in decision.words), decision.words
    assert decision.evidence["health"] == expected.value


def test_transient_failures_freeze_health_even_as_time_passes():
    state = replay([(5, seen(pushed=360)), (1, "HTTP 503")])
    # Ten days later the data would cross the inactive threshold; failures must not move it.
    later = NOW + timedelta(days=10)
    assert decide_health(state, now=later, thresholds=T).health is Health.ACTIVE
    recovered = record_observation(state, seen(pushed=360), now=later)
    assert decide_health(recovered, now=later, thresholds=T).health is Health.INACTIVE


def test_decision_unpacks_to_health_and_words():
    health, words = decide_health(replay([(1, seen())]), now=NOW, thresholds=T)
    assert health is Health.ACTIVE
    assert isinstance(words, tuple)


def test_thresholds_come_from_settings(settings):
    settings.HEALTH_INACTIVE_DAYS = 30
    settings.HEALTH_MISSING_CHECKS = 3
    settings.LINK_BROKEN_MIN_HOURS = 2
    t = Thresholds.from_settings()
    assert (t.inactive_days, t.missing_checks, t.link_broken_min_hours) == (30, 3, 2)
    assert decide_health(replay([(1, seen(pushed=40))]), now=NOW).health is Health.INACTIVE


def test_custom_missing_thresholds():
    strict = replace(T, missing_checks=3, missing_min_hours=24)
    state = replay([(30, GONE), (20, GONE), (1, GONE)])
    assert decide_health(state, now=NOW, thresholds=strict).health is Health.MISSING
    state = replay([(10, GONE), (5, GONE), (1, GONE)])
    assert decide_health(state, now=NOW, thresholds=strict).health is Health.UNKNOWN


# --- Findings ------------------------------------------------------------------------------


def kinds(findings) -> list[str]:
    return sorted(f.kind.value for f in findings)


ARCHIVED_LISTING = Listing(maturity="archived", repo_url=URL)
SANDBOX_LISTING = Listing(maturity="sandbox", repo_url=URL)

FINDING_CASES = [
    # (id, listing, events, expected kinds)
    (
        "pytorch3d-listed-archived-but-active",
        ARCHIVED_LISTING,
        [(1, seen(pushed=20))],
        ["listed_archived_but_active"],
    ),
    (
        "listed-archived-release-within-180-days",
        ARCHIVED_LISTING,
        [(1, seen(pushed=400, release=170))],
        ["listed_archived_but_active"],
    ),
    (
        "listed-archived-pypi-release-within-180-days",
        ARCHIVED_LISTING,
        [(1, seen(pushed=400)), (1, ("pypi", 100))],
        ["listed_archived_but_active"],
    ),
    ("listed-archived-quiet-for-200-days", ARCHIVED_LISTING, [(1, seen(pushed=200))], []),
    ("listed-archived-and-archived", ARCHIVED_LISTING, [(1, seen(archived=True))], []),
    ("listed-archived-and-inactive", ARCHIVED_LISTING, [(1, seen(pushed=800))], []),
    ("active-and-listed-active", SANDBOX_LISTING, [(1, seen(pushed=3))], []),
    ("archived-upstream", SANDBOX_LISTING, [(1, seen(archived=True))], ["archived_upstream"]),
    ("inactive", SANDBOX_LISTING, [(1, seen(pushed=500))], ["inactive"]),
    ("deleted-once-no-flag", SANDBOX_LISTING, [(5, seen()), (1, GONE)], []),
    (
        "deleted-twice-missing",
        SANDBOX_LISTING,
        [(5, seen()), (3, GONE), (1, GONE)],
        ["repository_missing"],
    ),
    (
        "moved",
        SANDBOX_LISTING,
        [(1, seen(moved_to=RepoRef(GITHUB, "meta", "pytorch3d")))],
        ["repository_moved"],
    ),
    (
        "moved-only-in-case",
        SANDBOX_LISTING,
        [(1, seen(moved_to=RepoRef(GITHUB, "FacebookResearch", "PyTorch3D")))],
        [],
    ),
    (
        "rate-limited-is-no-failure",
        SANDBOX_LISTING,
        [(5, seen()), (1, "rate limited until 13:00")],
        [],
    ),
    ("never-checked", SANDBOX_LISTING, [], []),
]


@pytest.mark.parametrize(
    ("listing", "events", "expected"),
    [case[1:] for case in FINDING_CASES],
    ids=[case[0] for case in FINDING_CASES],
)
def test_decide_findings_for_repositories(listing, events, expected):
    findings = decide_findings(listing=listing, repo=replay(events), now=NOW, thresholds=T)
    assert kinds(findings) == expected


def test_pytorch3d_finding_explains_itself():
    state = replay([(1, seen(pushed=20, stars=9000))])
    (finding,) = decide_findings(listing=ARCHIVED_LISTING, repo=state, now=NOW, thresholds=T)
    assert finding.kind is FindingKind.LISTED_ARCHIVED_BUT_ACTIVE
    assert finding.words == (
        "listed as archived",
        "not archived on GitHub",
        "last push on 2025-05-12",
    )
    assert finding.evidence["last_push"] == "2025-05-12"
    assert finding.evidence["archived"] is False
    assert finding.suggestion == {"action": "unarchive", "field": "maturity"}


def test_archived_upstream_suggests_marking_archived():
    state = replay([(1, seen(archived=True))])
    (finding,) = decide_findings(listing=SANDBOX_LISTING, repo=state, now=NOW, thresholds=T)
    assert finding.suggestion == {
        "action": "mark_archived",
        "field": "maturity",
        "value": "archived",
    }
    assert "archived on GitHub" in finding.words


def test_moved_suggests_the_new_url():
    state = replay([(1, seen(moved_to=RepoRef(GITHUB, "meta", "pytorch3d")))])
    (finding,) = decide_findings(listing=SANDBOX_LISTING, repo=state, now=NOW, thresholds=T)
    assert finding.suggestion == {
        "action": "update_url",
        "field": "repo_url",
        "value": "https://github.com/meta/pytorch3d",
    }
    updated = Listing(maturity="sandbox", repo_url="https://github.com/meta/pytorch3d")
    assert decide_findings(listing=updated, repo=state, now=NOW, thresholds=T) == []


def test_fingerprint_ignores_new_pushes_but_not_new_facts():
    listing = ARCHIVED_LISTING
    first = decide_findings(
        listing=listing, repo=replay([(2, seen(pushed=20))]), now=NOW, thresholds=T
    )
    again = decide_findings(
        listing=listing, repo=replay([(1, seen(pushed=1))]), now=NOW, thresholds=T
    )
    assert first[0].fingerprint == again[0].fingerprint
    assert first[0].evidence != again[0].evidence

    def moved(to: str):
        state = replay([(1, seen(moved_to=RepoRef(GITHUB, "x", to)))])
        return decide_findings(listing=SANDBOX_LISTING, repo=state, now=NOW, thresholds=T)[0]

    assert moved("a").fingerprint != moved("b").fingerprint


# --- Links ---------------------------------------------------------------------------------

DOCS = "https://docs.example.org/"


def failed(status: int | None = 404, *, error: str | None = None) -> LinkResult:
    return LinkResult(url=DOCS, ok=False, status_code=status, error=error or f"HTTP {status}")


def fine(*, to: str | None = None) -> LinkResult:
    return LinkResult(
        url=DOCS, ok=True, status_code=200, final_url=to or DOCS, permanent_redirect_to=to
    )


def link_replay(events) -> LinkState:
    """(hours_before_now, LinkResult, network_ok) triples."""
    state: LinkState | None = None
    for ago, result, network_ok in events:
        state = record_link_result(
            state, result, now=hours(ago), network_ok=network_ok, field_name="docs_url"
        )
    assert state is not None
    return state


LINK_CASES = [
    ("ok", [(1, fine(), True)], []),
    ("broken", [(30, failed(), True), (12, failed(), True), (1, failed(), True)], ["link_broken"]),
    (
        "broken-by-timeouts",
        [(30, failed(None, error="timed out"), True), (12, failed(500), True), (1, failed(), True)],
        ["link_broken"],
    ),
    (
        "three-failures-in-two-hours",
        [(3, failed(), True), (2, failed(), True), (1, failed(), True)],
        [],
    ),
    ("two-failures-over-two-days", [(48, failed(), True), (1, failed(), True)], []),
    (
        "recovered",
        [(30, failed(), True), (12, failed(), True), (6, fine(), True), (1, failed(), True)],
        [],
    ),
    (
        "network-down-records-nothing",
        [(30, failed(None), False), (12, failed(None), False), (1, failed(None), False)],
        [],
    ),
    ("redirected", [(1, fine(to="https://new.example.org/docs/"), True)], ["link_redirected"]),
    ("trailing-slash-redirect-ignored", [(1, fine(to="https://docs.example.org"), True)], []),
    ("host-case-redirect-ignored", [(1, fine(to="https://DOCS.example.org/"), True)], []),
]


@pytest.mark.parametrize(
    ("events", "expected"),
    [case[1:] for case in LINK_CASES],
    ids=[case[0] for case in LINK_CASES],
)
def test_decide_findings_for_links(events, expected):
    findings = decide_findings(
        listing=SANDBOX_LISTING, links=[link_replay(events)], now=NOW, thresholds=T
    )
    assert kinds(findings) == expected


def test_link_redirect_suggests_the_new_url_for_the_same_field():
    state = link_replay([(1, fine(to="https://new.example.org/docs/"), True)])
    (finding,) = decide_findings(listing=Listing(), links=[state], now=NOW, thresholds=T)
    assert finding.subject == DOCS
    assert finding.suggestion == {
        "action": "update_url",
        "field": "docs_url",
        "value": "https://new.example.org/docs/",
    }


def test_link_broken_evidence_and_words():
    state = link_replay([(30, failed(), True), (12, failed(), True), (1, failed(), True)])
    (finding,) = decide_findings(listing=Listing(), links=[state], now=NOW, thresholds=T)
    assert finding.evidence["consecutive_failures"] == 3
    assert finding.evidence["status_code"] == 404
    assert finding.words[0].startswith(f"{DOCS} failed 3 checks in a row since 2025-05-31 06:00")
