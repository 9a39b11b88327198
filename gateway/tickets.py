"""Stream tickets: how a web page opens a stream, since EventSource cannot send headers.

The page posts its bearer token to `POST /v1/stream-tickets` and gets an opaque ticket,
valid for `CINEMA_STREAM_TICKET_SECONDS` and for one use, that a streaming route takes as
`?ticket=` in place of the Authorization header. The token never appears in a URL (and
so in no access log or browser history), and a ticket that leaks is already spent or about
to expire. Tickets live in this gateway process: behind several gateway replicas, route a
page's requests to the same one, or send the Authorization header from a fetch-based
client instead.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import grpc
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from cinema.auth.v1 import auth_pb2
from gateway import errors
from gateway.channels import ChannelPool
from gateway.forwarding import REQUEST_ID_HEADER, outgoing_metadata, request_id
from gateway.openapi import ERROR_SCHEMA_NAME

TICKETS_PATH = "/v1/stream-tickets"
#: The query parameter in which streaming routes take a ticket.
TICKET_PARAMETER = "ticket"
#: Outstanding tickets at most; each holds a token, so their memory is bounded.
CAPACITY = 10_000
_AUTH_SERVICE = auth_pb2.DESCRIPTOR.services_by_name["AuthService"]
_GET_ME = f"/{_AUTH_SERVICE.full_name}/GetMe"


@dataclass(frozen=True)
class _Issued:
    authorization: str
    deadline: float


class StreamTickets:
    """Tickets by value: each stands for one Authorization header, once, for a while."""

    def __init__(
        self, lifetime_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.lifetime_seconds = lifetime_seconds
        self._clock = clock
        self._issued: dict[str, _Issued] = {}

    def issue(self, authorization: str) -> str | None:
        """A new ticket for `authorization`; None while `CAPACITY` tickets are outstanding."""
        now = self._clock()
        if len(self._issued) >= CAPACITY:
            self._issued = {t: i for t, i in self._issued.items() if i.deadline > now}
            if len(self._issued) >= CAPACITY:
                return None
        ticket = secrets.token_urlsafe(32)
        self._issued[ticket] = _Issued(authorization, now + self.lifetime_seconds)
        return ticket

    def redeem(self, ticket: str) -> str | None:
        """The Authorization header `ticket` stands for, if it is live; it is spent now."""
        issued = self._issued.pop(ticket, None)
        if issued is None or issued.deadline <= self._clock():
            return None
        return issued.authorization


def unknown_ticket() -> errors.Refused:
    return errors.Refused(
        errors.refusal(
            401,
            grpc.StatusCode.UNAUTHENTICATED,
            f"stream ticket is unknown, used or expired: get a new one (POST {TICKETS_PATH})",
        )
    )


def tickets_route(pool: ChannelPool, tickets: StreamTickets) -> APIRoute:
    """`POST /v1/stream-tickets`: a ticket for a valid bearer token (checked with GetMe)."""

    async def issue(request: Request) -> Response:
        call_id = request_id(request)
        headers = {REQUEST_ID_HEADER: call_id}
        authorization = request.headers.get("authorization", "")
        if not authorization.lower().startswith("bearer "):
            message = "missing access token: send `Authorization: Bearer <token>`"
            error = errors.refusal(401, grpc.StatusCode.UNAUTHENTICATED, message)
            return errors.response(error, headers)
        get_me = pool.channel(_AUTH_SERVICE.full_name).unary_unary(
            _GET_ME,
            request_serializer=auth_pb2.GetMeRequest.SerializeToString,
            response_deserializer=auth_pb2.GetMeResponse.FromString,
        )
        try:
            await get_me(
                auth_pb2.GetMeRequest(),
                metadata=outgoing_metadata(request, call_id),
                timeout=10.0,
            )
        except grpc.aio.AioRpcError as failure:
            return errors.response(errors.from_rpc_error(failure, call_id), headers)
        ticket = tickets.issue(authorization)
        if ticket is None:
            seconds = str(round(tickets.lifetime_seconds))
            error = errors.refusal(
                429, grpc.StatusCode.RESOURCE_EXHAUSTED, "too many open stream tickets"
            )
            return errors.response(error, {**headers, "Retry-After": seconds})
        expires = datetime.now(UTC) + timedelta(seconds=tickets.lifetime_seconds)
        body = {"ticket": ticket, "expireTime": expires.isoformat(timespec="seconds")}
        return JSONResponse(body, headers=headers)

    return APIRoute(
        TICKETS_PATH,
        issue,
        methods=["POST"],
        name="StreamTickets_Create",
        operation_id="StreamTickets_Create",
        summary="CreateStreamTicket",
        description=(
            "A short-lived, one-use ticket that opens a streaming route "
            f"(`?{TICKET_PARAMETER}=`) without an Authorization header, as a browser's "
            "EventSource must. Needs the bearer token it stands for."
        ),
        tags=["gateway"],
        response_class=JSONResponse,
        openapi_extra=_OPERATION,
    )


_OPERATION = {
    "security": [{"bearer": []}],
    "responses": {
        "200": {
            "description": "The ticket.",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "ticket": {"type": "string"},
                            "expireTime": {"type": "string", "format": "date-time"},
                        },
                        "required": ["ticket", "expireTime"],
                    }
                }
            },
        },
        "default": {
            "description": "Error.",
            "content": {
                "application/json": {
                    "schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA_NAME}"}
                }
            },
        },
    },
}
