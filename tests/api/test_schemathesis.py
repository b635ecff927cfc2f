"""schemathesis against the served /api/schema/, in process through the WSGI app.

Every operation, anonymous and as staff (and, for those on one entry, on a real entry as
well as on generated slugs): no 5xx, and every response conforms to the schema (status
code, content type, headers and body).
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from landscape.wsgi import application

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "12"))

# Loaded from the app itself, as a client would (no database needed to serve the schema).
SCHEMA = schemathesis.openapi.from_wsgi("/api/schema/", application)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
CASES = [
    (operation.label, actor, slug)
    for operation in OPERATIONS
    for actor in ("anonymous", "staff")
    for slug in ((None, "alpha", "hidden") if "{slug}" in operation.path else (None,))
]


def test_the_schema_covers_every_endpoint():
    labels = {op.label for op in OPERATIONS}
    assert {
        "GET /api/v1/projects/",
        "POST /api/v1/projects/",
        "GET /api/v1/projects/{slug}/",
        "PATCH /api/v1/projects/{slug}/",
        "DELETE /api/v1/projects/{slug}/",
        "GET /api/v1/categories/",
        "GET /api/v1/findings/",
        "GET /api/v1/stats/",
        "GET /api/v1/export/landscape.yml",
        "GET /api/v1/export/projects.csv",
        "GET /api/v1/export/projects.json",
    } <= labels


@pytest.fixture
def _keep_the_test_connection():
    """Calling the WSGI app directly fires request_started/finished, whose handler closes
    the connection holding the test's transaction (Django's test client disconnects it
    the same way)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db
@pytest.mark.usefixtures("_keep_the_test_connection")
@pytest.mark.parametrize(
    ("label", "actor", "slug"), CASES, ids=[f"{lab}-{a}-{s or 'generated'}" for lab, a, s in CASES]
)
def test_operation_conforms(label, actor, slug, actors):
    operation = SCHEMA.find_operation_by_label(label)
    headers = {"Authorization": f"Token {actors[actor].key}"} if actors[actor].key else None
    strategy = operation.as_strategy(path_parameters={"slug": slug} if slug else None)

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        derandomize=bool(os.environ.get("CI")),  # CI replays the same examples; locally, new ones
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    def run(case):
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()
