"""A stateful schemathesis run on the API: sequences of calls (submit an entry, read it,
change it, delete it, list...) built from the links schemathesis infers between the
operations of the served /api/schema/, as staff and as a maintainer. No 5xx, every answer
conforms to the schema. (tests/api/test_schemathesis.py runs each operation on its own.)"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from landscape.wsgi import application

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
STEPS = int(os.environ.get("SCHEMATHESIS_STATEFUL_EXAMPLES", "25"))
SCHEMA = schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture
def _keep_the_test_connection():
    """Calling the WSGI app directly fires request_started/finished, whose handler closes
    the connection holding the test's transaction."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_schemathesis_finds_links_between_operations():
    """Without links a stateful run is one call long: make sure there are some."""
    transitions = [n for n in dir(SCHEMA.as_state_machine()) if "_api_v1_projects_slug_" in n]
    # A submitted entry (201) is read, changed and deleted by the slug it came back with.
    for target in ("GET", "PATCH", "DELETE"):
        assert any(
            n.startswith("POST_api_v1_projects___201")
            and n.endswith(f"{target}_api_v1_projects_slug_")
            for n in transitions
        ), target


@pytest.mark.django_db
@pytest.mark.usefixtures("_keep_the_test_connection")
@pytest.mark.parametrize("actor", ["staff", "owner"])
def test_stateful_sequences_conform(world, actor):
    key = world["actors"][actor].key

    class APIWorkflow(SCHEMA.as_state_machine()):
        def get_call_kwargs(self, case):
            return {"headers": {"Authorization": f"Token {key}"}}

        def validate_response(self, response, case, **kwargs):
            case.validate_response(response, checks=CHECKS)

    run_state_machine_as_test(
        APIWorkflow,
        settings=settings(
            max_examples=STEPS,
            stateful_step_count=6,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
