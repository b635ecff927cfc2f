"""Repository refresh and link checks against the fake GitHub, GitLab, PyPI and websites."""

from contextlib import nullcontext
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from projects import status
from projects.facts import project_facts_deferred
from projects.models import (
    Category,
    Finding,
    LinkStatus,
    Project,
    RepositoryStatus,
    Snapshot,
)
from tests.fakes.servers import Fault

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


@pytest.fixture
def category():
    pillar = Category.objects.create(name="Training", slug="training")
    return Category.objects.create(name="General", slug="training-general", parent=pillar)


@pytest.fixture
def make_project(category):
    def make(name: str, repo: str | None = None, **fields) -> Project:
        from django.utils.text import slugify

        return Project.objects.create(
            name=name,
            slug=slugify(name),
            homepage_url=fields.pop("homepage_url", f"https://{slugify(name)}.example/"),
            repo_url=f"https://{repo}" if repo else None,
            category=category,
            **fields,
        )

    return make


def refresh(*projects: Project, now=None) -> status.RefreshReport:
    status.repositories_sync()
    ids = list(RepositoryStatus.objects.filter(project__in=projects).values_list("pk", flat=True))
    kwargs = {"now": (lambda: now)} if now else {}
    return status.repositories_refresh(ids=ids, **kwargs)


def open_kinds(project: Project) -> list[str]:
    return sorted(project.findings.filter(state="open").values_list("kind", flat=True))


def repo_of(project: Project) -> RepositoryStatus:
    return RepositoryStatus.objects.get(project=project, is_primary=True)


# --- Repositories ----------------------------------------------------------------------------


@pytest.mark.parametrize("use_graphql", [False, True], ids=["rest", "graphql"])
def test_an_active_repository_is_active_with_its_facts_and_a_snapshot(
    request, fake_github, make_project, use_graphql
):
    if use_graphql:
        request.getfixturevalue("github_token")
    fake_github.active("acme/alpha", stars=4321, forks=21, license_spdx="MIT")
    alpha = make_project("Alpha", "github.com/acme/alpha")

    report = refresh(alpha)

    repo = repo_of(alpha)
    alpha.refresh_from_db()
    assert (repo.health, alpha.health) == ("active", "active")
    assert (repo.stars, repo.forks, repo.license, repo.archived) == (4321, 21, "MIT", False)
    assert repo.pushed_at is not None and repo.checked_at is not None
    assert Snapshot.objects.filter(repository=repo).count() == 1
    assert open_kinds(alpha) == []
    assert report.checked == 1 and report.requests >= 1


def test_an_archived_repository_listed_live_opens_archived_upstream(fake_github, make_project):
    fake_github.archived("acme/old")
    old = make_project("Old", "github.com/acme/old")

    refresh(old)

    assert repo_of(old).health == "archived"
    assert "archived on GitHub" in repo_of(old).health_evidence["words"]
    finding = old.findings.get(state="open")
    assert finding.kind == "archived_upstream"
    assert finding.suggestion == {
        "action": "mark_archived",
        "field": "maturity",
        "value": "archived",
    }


def test_the_pytorch3d_case_listed_archived_but_active(fake_github, make_project):
    fake_github.active("facebookresearch/pytorch3d", days_ago=12)
    p3d = make_project("PyTorch3D", "github.com/facebookresearch/pytorch3d", maturity="archived")

    refresh(p3d)

    assert repo_of(p3d).health == "active"
    assert open_kinds(p3d) == ["listed_archived_but_active"]
    words = p3d.findings.get().evidence["words"]
    assert "listed as archived" in words and "not archived on GitHub" in words


@pytest.mark.parametrize("use_graphql", [False, True], ids=["rest-301", "graphql-nameWithOwner"])
def test_a_renamed_repository_opens_repository_moved_with_the_new_url(
    request, fake_github, make_project, use_graphql
):
    if use_graphql:
        request.getfixturevalue("github_token")
    fake_github.active("acme/old-name")
    fake_github.rename("acme/old-name", "acme-org/new-name")
    project = make_project("Mover", "github.com/acme/old-name")

    refresh(project)

    finding = project.findings.get(state="open", kind="repository_moved")
    assert finding.suggestion["value"] == "https://github.com/acme-org/new-name"
    assert repo_of(project).health == "active"  # moved is not dead

    status.finding_apply(finding=finding, user=None)
    project.refresh_from_db()
    assert project.repo_url == "https://github.com/acme-org/new-name"
    assert repo_of(project).owner == "acme-org"
    finding.refresh_from_db()
    assert finding.state == "resolved" and "repo_url changed" in finding.resolution_note


