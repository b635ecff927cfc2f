"""GitHub webhook: signed push/release/repository events queue a refresh of that repository."""

import hashlib
import hmac
import json

import pytest

from projects.models import Category, Project, RepositoryStatus

pytestmark = pytest.mark.django_db

SECRET = "webhook-test-secret"


@pytest.fixture
def listed(settings):
    settings.GITHUB_WEBHOOK_SECRET = SECRET
    pillar = Category.objects.create(name="Training", slug="training")
    sub = Category.objects.create(name="General", slug="training-general", parent=pillar)
    project = Project.objects.create(
        name="Hooked",
        slug="hooked",
        homepage_url="https://hooked.example/",
        repo_url="https://github.com/acme/hooked",
        category=sub,
    )
    return RepositoryStatus.objects.create(
        project=project, url=project.repo_url, host="github.com", owner="acme", name="hooked"
    )


def post(client, payload: dict, *, event: str = "push", secret: str = SECRET, signature=None):
    body = json.dumps(payload).encode()
    if signature is None:
        signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post(
        "/hooks/github/",
        data=body,
        content_type="application/json",
        headers={"X-GitHub-Event": event, "X-Hub-Signature-256": signature},
    )


@pytest.fixture
def eager_celery():
    """Run queued tasks in this process, so the refresh's effect can be read back."""
    from landscape.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.mark.parametrize("event", ["push", "release", "repository"])
def test_a_signed_event_refreshes_that_repository_after_commit(
    client, listed, event, django_capture_on_commit_callbacks, fake_github, eager_celery
):
    fake_github.archived("acme/hooked")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post(client, {"repository": {"full_name": "ACME/Hooked"}}, event=event)

    assert response.status_code == 202
    assert len(callbacks) == 1
    listed.refresh_from_db()
    assert listed.checked_at is not None
    assert listed.health == "archived"
    assert fake_github.count(path_prefix="/repos/acme/hooked") >= 1


def test_a_bad_signature_is_refused_and_queues_nothing(
    client, listed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(client, {"repository": {"full_name": "acme/hooked"}}, secret="wrong")
    assert response.status_code == 403
    assert callbacks == []


def test_a_missing_signature_is_refused(client, listed):
    response = post(client, {"repository": {"full_name": "acme/hooked"}}, signature="")
    assert response.status_code == 403


def test_without_a_configured_secret_the_hook_is_off(client, listed, settings):
    settings.GITHUB_WEBHOOK_SECRET = ""
    response = post(client, {"repository": {"full_name": "acme/hooked"}})
    assert response.status_code == 503


def test_ping_answers_and_other_events_are_ignored(
    client, listed, django_capture_on_commit_callbacks
):
    assert post(client, {"zen": "hi"}, event="ping").status_code == 200
    with django_capture_on_commit_callbacks() as callbacks:
        assert (
            post(client, {"repository": {"full_name": "acme/hooked"}}, event="star").status_code
            == 202
        )
    assert callbacks == []


def test_an_unlisted_repository_queues_nothing(client, listed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(client, {"repository": {"full_name": "someone/else"}})
    assert response.status_code == 202
    assert callbacks == []


def test_a_payload_without_a_repository_is_a_clear_400(client, listed):
    response = post(client, {"hello": "world"})
    assert response.status_code == 400
    assert "repository.full_name" in response.json()["detail"]


def test_the_signature_is_compared_in_constant_time(monkeypatch):
    from projects import webhooks

    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(webhooks.hmac, "compare_digest", lambda a, b: calls.append(1) or real(a, b))
    body = b"{}"
    good = "sha256=" + hmac.new(b"s", body, hashlib.sha256).hexdigest()
    assert webhooks.signature_valid(secret="s", body=body, header=good)
    assert not webhooks.signature_valid(secret="s", body=body, header="sha256=" + "0" * 64)
    assert calls == [1, 1]
