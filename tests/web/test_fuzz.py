"""schemathesis fuzzes every operation of the OpenAPI spec against a live server: no 500s.

Each operation gets a bounded number of generated requests (valid and
invalid) so the whole run stays well under a minute on 2 cores. Every
answer must be below 500, and every error a problem document.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

from tests.web.conftest import Served

EXAMPLES = 12
MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)


def test_no_server_errors_on_any_operation(served: Served) -> None:
    schema = schemathesis.openapi.from_url(f"{served.url}/openapi.json")
    headers = {"Authorization": f"Bearer {served.tokens['admin']}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    for operation, mode in ((op, mode) for op in operations for mode in MODES):

        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(mode))
        def call(case: schemathesis.Case) -> None:
            response = case.call(headers=headers, timeout=30)
            label = f"{case.method} {case.formatted_path}"
            assert response.status_code < 500, (label, response.text)
            if response.status_code >= 400:
                assert response.headers["content-type"] == ["application/problem+json"], label

        try:
            call()
        except Unsatisfiable:
            # An operation with no parameter and no body has no invalid form to generate.
            assert mode is schemathesis.GenerationMode.NEGATIVE, operation.label