def test_a_deleted_repository_is_missing_only_after_two_checks_an_hour_apart(
    fake_github, make_project
):
    fake_github.active("acme/gone")
    gone = make_project("Gone", "github.com/acme/gone")
    t0 = datetime.now(UTC)
    refresh(gone, now=t0)
    fake_github.delete("acme/gone")

    refresh(gone, now=t0 + timedelta(hours=1))
    assert repo_of(gone).health == "active"  # one 404: not yet
    assert open_kinds(gone) == []

    refresh(gone, now=t0 + timedelta(hours=1, minutes=20))
    assert repo_of(gone).health == "active"  # two, but only 20 minutes apart

    refresh(gone, now=t0 + timedelta(hours=2, minutes=5))
    assert repo_of(gone).health == "missing"
    assert open_kinds(gone) == ["repository_missing"]
    gone.refresh_from_db()
    assert gone.health == "missing"


def test_an_inactive_repository_is_inactive_with_the_date_in_words(fake_github, make_project):
    fake_github.inactive("acme/sleepy", days_ago=500)
    sleepy = make_project("Sleepy", "github.com/acme/sleepy")

    refresh(sleepy)

    repo = repo_of(sleepy)
    assert repo.health == "inactive"
    day = repo.pushed_at.date().isoformat()
    assert any(f"since {day}" in w for w in repo.health_evidence["words"])
    assert open_kinds(sleepy) == ["inactive"]


def test_a_release_on_pypi_keeps_a_quiet_repository_alive(fake_github, fake_pypi, make_project):
    fake_github.inactive("acme/quiet", days_ago=600)
    fake_pypi.add_package("quiet-lib", {"1.0": datetime.now(UTC) - timedelta(days=10)})
    quiet = make_project(
        "Quiet",
        "github.com/acme/quiet",
        landscape_extra={"extra": {"package_manager_url": "https://pypi.org/project/quiet-lib/"}},
    )

    refresh(quiet)

    repo = repo_of(quiet)
    assert repo.pypi_release_at is not None
    assert repo.health == "active"
    assert open_kinds(quiet) == []


@pytest.mark.parametrize("status_code", [500, 502])
def test_server_errors_change_no_health_and_open_no_finding(fake_github, make_project, status_code):
    fake_github.active("acme/steady")
    steady = make_project("Steady", "github.com/acme/steady", maturity="archived")
    fake_github.archived("acme/other")
    t0 = datetime.now(UTC)
    refresh(steady, now=t0)
    before = (repo_of(steady).health, open_kinds(steady))

    fake_github.inject(Fault.server_error(status_code))
    report = refresh(steady, now=t0 + timedelta(hours=7))

    repo = repo_of(steady)
    assert (repo.health, open_kinds(steady)) == before
    assert repo.consecutive_failures == 1 and report.failures == 1
    # The failure is retried at the next beat, not after the full interval.
    assert repo.pk in status.repositories_due(now=t0 + timedelta(hours=7, minutes=16))


def test_timeouts_and_malformed_json_are_transient(fake_github, make_project, settings):
    settings.OUTBOUND_TIMEOUT = 0.3
    fake_github.active("acme/slow")
    slow = make_project("Slow", "github.com/acme/slow")
    fake_github.inject(Fault.slow(3))
    refresh(slow)
    assert repo_of(slow).health == "unknown"
    assert repo_of(slow).consecutive_failures == 1

    fake_github.inject(Fault.malformed())
    refresh(slow)
    assert repo_of(slow).health == "unknown"
    assert repo_of(slow).consecutive_failures == 2
    assert open_kinds(slow) == []


def test_a_rate_limit_mid_batch_stops_the_phase_and_resumes_after_the_reset(
    fake_github, make_project
):
    projects = []
    for i in range(5):
        fake_github.archived(f"acme/r{i}")
        projects.append(make_project(f"R{i}", f"github.com/acme/r{i}"))
    fake_github.rest_quota.exhaust_after(2 * 2)  # two repositories (repo + release calls)

    report = refresh(*projects)

    assert report.checked == 2
    assert len(report.pending_ids) == 3
    assert report.rate_limited_until is not None
    assert report.rate_limited_until > datetime.now(UTC)
    assert report.rate_limit_waits == 1
    untouched = RepositoryStatus.objects.filter(pk__in=report.pending_ids)
    # A rate limit is never the project's failure: nothing recorded, nothing flagged.
    assert {(r.health, r.checked_at, r.consecutive_failures) for r in untouched} == {
        ("unknown", None, 0)
    }
    assert Finding.objects.filter(project__repositories__in=untouched).count() == 0

    fake_github.rest_quota.refill()
    resumed = status.repositories_refresh(ids=report.pending_ids)
    assert resumed.checked == 3 and resumed.pending_ids == []
    assert RepositoryStatus.objects.filter(health="archived").count() == 5


