"""GitHub REST and GraphQL clients against the fake GitHub."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from projects.sources.base import (
    GITHUB,
    GITLAB,
    AuthenticationFailed,
    RateLimited,
    RepoRef,
    SourceError,
    TransientError,
    parse_repo_url,
    retry_after_at,
)
from projects.sources.github import (
    GitHubGraphQL,
    GitHubREST,
    GraphQLBatch,
    build_batch_query,
    make_github_client,
)
from tests.fakes.servers import FakeLinks, Fault

NOW = datetime(2026, 6, 3, 10, 0, tzinfo=UTC)


def ref(full_name: str) -> RepoRef:
    owner, name = full_name.split("/")
    return RepoRef(GITHUB, owner, name)


# --- parse_repo_url -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/pytorch/pytorch", (GITHUB, "pytorch", "pytorch")),
        ("https://github.com/pytorch/pytorch/", (GITHUB, "pytorch", "pytorch")),
        ("https://github.com/pytorch/pytorch.git", (GITHUB, "pytorch", "pytorch")),
        ("http://www.github.com/pytorch/vision/tree/main", (GITHUB, "pytorch", "vision")),
        (
            "https://github.com/facebookresearch/pytorch3d/graphs/commit-activity",
            (GITHUB, "facebookresearch", "pytorch3d"),
        ),
        (
            "https://github.com/Lightning-AI/pytorch-lightning?tab=readme",
            (GITHUB, "Lightning-AI", "pytorch-lightning"),
        ),
        ("github.com/huggingface/transformers", (GITHUB, "huggingface", "transformers")),
        ("git@github.com:pytorch/text.git", (GITHUB, "pytorch", "text")),
        ("https://github.com/a/b.js#readme", (GITHUB, "a", "b.js")),
        ("https://gitlab.com/group/project", (GITLAB, "group", "project")),
        ("https://gitlab.com/group/sub/project/-/tree/main", (GITLAB, "group/sub", "project")),
        ("https://gitlab.com/group/project.git", (GITLAB, "group", "project")),
        ("https://gitlab.com/group/project/issues", (GITLAB, "group", "project")),
    ],
)
def test_parse_repo_url(url, expected):
    assert parse_repo_url(url) == RepoRef(*expected)


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/open-mmlab",
        "https://github.com/open-mmlab/",
        "https://github.com/orgs/pytorch/repositories",
        "https://github.com/sponsors/someone",
        "https://github.com/topics/pytorch",
        "https://pytorch.org/",
        "https://gitlab.com/group",
        "https://gitlab.com/explore/projects",
        "ftp://github.com/a/b",
        "",
        None,
        "not a url",
    ],
)
def test_parse_repo_url_rejects_non_repositories(url):
    assert parse_repo_url(url) is None


def test_repo_ref_compares_case_insensitively():
    assert ref("PyTorch/Vision").same_repo(ref("pytorch/vision"))
    assert not ref("pytorch/vision").same_repo(ref("pytorch/text"))
    assert ref("pytorch/vision").url == "https://github.com/pytorch/vision"


# --- REST -----------------------------------------------------------------------------------


def test_rest_active_repository(fake_github):
    released = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    repo = fake_github.active("pytorch/vision", release_at=released, stars=15000)
    with GitHubREST() as client:
        obs = client.observe(ref("pytorch/vision"))
    assert obs.found
    assert obs.archived is False
    assert not obs.not_modified
    assert obs.pushed_at == repo.pushed_at
    assert obs.last_release_at == released
    assert obs.stars == 15000
    assert obs.forks == repo.forks
    assert obs.open_issues == repo.open_issues + repo.open_pull_requests
    assert obs.license == "BSD-3-Clause"
    assert obs.name_with_owner == "pytorch/vision"
    assert obs.url == "https://github.com/pytorch/vision"
    assert obs.avatar_url == repo.avatar_url(fake_github.url)
    assert obs.moved_to is None
    assert obs.etag
    assert obs.etag.startswith('W/"')
    assert client.requests_made == 2
    assert fake_github.count(path_prefix="/repos/pytorch/vision/releases/latest") == 1


def test_rest_sends_user_agent_and_no_authorization_without_token(fake_github, settings):
    fake_github.active("a/b")
    with GitHubREST() as client:
        client.get_repo(ref("a/b"))
    sent = fake_github.requests[0]
    assert sent.header("user-agent") == settings.OUTBOUND_USER_AGENT
    assert sent.header("authorization") is None
    assert sent.header("x-github-api-version") == "2022-11-28"


def test_rest_uses_bearer_token_when_set(fake_github, github_token):
    fake_github.active("a/b")
    with GitHubREST() as client:
        client.get_repo(ref("a/b"))
    assert fake_github.requests[0].header("authorization") == f"Bearer {github_token}"


def test_rest_etag_304_reuses_data_and_costs_no_quota(fake_github):
    fake_github.active("a/b")
    with GitHubREST() as client:
        first = client.get_repo(ref("a/b"))
        before = fake_github.rest_quota.remaining
        second = client.observe(ref("a/b"), etag=first.etag)
    assert second.not_modified
    assert second.found
    assert second.stars is None
    assert second.etag == first.etag
    assert fake_github.rest_quota.remaining == before
    assert fake_github.requests[-1].header("if-none-match") == first.etag
    # A 304 skips the release call too.
    assert client.requests_made == 2


def test_rest_changed_repository_answers_200_despite_old_etag(fake_github):
    repo = fake_github.active("a/b")
    with GitHubREST() as client:
        first = client.get_repo(ref("a/b"))
        repo.stars += 1
        second = client.get_repo(ref("a/b"), etag=first.etag)
    assert not second.not_modified
    assert second.stars == repo.stars
    assert second.etag != first.etag


def test_rest_archived(fake_github):
    fake_github.archived("old/thing")
    with GitHubREST() as client:
        obs = client.get_repo(ref("old/thing"))
    assert obs.found
    assert obs.archived is True


def test_rest_renamed_follows_301_once_and_records_move(fake_github):
    fake_github.active("old-owner/old-name", release_at=datetime(2024, 6, 1, tzinfo=UTC))
    fake_github.rename("old-owner/old-name", "new-owner/new-name")
    with GitHubREST() as client:
        obs = client.observe(ref("old-owner/old-name"))
    assert obs.found
    assert obs.moved_to == ref("new-owner/new-name")
    assert obs.name_with_owner == "new-owner/new-name"
    assert obs.last_release_at == datetime(2024, 6, 1, tzinfo=UTC)
    routes = [r.route for r in fake_github.requests]
    assert routes[0] == "/repos/old-owner/old-name"
    assert routes[1].startswith("/repositories/")
    assert routes[2] == "/repos/new-owner/new-name/releases/latest"


def test_rest_case_only_difference_is_not_a_move(fake_github):
    fake_github.active("PyTorch/Vision")
    with GitHubREST() as client:
        obs = client.get_repo(ref("pytorch/vision"))
    assert obs.moved_to is None


def test_rest_redirect_off_origin_is_refused(settings, allow_loopback):
    with FakeLinks() as api, FakeLinks() as elsewhere:
        api.redirect("/repos/a/b", f"{elsewhere.url}/steal-token")
        settings.GITHUB_API_URL = api.url
        settings.GITHUB_TOKEN = "secret"
        with GitHubREST() as client, pytest.raises(SourceError, match="off the API origin"):
            client.get_repo(ref("a/b"))
        assert elsewhere.request_count == 0


def test_rest_deleted_is_not_found(fake_github):
    fake_github.active("gone/repo")
    fake_github.delete("gone/repo")
    with GitHubREST() as client:
        obs = client.observe(ref("gone/repo"))
    assert obs.found is False
    assert client.requests_made == 1


def test_rest_no_release_is_none(fake_github):
    fake_github.active("a/b", release_at=None)
    with GitHubREST() as client:
        assert client.latest_release(ref("a/b")) is None


def test_rest_primary_rate_limit_mid_batch(fake_github):
    for i in range(5):
        fake_github.active(f"org/repo{i}")
    fake_github.rest_quota.exhaust_after(3)
    reset_epoch = int(fake_github.rest_quota.reset_at.timestamp())
    seen = []

    def refresh_all(client: GitHubREST) -> None:
        for i in range(5):
            seen.append(client.get_repo(ref(f"org/repo{i}")))

    with GitHubREST() as client, pytest.raises(RateLimited) as info:
        refresh_all(client)
    assert len(seen) == 3
    assert info.value.reset_at == datetime.fromtimestamp(reset_epoch, tz=UTC)
    assert info.value.resource == "core"
    assert "API rate limit exceeded" in str(info.value)
    assert fake_github.requests[-1].route == "/repos/org/repo3"
    # After the reset the run resumes where it stopped.
    fake_github.rest_quota.refill()
    with GitHubREST() as client:
        assert client.get_repo(ref("org/repo3")).found


def test_rest_secondary_rate_limit_uses_retry_after(fake_github):
    fake_github.active("a/b")
    fake_github.secondary_limit(retry_after=120)
    before = datetime.now(UTC)
    with GitHubREST() as client, pytest.raises(RateLimited) as info:
        client.get_repo(ref("a/b"))
    assert info.value.reset_at >= before + timedelta(seconds=120)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_rest_server_errors_are_transient(fake_github, status):
    fake_github.active("a/b")
    fake_github.inject(Fault.server_error(status))
    with GitHubREST() as client:
        with pytest.raises(TransientError):
            client.get_repo(ref("a/b"))
        assert client.get_repo(ref("a/b")).found


def test_rest_malformed_json_is_transient(fake_github):
    fake_github.active("a/b")
    fake_github.inject(Fault.malformed())
    with GitHubREST() as client, pytest.raises(TransientError, match="malformed JSON"):
        client.get_repo(ref("a/b"))


def test_rest_timeout_is_transient(fake_github):
    fake_github.active("a/b")
    fake_github.inject(Fault.slow(5))
    with GitHubREST(timeout=0.2) as client, pytest.raises(TransientError, match="timed out"):
        client.get_repo(ref("a/b"))


def test_rest_dropped_connection_is_transient(fake_github):
    fake_github.active("a/b")
    fake_github.inject(Fault.drop())
    with GitHubREST() as client, pytest.raises(TransientError):
        client.get_repo(ref("a/b"))


def test_rest_bad_token(fake_github, settings):
    fake_github.active("a/b")
    settings.GITHUB_TOKEN = "wrong"
    with GitHubREST() as client, pytest.raises(AuthenticationFailed):
        client.get_repo(ref("a/b"))


def test_fetch_file(fake_github):
    fake_github.active("a/b", files={"docs/index.md": "# Hello\n"})
    with GitHubREST() as client:
        assert client.fetch_file(ref("a/b"), "docs/index.md") == "# Hello\n"
        assert client.fetch_file(ref("a/b"), "missing.txt") is None
    assert "application/vnd.github.raw" in fake_github.requests[0].header("accept")


def test_fetch_file_follows_a_rename(fake_github):
    fake_github.active("old/name", files={"README.md": "hi"})
    fake_github.rename("old/name", "new/name")
    with GitHubREST() as client:
        assert client.fetch_file(ref("old/name"), "README.md") == "hi"


# --- GraphQL --------------------------------------------------------------------------------


def test_graphql_batch_covers_every_state_in_one_request(fake_github, github_token):
    now = datetime.now(UTC)
    fake_github.active("pytorch/vision", release_at=now - timedelta(days=10), open_issues=9)
    fake_github.archived("old/archived")
    fake_github.inactive("slow/inactive", days_ago=500)
    fake_github.active("was/here")
    fake_github.rename("was/here", "now/there")
    refs = [
        ref("pytorch/vision"),
        ref("old/archived"),
        ref("slow/inactive"),
        ref("was/here"),
        ref("never/existed"),
    ]
    with GitHubGraphQL() as client:
        batch = client.fetch(refs)
    assert client.requests_made == 1
    assert fake_github.request_count == 1
    obs = batch.observations
    vision = obs[ref("pytorch/vision")]
    assert vision.found
    assert not vision.archived
    assert vision.open_issues == 9  # issues only, unlike REST
    assert vision.last_release_at is not None
    assert vision.last_commit_at == vision.pushed_at
    assert vision.license == "BSD-3-Clause"
    assert vision.avatar_url
    assert vision.source == "github-graphql"
    assert obs[ref("old/archived")].archived is True
    assert obs[ref("slow/inactive")].pushed_at < now - timedelta(days=499)
    assert obs[ref("was/here")].moved_to == ref("now/there")
    assert obs[ref("never/existed")].found is False
    assert batch.errors == {}
    assert batch.rate_limit.remaining == fake_github.graphql_quota.remaining
    assert fake_github.requests[0].header("authorization") == f"Bearer {github_token}"


def test_graphql_passes_names_as_variables():
    query, variables, aliases = build_batch_query([ref('evil"}/x'), ref("a/b")])
    assert 'evil"}' not in query
    assert variables == {"o0": 'evil"}', "n0": "x", "o1": "a", "n1": "b"}
    assert list(aliases) == ["r0", "r1"]


def test_graphql_batches_of_fifty(fake_github, github_token):
    refs = [ref(f"org/repo{i}") for i in range(120)]
    for r in refs:
        fake_github.active(r.full_name)
    with GitHubGraphQL() as client:
        batch = client.fetch_all(refs)
        with pytest.raises(ValueError, match="at most 50"):
            client.fetch(refs[:51])
    assert len(batch.observations) == 120
    assert fake_github.request_count == 3
    assert client.requests_made == 3


def test_graphql_quota_spent_mid_run_keeps_partial_and_resumes(fake_github, github_token):
    refs = [ref(f"org/repo{i}") for i in range(100)]
    for r in refs:
        fake_github.active(r.full_name)
    fake_github.graphql_quota.exhaust_after(1)
    with GitHubGraphQL() as client, pytest.raises(RateLimited) as info:
        client.fetch_all(refs)
    partial = info.value.partial
    assert isinstance(partial, GraphQLBatch)
    assert len(partial.observations) == 50
    assert all(o.found for o in partial.observations.values())
    assert info.value.reset_at == fake_github.graphql_quota.reset_at
    assert fake_github.request_count == 1
    fake_github.graphql_quota.refill()
    remaining = [r for r in refs if r not in partial.observations]
    with GitHubGraphQL() as client:
        rest = client.fetch_all(remaining)
    assert len(rest.observations) == 50
    assert fake_github.request_count == 2


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", NOW + timedelta(seconds=120)),
        (" 0 ", NOW),
        ("Wed, 03 Jun 2026 10:02:00 GMT", datetime(2026, 6, 3, 10, 2, tzinfo=UTC)),
        ("Wed, 03 Jun 2026 09:00:00 GMT", NOW),  # already past: now, not a wait backwards
        ("-5", None),
        ("soon", None),
        (None, None),
    ],
)
def test_retry_after_takes_seconds_or_an_http_date(value, expected):
    assert retry_after_at(value, now=NOW) == expected


def test_rest_secondary_rate_limit_with_an_http_date(settings, allow_loopback):
    with FakeLinks() as api:
        api.route(
            "/repos/a/b",
            status=403,
            body=b'{"message": "You have exceeded a secondary rate limit."}',
            headers={
                "Content-Type": "application/json",
                "Retry-After": "Wed, 03 Jun 2026 10:02:00 GMT",
            },
        )
        settings.GITHUB_API_URL = api.url
        with GitHubREST(clock=lambda: NOW) as client, pytest.raises(RateLimited) as info:
            client.get_repo(ref("a/b"))
    assert info.value.reset_at == datetime(2026, 6, 3, 10, 2, tzinfo=UTC)


@pytest.mark.parametrize("status", [200, 403])
def test_graphql_rate_limited_answer(fake_github, github_token, status):
    fake_github.active("a/b")
    fake_github.graphql_quota.exhaust_after(0)
    fake_github.graphql_limited_status = status
    with GitHubGraphQL() as client, pytest.raises(RateLimited) as info:
        client.fetch([ref("a/b")])
    expected = datetime.fromtimestamp(int(fake_github.graphql_quota.reset_at.timestamp()), tz=UTC)
    assert info.value.reset_at == expected
    assert info.value.partial is None


def test_graphql_other_alias_errors_are_transient_per_repository(settings, allow_loopback):
    """A FORBIDDEN alias (SAML) fails alone; its batch-mates still count."""
    body = {
        "data": {
            "rateLimit": {
                "limit": 5000,
                "cost": 1,
                "remaining": 4999,
                "resetAt": "2030-01-01T00:00:00Z",
            },
            "r0": None,
            "r1": {
                "nameWithOwner": "a/ok",
                "isArchived": False,
                "pushedAt": "2025-01-01T00:00:00Z",
            },
        },
        "errors": [{"type": "FORBIDDEN", "path": ["r0"], "message": "Resource protected by SAML."}],
    }
    with FakeLinks() as api:
        api.route(
            "/graphql",
            body=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        settings.GITHUB_GRAPHQL_URL = f"{api.url}/graphql"
        settings.GITHUB_TOKEN = "t"
        with GitHubGraphQL() as client:
            batch = client.fetch([ref("a/saml"), ref("a/ok")])
    assert isinstance(batch.errors[ref("a/saml")], TransientError)
    assert batch.observations[ref("a/ok")].found


@pytest.mark.parametrize("fault", [Fault.server_error(502), Fault.malformed(), Fault.drop()])
def test_graphql_failures_are_transient(fake_github, github_token, fault):
    fake_github.active("a/b")
    fake_github.inject(fault)
    with GitHubGraphQL() as client, pytest.raises(TransientError):
        client.fetch([ref("a/b")])


def test_graphql_timeout(fake_github, github_token):
    fake_github.active("a/b")
    fake_github.inject(Fault.slow(5))
    with GitHubGraphQL(timeout=0.2) as client, pytest.raises(TransientError):
        client.fetch([ref("a/b")])


def test_graphql_needs_a_token(fake_github):
    with GitHubGraphQL() as client, pytest.raises(AuthenticationFailed):
        client.fetch([ref("a/b")])
    assert fake_github.request_count == 0


def test_client_choice_follows_token(fake_github, settings):
    assert isinstance(make_github_client(), GitHubREST)
    settings.GITHUB_TOKEN = "x"
    assert isinstance(make_github_client(), GitHubGraphQL)
