"""Domain errors and their gRPC status, with ``google.rpc`` details.

Domain code raises these; the error interceptor turns them into a status the client
can act on. Anything else that escapes a servicer becomes INTERNAL with no detail.
"""

from __future__ import annotations

from collections.abc import Iterable

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2


class CinemaError(Exception):
    """An error whose message is safe to show to the caller."""

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def details(self) -> list[any_pb2.Any]:
        """``google.rpc`` detail messages sent with the status."""
        return []

    def to_status(self) -> status_pb2.Status:
        status = status_pb2.Status(code=self.code.value[0], message=self.message)
        status.details.extend(self.details())
        return status


def _packed(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)  # type: ignore[arg-type]
    return packed


class InvalidArgument(CinemaError):
    """One or more request fields are wrong; each violation names its field."""

    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, violations: dict[str, str] | Iterable[tuple[str, str]]) -> None:
        self.violations = list(violations.items() if isinstance(violations, dict) else violations)
        if not self.violations:
            raise ValueError("InvalidArgument needs at least one field violation")
        summary = "; ".join(f"{field}: {why}" for field, why in self.violations)
        super().__init__(f"invalid argument: {summary}")

    def details(self) -> list[any_pb2.Any]:
        request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=field, description=why)
                for field, why in self.violations
            ]
        )
        return [_packed(request)]


class NotFound(CinemaError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(CinemaError):
    code = grpc.StatusCode.ALREADY_EXISTS


class Unauthenticated(CinemaError):
    code = grpc.StatusCode.UNAUTHENTICATED


class PermissionDenied(CinemaError):
    code = grpc.StatusCode.PERMISSION_DENIED


class FailedPrecondition(CinemaError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class Unavailable(CinemaError):
    code = grpc.StatusCode.UNAVAILABLE


class ResourceExhausted(CinemaError):
    """A limit was hit; the caller may retry after ``retry_after_seconds``."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED

    def __init__(self, message: str, retry_after_seconds: float) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds

    def details(self) -> list[any_pb2.Any]:
        delay = duration_pb2.Duration()
        delay.FromNanoseconds(int(self.retry_after_seconds * 1e9))
        return [_packed(error_details_pb2.RetryInfo(retry_delay=delay))]


def internal_status(request_id: str | None) -> status_pb2.Status:
    """What a client sees when a bug escapes: no internals, just a handle for the logs."""
    suffix = f" (request id {request_id})" if request_id else ""
    return status_pb2.Status(code=code_pb2.INTERNAL, message=f"internal error{suffix}")