def test_graphql_batches_fifty_repositories_a_query_and_resumes_after_a_rate_limit(
    fake_github, github_token, make_project
):
    projects = []
    for i in range(60):
        fake_github.active(f"acme/g{i}")
        projects.append(make_project(f"G{i}", f"github.com/acme/g{i}"))
    fake_github.graphql_quota.exhaust_after(1)

    report = refresh(*projects)

    assert report.checked == 50
    assert len(report.pending_ids) == 10
    # The answer that spent the quota says so (rateLimit.remaining 0): no doomed request.
    assert fake_github.count(path_prefix="/graphql") == 1
    fake_github.graphql_quota.refill()
    assert status.repositories_refresh(ids=report.pending_ids).checked == 10
    assert RepositoryStatus.objects.filter(health="active").count() == 60


def test_rest_sends_the_etag_and_a_304_costs_no_quota(fake_github, make_project):
    fake_github.active("acme/etag", stars=77)
    project = make_project("Etag", "github.com/acme/etag")
    refresh(project)
    assert repo_of(project).etag
    used = fake_github.rest_quota.used

    refresh(project)

    assert fake_github.rest_quota.used == used
    assert repo_of(project).stars == 77
    assert repo_of(project).health == "active"


def test_gitlab_repositories_are_observed(fake_gitlab, make_project):
    fake_gitlab.add_project("group/tool", archived=True)
    tool = make_project("Tool", "gitlab.com/group/tool")

    refresh(tool)

    assert repo_of(tool).health == "archived"
    assert open_kinds(tool) == ["archived_upstream"]


def test_a_batch_run_twice_gives_one_snapshot_a_day_and_the_same_state(fake_github, make_project):
    fake_github.archived("acme/twice")
    project = make_project("Twice", "github.com/acme/twice")
    refresh(project)
    first = (repo_of(project).health, open_kinds(project), Finding.objects.count())

    refresh(project)

    assert (repo_of(project).health, open_kinds(project), Finding.objects.count()) == first
    assert Snapshot.objects.filter(repository=repo_of(project)).count() == 1


def test_a_locked_repository_is_deferred_until_its_lock_expires(fake_github, make_project):
    fake_github.active("acme/busy")
    busy = make_project("Busy", "github.com/acme/busy")
    status.repositories_sync()
    repo = repo_of(busy)
    cache.add(status._lock_key(repo.pk), "another-worker", 60)

    report = status.repositories_refresh(ids=[repo.pk])

    assert report.checked == 0 and report.deferred_ids == [repo.pk]
    # The lock's own remaining time, read from Redis, and the margin past it.
    assert 60 < report.deferred_for <= 60 + status.LOCK_RETRY_MARGIN_SECONDS
    assert fake_github.request_count == 0
    assert cache.get(status._lock_key(repo.pk)) == "another-worker"  # not ours to release


def test_a_deferred_batch_leaves_what_the_lock_holder_checked(fake_github, make_project):
    fake_github.active("acme/held")
    fake_github.active("acme/missed")
    held = make_project("Held", "github.com/acme/held")
    missed = make_project("Missed", "github.com/acme/missed")
    status.repositories_sync()
    ids = [repo_of(held).pk, repo_of(missed).pk]
    for pk in ids:
        cache.add(status._lock_key(pk), "another-worker", 60)
    deferred = status.repositories_refresh(ids=ids)
    assert deferred.deferred_ids == ids
    # The holder checks one of the two, then dies: its locks expire.
    for pk in ids:
        cache.delete(status._lock_key(pk))
    refresh(held)
    asked = fake_github.count(path_prefix="/repos/acme/held")

    report = status.repositories_refresh(
        ids=deferred.deferred_ids, unless_checked_since=deferred.deferred_since
    )

    assert report.checked == 1 and report.deferred_ids == []
    assert fake_github.count(path_prefix="/repos/acme/missed") > 0
    assert fake_github.count(path_prefix="/repos/acme/held") == asked
    assert Snapshot.objects.filter(repository=repo_of(held)).count() == 1


