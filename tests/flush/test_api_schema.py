"""Schemathesis against the flush API's own OpenAPI document, on the live uvicorn server.

Generated requests (valid and invalid bodies, with a good token) must never get a 5xx,
and every answer must match what the document declares (status codes, content types,
response schemas). Driven through hypothesis directly: schemathesis' pytest plugin does
not run under pytest 9.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.flush.test_api import Api, api  # noqa: F401  (the module-scoped live server)


def test_api_conforms_to_its_openapi_document(api: Api) -> None:  # noqa: F811
    schema = schemathesis.openapi.from_url(f"{api.url}/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert [op.label for op in operations] == ["POST /api/v1/sites/{site}/flush"]
    headers = {"Authorization": f"Bearer {api.tokens['good']}"}
    before = len(api.audit())
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
        def conforms(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, timeout=10)

        conforms()
    # Every generated call reached the server and was audited, accepted or refused.
    assert len(api.audit()) - before >= 50
