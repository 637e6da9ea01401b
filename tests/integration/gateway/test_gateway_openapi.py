"""Schemathesis against the served OpenAPI document: no generated request makes a 5xx.

The schema is built inside the test (the app needs this test's broker topics), and each
operation's Hypothesis strategy is run directly with a small ``max_examples``.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.integration.gateway.conftest import SERVICE, Gateway, bearer

pytestmark = pytest.mark.kafka
OWN_ROUTES = r"^/(healthz|api/v1/(images|audio|styles|models|jobs)(/|$))"
EXAMPLES = 10


def test_no_generated_request_is_a_server_error(gateway: Gateway) -> None:
    gateway.settings.gateway.sse_idle_timeout_s = 0.2  # an unknown job's event stream ends quickly
    schema = schemathesis.openapi.from_asgi("/openapi.json", gateway.http.app).include(path_regex=OWN_ROUTES)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 14
    exercised = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def no_server_error(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=bearer(SERVICE), checks=[not_a_server_error])

        no_server_error()
        exercised.append(operation.label)
    assert len(exercised) == len(operations)