def test_a_dismissed_finding_stays_dismissed_until_its_evidence_changes(fake_github, make_project):
    fake_github.archived("acme/dismissed")
    project = make_project("Dismissed", "github.com/acme/dismissed")
    refresh(project)
    finding = project.findings.get(state="open")
    status.finding_dismiss(finding=finding, user=None, reason="kept on purpose")

    refresh(project)
    assert open_kinds(project) == []

    fake_github.rename("acme/dismissed", "acme/elsewhere")
    refresh(project)
    assert "repository_moved" in open_kinds(project)


def test_apply_unarchives_a_listing_and_a_dismissal_needs_a_reason(fake_github, make_project):
    fake_github.active("acme/alive")
    project = make_project("Alive", "github.com/acme/alive", maturity="archived")
    refresh(project)
    finding = project.findings.get(state="open")

    with pytest.raises(status.FindingNotApplicable):
        status.finding_dismiss(finding=finding, user=None, reason="  ")
    status.finding_apply(finding=finding, user=None)

    project.refresh_from_db()
    assert project.maturity == ""
    refresh(project)
    assert open_kinds(project) == []


def test_an_entry_without_a_logo_gets_the_owner_avatar(fake_github, fake_links, make_project):
    avatar = fake_links.route("/avatar.png", body=PNG, headers={"Content-Type": "image/png"})
    fake_github.active("acme/nologo", avatar=avatar)
    project = make_project("Nologo", "github.com/acme/nologo")

    refresh(project)

    project.refresh_from_db()
    assert project.logo.name.startswith("logos/avatar-nologo")
    assert default_storage.open(project.logo.name).read() == PNG


def test_an_avatar_that_is_not_an_image_is_not_stored(fake_github, fake_links, make_project):
    avatar = fake_links.route("/avatar.svg", body=b"<svg onload='x()'/>")
    fake_github.active("acme/badlogo", avatar=avatar)
    project = make_project("Badlogo", "github.com/acme/badlogo")
    refresh(project)
    project.refresh_from_db()
    assert not project.logo


def test_due_selection_is_oldest_first_and_skips_fresh_ones(fake_github, make_project):
    for name in ("a", "b", "c"):
        fake_github.active(f"acme/{name}")
    a, b, c = (make_project(n.upper(), f"github.com/acme/{n}") for n in "abc")
    now = datetime.now(UTC)
    status.repositories_sync()
    RepositoryStatus.objects.filter(project=a).update(checked_at=now - timedelta(hours=7))
    RepositoryStatus.objects.filter(project=b).update(checked_at=now - timedelta(hours=1))
    RepositoryStatus.objects.filter(project=c).update(checked_at=now - timedelta(hours=30))

    due = status.repositories_due(now=now)

    assert due == [repo_of(c).pk, repo_of(a).pk]


# --- Links ------------------------------------------------------------------------------------


def check_links(project, when):
    return status.links_check(project_ids=[project.pk], now=lambda: when)


def test_a_link_is_broken_after_three_failures_over_a_day(fake_links, make_project):
    dead = fake_links.route("/dead", status=404)
    project = make_project("Linky", homepage_url=dead)
    t0 = datetime.now(UTC)

    check_links(project, t0)
    check_links(project, t0 + timedelta(hours=12))
    assert open_kinds(project) == []
    check_links(project, t0 + timedelta(hours=13))
    assert open_kinds(project) == []  # three failures, but only 13 hours apart
    check_links(project, t0 + timedelta(hours=25))

    assert open_kinds(project) == ["link_broken"]
    link = LinkStatus.objects.get(project=project)
    assert (link.ok, link.status_code, link.consecutive_failures) == (False, 404, 4)

    fake_links.route("/dead", status=200)
    check_links(project, t0 + timedelta(hours=26))
    assert open_kinds(project) == []  # resolved once it answers again


def test_a_permanent_redirect_suggests_the_new_url(fake_links, make_project):
    target = fake_links.page("/new-home")
    old = fake_links.redirect("/old-home", target, status=301)
    project = make_project("Redirected", homepage_url=old)

    check_links(project, datetime.now(UTC))

    finding = project.findings.get(state="open")
    assert finding.kind == "link_redirected"
    assert finding.suggestion["value"] == target
    # The fake answers on 127.0.0.1, which no entry may link to (issue 19): the finding
    # stays open; the same suggestion with a public address is applied.
    with pytest.raises(status.FindingNotApplicable, match="public address"):
        status.finding_apply(finding=finding, user=None)
    project.refresh_from_db()
    assert project.homepage_url == old
    Finding.objects.filter(pk=finding.pk).update(
        suggestion={**finding.suggestion, "value": "https://new-home.example/"}
    )
    status.finding_apply(finding=finding, user=None)
    project.refresh_from_db()
    assert project.homepage_url == "https://new-home.example/"


