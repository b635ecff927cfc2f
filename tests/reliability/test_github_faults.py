"""GitHub answering 500, 502, 503, 504, timeouts, dropped connections, malformed JSON and rate
limits, over REST and GraphQL, for hours: no health change, no finding opened or resolved,
no snapshot, and a retry later (the next beat for a failure, the reset for a rate limit).

tests/projects/test_status.py covers one failure of each kind on a fresh repository; here
the repositories already have a health and open findings to lose, the faults last three
rounds over two hours (longer than the two checks an hour apart that make a repository
"missing"), and the recovery and the task's re-queueing after a rate limit are checked.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from projects import status
from projects.models import Category, Finding, Project, RepositoryStatus, Snapshot
from projects.tasks import refresh_batch
from tests.fakes.servers import Fault

pytestmark = [pytest.mark.faults, pytest.mark.django_db]

ERRORS = {
    "500": lambda: Fault.server_error(500),
    "502": lambda: Fault.server_error(502),
    "503": lambda: Fault.server_error(503),
    "504": lambda: Fault.server_error(504),
    "timeout": lambda: Fault.slow(2),
    "dropped": lambda: Fault.drop(),
    "malformed-json": lambda: Fault.malformed(),
}
T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def clear_faults(fake) -> None:
    with fake._lock:  # the fake has no public "forget the queued faults"
        fake._faults.clear()


@pytest.fixture
def listed(fake_github, settings):
    """Three entries with a health and open findings, as a successful refresh left them."""
    settings.OUTBOUND_TIMEOUT = 0.3
    pillar = Category.objects.create(name="Training", slug="training")
    sub = Category.objects.create(name="General", slug="training-general", parent=pillar)
    fake_github.active("acme/steady")
    fake_github.archived("acme/retired")
    fake_github.active("acme/revived")
    projects = [
        Project.objects.create(
            name=name.title(),
            slug=name,
            homepage_url=f"https://{name}.example/",
            repo_url=f"https://github.com/acme/{name}",
            category=sub,
            maturity=maturity,
            logo="logos/set.png",  # no avatar download: only the forge is under test
        )
        for name, maturity in (("steady", ""), ("retired", ""), ("revived", "archived"))
    ]
    status.repositories_sync()
    ids = list(RepositoryStatus.objects.values_list("pk", flat=True))
    report = status.repositories_refresh(ids=ids, now=lambda: T0)
    assert report.checked == 3
    return projects, ids


def snapshot_of_state():
    rows = RepositoryStatus.objects.order_by("pk")
    return {
        "health": [(r.project.slug, r.health, r.project.health) for r in rows],
        "found": [(r.found, r.archived, r.not_found_count, r.last_success_at) for r in rows],
        "findings": sorted(
            Finding.objects.values_list("project__slug", "kind", "state", "first_seen")
        ),
        "snapshots": Snapshot.objects.count(),
    }


@pytest.mark.parametrize("transport", ["rest", "graphql"])
@pytest.mark.parametrize("fault", list(ERRORS))
def test_errors_for_hours_change_nothing_and_are_retried_at_the_next_beat(
    request, fake_github, listed, transport, fault
):
    if transport == "graphql":
        request.getfixturevalue("github_token")
    _, ids = listed
    before = snapshot_of_state()
    assert before["health"] == [
        ("steady", "active", "active"),
        ("retired", "archived", "archived"),
        ("revived", "active", "active"),
    ]
    assert {(slug, kind) for slug, kind, state, _ in before["findings"]} == {
        ("retired", "archived_upstream"),
        ("revived", "listed_archived_but_active"),
    }

    for round_ in (1, 2, 3):
        now = T0 + timedelta(hours=6 + round_)
        fake_github.inject(*[ERRORS[fault]() for _ in range(60)])
        report = status.repositories_refresh(ids=ids, now=lambda now=now: now)
        clear_faults(fake_github)

        assert (report.checked, report.failures, report.health_changes) == (0, 3, 0)
        assert report.new_findings == 0 and report.pending_ids == []
        assert snapshot_of_state() == before
        rows = RepositoryStatus.objects.all()
        assert {r.consecutive_failures for r in rows} == {round_}
        assert all(r.last_error for r in rows)
        # Retried at the next beat (15 minutes), not hammered, not left for six hours.
        assert set(status.repositories_due(now=now + timedelta(minutes=1))) == set()
        assert set(status.repositories_due(now=now + timedelta(minutes=16))) == set(ids)

    recovered = status.repositories_refresh(ids=ids, now=lambda: T0 + timedelta(hours=10))
    assert (recovered.checked, recovered.failures, recovered.new_findings) == (3, 0, 0)
    assert {r.consecutive_failures for r in RepositoryStatus.objects.all()} == {0}
    after = snapshot_of_state()
    assert after["health"] == before["health"]
    assert [f[:3] for f in after["findings"]] == [f[:3] for f in before["findings"]]


RATE_LIMITS = {
    "primary": lambda gh: (gh.rest_quota.exhaust_after(0), gh.graphql_quota.exhaust_after(0)),
    "secondary": lambda gh: gh.secondary_limit(times=60, retry_after=120),
    "429": lambda gh: gh.inject(*[Fault.server_error(429) for _ in range(60)]),
}


@pytest.mark.parametrize(
    ("transport", "limit"),
    [("rest", "primary"), ("rest", "secondary"), ("rest", "429"), ("graphql", "primary")],
)
def test_a_rate_limit_is_nobodys_failure_and_the_batch_resumes_after_the_reset(
    request, fake_github, listed, transport, limit, monkeypatch
):
    if transport == "graphql":
        request.getfixturevalue("github_token")
    _, ids = listed
    before = snapshot_of_state()
    checked_before = dict(RepositoryStatus.objects.values_list("pk", "checked_at"))
    RATE_LIMITS[limit](fake_github)

    queued = []
    monkeypatch.setattr(
        "projects.tasks.publish",
        lambda task, args=(), kwargs=None, **options: queued.append((task.name, args, options)),
    )
    result = refresh_batch(ids)

    assert result == {"checked": 0, "pending": 3, "deferred": 0}
    assert snapshot_of_state() == before
    assert dict(RepositoryStatus.objects.values_list("pk", "checked_at")) == checked_before
    assert {r.consecutive_failures for r in RepositoryStatus.objects.all()} == {0}
    # The task queued the same repositories again, to run after the limit lifts.
    [(name, args, options)] = queued
    assert name == "projects.refresh_batch" and sorted(args[0]) == sorted(ids)
    assert options["countdown"] >= 60
