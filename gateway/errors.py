"""gRPC status -> HTTP status and the error body: `google.rpc.Status` as JSON.

The contract both edges speak (this gateway and Envoy's `grpc_json_transcoder`): the HTTP
status from google.rpc's code mapping (INVALID_ARGUMENT 400, NOT_FOUND 404, ...) and a body
`{"code": 5, "message": "...", "details": [...]}` whose `code` is the google.rpc code number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import grpc
import structlog
from google.protobuf import json_format
from google.protobuf.any_pb2 import Any as AnyProto
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status
from starlette.responses import JSONResponse

from gateway.transcode import FieldViolation

log = structlog.get_logger(__name__)

# google.rpc's mapping (google/rpc/code.proto), as Envoy's transcoder and grpc-gateway use.
HTTP_STATUS_BY_CODE: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
    grpc.StatusCode.UNAUTHENTICATED: 401,
}

# Messages of these codes may carry internals (exception text, peer addresses): never relay.
_GENERIC_MESSAGES = {
    grpc.StatusCode.UNKNOWN: "internal error",
    grpc.StatusCode.INTERNAL: "internal error",
    grpc.StatusCode.DATA_LOSS: "internal error",
    grpc.StatusCode.UNAVAILABLE: "service unavailable",
}


def status_body(
    code: grpc.StatusCode, message: str, details: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A `google.rpc.Status` in its JSON form: the code as its number."""
    number: int = code.value[0]
    return {"code": number, "message": message, "details": details or []}


@dataclass(frozen=True)
class HttpError:
    """An error ready to send: status, headers and the JSON body."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def from_rpc_error(error: grpc.aio.AioRpcError, request_id: str) -> HttpError:
    """Map a failed call, with its `grpc-status-details-bin` details, to an HTTP error."""
    code = error.code()
    details = _rich_details(error, request_id)
    message = _GENERIC_MESSAGES.get(code)
    if message is None:
        message = error.details() or ""
    elif code != grpc.StatusCode.UNAVAILABLE:
        log.error("upstream_error", code=code.name, request_id=request_id, details=error.details())
        details = []
    headers = _retry_after(details)
    body = status_body(code, message, [_render_any(d) for d in details])
    return HttpError(HTTP_STATUS_BY_CODE.get(code, 500), body, headers)


def from_violation(violation: FieldViolation) -> HttpError:
    """A request the gateway could not map: the same body as INVALID_ARGUMENT from a service."""
    bad_request = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(
                field=violation.field, description=violation.description
            )
        ]
    )
    detail = AnyProto()
    detail.Pack(bad_request)
    body = status_body(grpc.StatusCode.INVALID_ARGUMENT, str(violation), [_render_any(detail)])
    return HttpError(HTTP_STATUS_BY_CODE[grpc.StatusCode.INVALID_ARGUMENT], body)


class Refused(Exception):
    """A request the gateway turns away itself, before any service sees it."""

    def __init__(self, error: HttpError) -> None:
        super().__init__(error.body["message"])
        self.error = error


def refusal(
    status: int, code: grpc.StatusCode, message: str, headers: dict[str, str] | None = None
) -> HttpError:
    """An error of the gateway's own, in the same body as a service's."""
    return HttpError(status, status_body(code, message), headers or {})


def response(error: HttpError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        error.body, status_code=error.status, headers={**error.headers, **(headers or {})}
    )


def internal_error() -> HttpError:
    """An unexpected failure inside the gateway; the cause is logged, never sent."""
    return HttpError(500, status_body(grpc.StatusCode.INTERNAL, "internal error"))


def _rich_details(error: grpc.aio.AioRpcError, request_id: str) -> list[AnyProto]:
    try:
        status: status_pb2.Status | None = rpc_status.from_call(error)
    except ValueError:
        log.warning("inconsistent_status_details", request_id=request_id)
        return []
    return list(status.details) if status is not None else []


def _render_any(detail: AnyProto) -> dict[str, Any]:
    try:
        return json_format.MessageToDict(detail, preserving_proto_field_name=False)
    except TypeError:
        # A detail type this process does not know: still say what it was.
        return {"@type": detail.type_url}


def _retry_after(details: list[AnyProto]) -> dict[str, str]:
    for detail in details:
        retry_info = error_details_pb2.RetryInfo()
        if detail.Unpack(retry_info):
            delay = retry_info.retry_delay.seconds + retry_info.retry_delay.nanos / 1e9
            return {"Retry-After": str(max(0, math.ceil(delay)))}
    return {}
