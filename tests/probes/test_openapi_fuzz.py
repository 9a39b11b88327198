"""schemathesis against the gateway's own OpenAPI, on a real `cinema up` over HTTP.

Every operation the document lists gets generated requests, valid and not, with a real
user token: none may answer 5xx, and every answer must match the document (status,
content type, body schema). Examples per operation are bounded to keep `make test`
short (CINEMA_OPENAPI_EXAMPLES raises them).
"""

from __future__ import annotations

import os

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)

from gateway.discovery import discover_services
from gateway.openapi import annotated_methods
from tests.probes.conftest import Target

EXAMPLES = int(os.environ.get("CINEMA_OPENAPI_EXAMPLES", "12"))
#: The one server-sent event stream never ends by itself; the gateway's own tests probe it.
STREAM_PATH = "/v1/me/recommendations:watch"
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def test_gateway_answers_within_its_contract(target: Target) -> None:
    schema = schemathesis.openapi.from_url(f"{target.http_base}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    methods = annotated_methods(m for s in discover_services() for m in s.methods)
    assert len(operations) >= len(methods), "an annotated RPC is missing from the OpenAPI"
    headers = {"Authorization": f"Bearer {target.user_token}"}
    failures: dict[str, str] = {}
    for operation in operations:
        if operation.path == STREAM_PATH:
            continue

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=os.environ.get("CINEMA_FUZZ_RANDOM") != "1",
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def probe(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, timeout=30, checks=CHECKS)

        try:
            probe()
        except Exception as failure:  # every operation runs; all are reported
            failures[operation.label] = str(failure)[:2_000]
    assert failures == {}
    assert target.serving()
