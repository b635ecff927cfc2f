"""GitLab client against the fake GitLab."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from projects.sources.base import GITLAB, RateLimited, RepoRef, TransientError
from projects.sources.gitlab import GitLabClient
from tests.fakes.servers import Fault


def ref(path: str) -> RepoRef:
    found = RepoRef.from_full_name(GITLAB, path)
    assert found is not None
    return found


def test_active_project(fake_gitlab):
    active = datetime.now(UTC).replace(microsecond=0) - timedelta(days=4)
    fake_gitlab.add_project("group/sub/tool", last_activity_at=active, star_count=77)
    with GitLabClient() as client:
        obs = client.get_project(ref("group/sub/tool"))
    assert obs.found
    assert obs.archived is False
    assert obs.pushed_at == active
    assert obs.stars == 77
    assert obs.forks == 5
    assert obs.open_issues == 3
    assert obs.license == "MIT License"
    assert obs.url == "https://gitlab.com/group/sub/tool"
    assert obs.moved_to is None
    assert obs.avatar_url  # the namespace's, as the project has none
    # The whole path travels as one encoded segment.
    assert fake_gitlab.requests[0].path.startswith("/api/v4/projects/group%2Fsub%2Ftool")
    assert client.requests_made == 1


def test_archived_project(fake_gitlab):
    fake_gitlab.add_project("g/old", archived=True)
    with GitLabClient() as client:
        assert client.get_project(ref("g/old")).archived is True


def test_renamed_project_is_a_move(fake_gitlab):
    fake_gitlab.add_project("g/before")
    fake_gitlab.rename("g/before", "other/after")
    with GitLabClient() as client:
        obs = client.get_project(ref("g/before"))
    assert obs.found
    assert obs.moved_to == ref("other/after")


def test_deleted_project_is_not_found(fake_gitlab):
    with GitLabClient() as client:
        assert client.get_project(ref("g/nothing")).found is False


def test_issues_disabled_leaves_open_issues_unknown(fake_gitlab):
    fake_gitlab.add_project("g/noissues", open_issues_count=None)
    with GitLabClient() as client:
        assert client.get_project(ref("g/noissues")).open_issues is None


def test_rate_limited(fake_gitlab):
    fake_gitlab.add_project("g/a")
    fake_gitlab.quota.exhaust_after(1, reset_in=timedelta(minutes=5))
    with GitLabClient() as client:
        assert client.get_project(ref("g/a")).found
        before = datetime.now(UTC)
        with pytest.raises(RateLimited) as info:
            client.get_project(ref("g/a"))
    assert before + timedelta(minutes=4) <= info.value.reset_at <= before + timedelta(minutes=6)
    assert fake_gitlab.requests[-1].route.startswith("/api/v4/projects/")


def test_token_is_sent_as_private_token(fake_gitlab, settings):
    fake_gitlab.add_project("g/a")
    settings.GITLAB_TOKEN = "glpat-test"
    with GitLabClient() as client:
        client.get_project(ref("g/a"))
    assert fake_gitlab.requests[0].header("private-token") == "glpat-test"


@pytest.mark.parametrize(
    "fault", [Fault.server_error(500), Fault.server_error(502), Fault.malformed()]
)
def test_failures_are_transient(fake_gitlab, fault):
    fake_gitlab.add_project("g/a")
    fake_gitlab.inject(fault)
    with GitLabClient() as client, pytest.raises(TransientError):
        client.get_project(ref("g/a"))


def test_timeout_is_transient(fake_gitlab):
    fake_gitlab.add_project("g/a")
    fake_gitlab.inject(Fault.slow(5))
    with GitLabClient(timeout=0.2) as client, pytest.raises(TransientError):
        client.get_project(ref("g/a"))
