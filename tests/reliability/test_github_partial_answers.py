"""GitHub answering part of what a refresh asks: what did answer is kept, only what failed
counts as failed, and a failed GraphQL query costs a retry or a split, not a REST request
per repository.

REST: a repository's answer stands when the request for its latest release fails; the
release is then unknown for this round (kept as last known, never "no release") and the
next round asks for it again. GraphQL: a failed query is sent once more, then halved
(GitHub stops queries it cannot finish in ten seconds with a 502); REST asks only for a
repository GraphQL answered with an error of its own.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from projects import status
from projects.models import Category, Finding, Project, RepositoryStatus
from projects.sources.github import GRAPHQL_BATCH_SIZE, GRAPHQL_SMALLEST_SPLIT
from tests.fakes.servers import Fault, utcnow

pytestmark = [pytest.mark.faults, pytest.mark.django_db]

RELEASE_502 = Fault.server_error(502, path_suffix="/releases/latest")


@pytest.fixture
def make_entries(settings):
    settings.OUTBOUND_TIMEOUT = 0.5
    pillar = Category.objects.create(name="Training", slug="training")
    sub = Category.objects.create(name="General", slug="training-general", parent=pillar)

    def make(*names: str) -> list[int]:
        for name in names:
            Project.objects.create(
                name=name,
                slug=name,
                homepage_url=f"https://{name}.example/",
                repo_url=f"https://github.com/acme/{name}",
                category=sub,
                logo="logos/set.png",  # no avatar download: only the forge is under test
            )
        status.repositories_sync()
        return list(
            RepositoryStatus.objects.filter(name__in=names)
            .order_by("pk")
            .values_list("pk", flat=True)
        )

    return make


def row(name: str) -> RepositoryStatus:
    return RepositoryStatus.objects.get(name=name)


def open_findings() -> list[tuple[str, str]]:
    return sorted(Finding.objects.filter(state="open").values_list("project__slug", "kind"))


def graphql_sizes(fake) -> list[int]:
    """How many repositories each GraphQL query named, in order."""
    return [len(r.json()["variables"]) // 2 for r in fake.requests if r.route == "/graphql"]


# --- REST: a failed release request --------------------------------------------------------


def test_a_failed_release_request_keeps_the_repository_answer_and_changes_no_health(
    fake_github, make_entries
):
    released = utcnow() - timedelta(days=30)
    # Quiet for 500 days, kept alive by last month's release.
    quiet = fake_github.inactive("acme/quiet", release_at=released, stars=10)
    busy = fake_github.active("acme/busy", stars=20)
    fake_github.inactive("acme/old")  # no release: inactive, with its finding
    fake_github.active("acme/broken")
    ids = make_entries("quiet", "busy", "old", "broken")
    first = status.repositories_refresh(ids=ids)
    assert (first.checked, first.failures) == (4, 0)
    assert [row(n).health for n in ("quiet", "busy", "old", "broken")] == [
        "active", "active", "inactive", "active",
    ]  # fmt: skip
    assert open_findings() == [("old", "inactive")]
    assert row("quiet").last_release_at == released

    quiet.stars = 11
    busy.archived = True  # a real change, which must show
    # Both release requests of this round fail (old's unchanged repository answers 304,
    # which asks for no release), and so does broken's repository request.
    fake_github.inject(
        RELEASE_502, RELEASE_502, Fault.server_error(502, path_prefix="/repos/acme/broken")
    )
    report = status.repositories_refresh(ids=ids)

    # Only the broken repository failed; the others answered, two without their release.
    assert (report.checked, report.failures, report.releases_unknown) == (3, 1, 2)
    assert (report.health_changes, report.new_findings) == (1, 1)
    assert row("quiet").stars == 11 and row("quiet").consecutive_failures == 0
    assert row("quiet").last_release_at == released  # last known, not "no release"
    assert row("quiet").health == "active"
    assert row("busy").archived is True and row("busy").health == "archived"
    assert row("old").health == "inactive"
    assert row("broken").consecutive_failures == 1 and row("broken").health == "active"
    assert open_findings() == [("busy", "archived_upstream"), ("old", "inactive")]

    # The next round asks for the release again (no ETag to answer 304 and skip it).
    asked = fake_github.count(path_prefix="/repos/acme/quiet/releases/latest")
    again = status.repositories_refresh(ids=ids)
    assert (again.checked, again.failures, again.releases_unknown) == (4, 0, 0)
    assert fake_github.count(path_prefix="/repos/acme/quiet/releases/latest") == asked + 1
    assert row("quiet").etag and row("quiet").health == "active"


def test_a_release_never_known_leaves_a_quiet_repository_unknown_not_inactive(
    fake_github, make_entries
):
    fake_github.inactive("acme/quiet", release_at=utcnow() - timedelta(days=30))
    ids = make_entries("quiet")
    fake_github.inject(RELEASE_502)

    report = status.repositories_refresh(ids=ids)

    assert (report.checked, report.failures, report.new_findings) == (1, 0, 0)
    assert row("quiet").pushed_at is not None and row("quiet").health == "unknown"
    assert open_findings() == []
    status.repositories_refresh(ids=ids)
    assert row("quiet").health == "active"


def test_every_second_request_failing_costs_no_repository_its_answer(fake_github, make_entries):
    names = [f"r{i}" for i in range(12)]
    for name in names:
        fake_github.active(f"acme/{name}", stars=7)
    ids = make_entries(*names)
    fake_github.fail_every(2, Fault.server_error(502))  # each repository's second request

    report = status.repositories_refresh(ids=ids)

    assert (report.checked, report.failures, report.releases_unknown) == (12, 0, 12)
    assert (report.health_changes, report.new_findings) == (12, 0)  # unknown -> active
    rows = RepositoryStatus.objects.filter(pk__in=ids)
    assert {(r.found, r.archived, r.stars, r.health) for r in rows} == {(True, False, 7, "active")}
    assert all(r.pushed_at and r.consecutive_failures == 0 for r in rows)


# --- GraphQL: retry, then halve; REST only for a node's own error ----------------------------


@pytest.fixture
def fifty(fake_github, github_token, make_entries):
    names = [f"g{i:02d}" for i in range(GRAPHQL_BATCH_SIZE)]
    for name in names:
        fake_github.active(f"acme/{name}")
    return make_entries(*names)


def test_one_failed_graphql_query_is_sent_again_not_spread_over_rest(fake_github, fifty):
    fake_github.inject(Fault.server_error(502, path_prefix="/graphql"))

    report = status.repositories_refresh(ids=fifty)

    assert (report.checked, report.failures) == (50, 0)
    assert graphql_sizes(fake_github) == [50, 50]
    assert fake_github.count(path_prefix="/repos/") == 0
    assert report.requests == 2


def test_a_query_too_heavy_for_github_is_halved_until_it_finishes(fake_github, fifty):
    fake_github.graphql_timeout_above = 20

    report = status.repositories_refresh(ids=fifty)

    assert (report.checked, report.failures) == (50, 0)
    assert graphql_sizes(fake_github) == [50, 50, 25, 25, 13, 12, 25, 25, 13, 12]
    assert fake_github.count(path_prefix="/repos/") == 0


def test_a_persistent_502_splits_down_to_small_queries_then_waits_for_the_next_beat(
    fake_github, fifty
):
    fake_github.fail_every(1, Fault.server_error(502, path_prefix="/graphql"))

    report = status.repositories_refresh(ids=fifty)

    sizes = graphql_sizes(fake_github)
    assert sizes[:4] == [50, 50, 25, 25] and min(sizes) <= GRAPHQL_SMALLEST_SPLIT
    assert len(sizes) <= 30  # a retry and three halvings: below one request a repository
    assert fake_github.count(path_prefix="/repos/") == 0
    assert (report.checked, report.failures, report.pending_ids) == (0, 50, [])
    assert {r.consecutive_failures for r in RepositoryStatus.objects.all()} == {1}
    assert set(status.repositories_due(now=timezone.now() + timedelta(minutes=16))) == set(fifty)


def test_a_node_error_asks_rest_for_that_repository_only(fake_github, fifty):
    fake_github.graphql_node_errors["acme/g07"] = "FORBIDDEN"

    report = status.repositories_refresh(ids=fifty)

    assert (report.checked, report.failures) == (50, 0)
    assert graphql_sizes(fake_github) == [50]
    rest = {r.route for r in fake_github.requests if r.route.startswith("/repos/")}
    assert rest == {"/repos/acme/g07", "/repos/acme/g07/releases/latest"}


@pytest.mark.parametrize(("limit", "answered"), [("secondary", 0), ("primary", 13)])
def test_a_graphql_rate_limit_while_halving_stops_the_phase_and_is_nobodys_failure(
    fake_github, fifty, limit, answered
):
    fake_github.graphql_timeout_above = 20
    if limit == "secondary":
        fake_github.inject(Fault.server_error(502, path_prefix="/graphql"))
        fake_github.secondary_limit(times=1, retry_after=90)
    else:
        # 50, 50, 25, 25 fail; the 13 that answer spend the quota and say so.
        fake_github.graphql_quota.exhaust_after(5)

    report = status.repositories_refresh(ids=fifty)

    assert (report.checked, report.failures, report.rate_limit_waits) == (answered, 0, 1)
    assert report.rate_limited_until > timezone.now() + timedelta(seconds=60)
    assert fake_github.count(path_prefix="/repos/") == 0
    checked = RepositoryStatus.objects.filter(checked_at__isnull=False).count()
    assert checked == report.checked and len(report.pending_ids) == 50 - checked