def test_an_organization_page_as_repo_url_is_checked_as_a_link(fake_links, make_project):
    org_page = fake_links.page("/org")
    project = make_project("Org", homepage_url=fake_links.page("/"))
    Project.objects.filter(pk=project.pk).update(repo_url=org_page)

    check_links(project, datetime.now(UTC))

    assert set(LinkStatus.objects.filter(project=project).values_list("kind", flat=True)) == {
        "homepage",
        "repository",
    }


def test_with_the_network_down_no_link_is_flagged(network_down, make_project):
    from tests.fakes.servers import unused_port_url

    project = make_project("Offline", homepage_url=unused_port_url("/home"))
    t0 = datetime.now(UTC)
    for hours in (0, 12, 25, 40):
        report = check_links(project, t0 + timedelta(hours=hours))
        assert report.offline
    assert LinkStatus.objects.filter(project=project).count() == 0
    assert open_kinds(project) == []


# --- Reporting ------------------------------------------------------------------------------


def test_status_report_json_lists_health_and_findings(fake_github, make_project):
    import json
    from io import StringIO

    from django.core.management import call_command

    fake_github.archived("acme/rep")
    project = make_project("Rep", "github.com/acme/rep")
    refresh(project)
    out = StringIO()

    call_command("status_report", "--json", stdout=out)

    rows = json.loads(out.getvalue())
    row = next(r for r in rows if r["slug"] == project.slug)
    assert row["health"] == "archived"
    assert [f["kind"] for f in row["findings"]] == ["archived_upstream"]


def test_a_graphql_query_refused_falls_back_to_rest(fake_github, github_token, make_project):
    """A refusal (4xx) is not cured by asking again; a 502 is retried and halved instead
    (tests/reliability/test_github_partial_answers.py)."""
    fake_github.archived("acme/fallback")
    project = make_project("Fallback", "github.com/acme/fallback")
    fake_github.inject(Fault.server_error(400, path_prefix="/graphql"))

    report = refresh(project)

    assert repo_of(project).health == "archived"
    assert report.failures == 0
    assert fake_github.count(path_prefix="/graphql") == 1
    assert fake_github.count(path_prefix="/repos/acme/fallback") >= 1


def _facts_reads(queries) -> int:
    """project_facts_sync's read of fresh values: the one query that annotates new_health."""
    return sum('"new_health"' in q["sql"] for q in queries)


def test_a_refresh_batch_copies_its_entries_facts_once(fake_github, make_project):
    """Every status and finding saved asks for its entry's copied facts; a batch syncs them
    once at its end (projects.facts.project_facts_deferred), and they are right."""
    projects = []
    for i in range(12):
        if i % 3 == 0:
            fake_github.archived(f"acme/f{i}")  # each opens a finding too
        else:
            fake_github.active(f"acme/f{i}", stars=100 + i)
        projects.append(make_project(f"F{i}", f"github.com/acme/f{i}"))
    with CaptureQueriesContext(connection) as queries:
        status.repositories_sync()
    assert _facts_reads(queries) == 1
    ids = list(RepositoryStatus.objects.values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as queries:
        report = status.repositories_refresh(ids=ids)
    assert report.checked == 12 and report.new_findings == 4
    assert _facts_reads(queries) == 1
    for i, project in enumerate(projects):
        project.refresh_from_db()
        repo = repo_of(project)
        assert (project.health, project.stars, project.pushed_at) == (
            repo.health,
            repo.stars,
            repo.pushed_at,
        )
        assert project.has_open_findings is (i % 3 == 0)


def test_deferred_facts_are_copied_when_the_block_ends_even_when_it_raises(make_project):
    alpha = make_project("Alpha", "github.com/acme/alpha")
    status.repositories_sync()

    def stars() -> int | None:
        return Project.objects.get(pk=alpha.pk).stars

    with project_facts_deferred():
        repo = repo_of(alpha)
        repo.stars = 5
        repo.save()
        with project_facts_deferred():  # nested: the outer block syncs
            repo.save()
        assert stars() is None
    assert stars() == 5

    def save_then_fail(value: int, *, atomic: bool) -> None:
        with transaction.atomic() if atomic else nullcontext(), project_facts_deferred():
            repo.stars = value
            repo.save()
            raise RuntimeError

    with pytest.raises(RuntimeError):
        save_then_fail(6, atomic=False)  # committed: its entry must still follow
    assert stars() == 6
    with pytest.raises(RuntimeError):
        save_then_fail(7, atomic=True)  # rolled back with the transaction: nothing to copy
    assert stars() == 6 and repo_of(alpha).stars == 6
