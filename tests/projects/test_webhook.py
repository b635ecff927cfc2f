"""GitHub webhook: signed push/release/repository events queue a refresh of that repository."""

import hashlib
import hmac
import json
import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.test import Client
from django.utils import timezone

from ops.deliveries import delivery_claim
from ops.models import Delivery
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


def post(
    client,
    payload: dict | bytes,
    *,
    event: str = "push",
    secret: str = SECRET,
    signature=None,
    delivery: str | None = None,
):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    if signature is None:
        signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post(
        "/hooks/github/",
        data=body,
        content_type="application/json",
        headers={
            "X-GitHub-Event": event,
            "X-Hub-Signature-256": signature,
            "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        },
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


# --- Hostile payloads (issue 19) -----------------------------------------------------------


@pytest.mark.parametrize(
    "full_name", [123, ["acme/hooked"], {"owner": "acme"}, "acme\x00/hooked", "acme", "a/b/c", None]
)
def test_a_full_name_that_is_not_owner_slash_name_is_a_clear_400(full_name, listed):
    client = Client(raise_request_exception=False)
    response = post(client, {"repository": {"full_name": full_name}})
    assert response.status_code == 400
    assert "repository.full_name" in response.json()["detail"]


def test_a_body_nested_100000_levels_is_a_clear_400(listed):
    client = Client(raise_request_exception=False)
    response = post(client, b"[" * 100_000)
    assert response.status_code == 400
    assert "nested deeper than" in response.json()["detail"]


def test_a_malformed_delivery_id_is_a_400(client, listed):
    response = post(client, {"repository": {"full_name": "acme/hooked"}}, delivery="x" * 65)
    assert response.status_code == 400
    assert "X-GitHub-Delivery" in response.json()["detail"]


# --- Replays ---------------------------------------------------------------------------------


def test_a_replayed_delivery_is_answered_200_and_does_nothing(
    client, listed, django_capture_on_commit_callbacks
):
    payload = {"repository": {"full_name": "acme/hooked"}, "after": "abc"}
    with django_capture_on_commit_callbacks() as first:
        assert post(client, payload, delivery="d-1").status_code == 202
    assert len(first) == 1
    with django_capture_on_commit_callbacks() as again:
        response = post(client, payload, delivery="d-1")
    assert (response.status_code, response.json()["detail"]) == (200, "delivery already processed")
    assert again == []


def test_a_replay_under_a_new_delivery_id_is_still_a_replay(
    client, listed, django_capture_on_commit_callbacks
):
    # The signature covers the body, not the X-GitHub-Delivery header.
    payload = {"repository": {"full_name": "acme/hooked"}, "after": "abc"}
    assert post(client, payload, delivery="d-1").status_code == 202
    with django_capture_on_commit_callbacks() as again:
        assert post(client, payload, delivery="d-2").status_code == 200
    assert again == []


def test_a_new_body_under_a_known_delivery_id_is_a_replay(
    client, listed, django_capture_on_commit_callbacks
):
    assert post(client, {"repository": {"full_name": "acme/hooked"}}, delivery="d-1").status_code
    with django_capture_on_commit_callbacks() as again:
        response = post(
            client, {"repository": {"full_name": "acme/hooked"}, "x": 1}, delivery="d-1"
        )
    assert response.status_code == 200
    assert again == []


def test_deliveries_are_remembered_for_a_day_then_acted_on_again(
    client, listed, settings, django_capture_on_commit_callbacks
):
    payload = {"repository": {"full_name": "acme/hooked"}}
    assert post(client, payload, delivery="d-1").status_code == 202
    hours = settings.GITHUB_WEBHOOK_REPLAY_HOURS
    assert hours == 24
    Delivery.objects.update(received=timezone.now() - timedelta(hours=hours, minutes=1))
    with django_capture_on_commit_callbacks() as later:
        assert post(client, payload, delivery="d-1").status_code == 202
    assert len(later) == 1
    assert Delivery.objects.filter(received__lt=timezone.now() - timedelta(hours=1)).count() == 0


def test_a_delivery_whose_work_failed_is_acted_on_when_redelivered(
    listed, monkeypatch, django_capture_on_commit_callbacks
):
    from projects import webhooks

    def broken(ids):
        raise RuntimeError("the database went away mid-request")

    monkeypatch.setattr(webhooks, "enqueue_refresh", broken)
    client = Client(raise_request_exception=False)
    payload = {"repository": {"full_name": "acme/hooked"}}
    assert post(client, payload, delivery="d-1").status_code == 500
    monkeypatch.undo()
    with django_capture_on_commit_callbacks() as redelivered:
        assert post(client, payload, delivery="d-1").status_code == 202
    assert len(redelivered) == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_identical_deliveries_do_the_work_once():
    """The second claim waits on the first's uncommitted row (PostgreSQL's unique index),
    then finds it: exactly one True, whichever commits first."""
    body = b'{"repository": {"full_name": "acme/hooked"}}'
    claimed: dict[str, bool] = {}
    first_claimed, release = threading.Event(), threading.Event()
    pids: dict[str, int] = {}

    def claim(name: str, *, hold: bool):
        try:
            with transaction.atomic():
                pids[name] = connection.connection.info.backend_pid
                if not hold:
                    first_claimed.wait()
                claimed[name] = delivery_claim(
                    source="github", delivery_id="same", body=body, keep=timedelta(days=1)
                )
                if hold:
                    first_claimed.set()
                    release.wait()
        finally:
            connections.close_all()

    first = threading.Thread(target=claim, args=("first",), kwargs={"hold": True})
    second = threading.Thread(target=claim, args=("second",), kwargs={"hold": False})
    first.start()
    second.start()
    first_claimed.wait()
    # Let the first commit only once the second is blocked on its row.
    with connection.cursor() as cursor:
        while second.is_alive():
            cursor.execute(
                "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s",
                [pids.get("second", -1)],
            )
            row = cursor.fetchone()
            if row and row[0] == "Lock":
                break
    release.set()
    first.join()
    second.join()
    assert claimed == {"first": True, "second": False}
    assert Delivery.objects.count() == 2  # the body's digest and the delivery id


# --- The body limit ---------------------------------------------------------------------------


def _payload_of_size(size: int) -> bytes:
    head = b'{"repository": {"full_name": "acme/hooked"}, "pad": "'
    return head + b"x" * (size - len(head) - 2) + b'"}'


def test_the_hooks_body_limit_is_github_webhook_max_bytes_alone(
    client, listed, settings, django_capture_on_commit_callbacks
):
    limit = settings.GITHUB_WEBHOOK_MAX_BYTES
    assert limit == 5 * 1024 * 1024 > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(client, _payload_of_size(limit))
    assert response.status_code == 202, response.content
    assert len(callbacks) == 1
    response = post(client, _payload_of_size(limit + 1))
    assert response.status_code == 413
    assert str(limit) in response.json()["detail"]
