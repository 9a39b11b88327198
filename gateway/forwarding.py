"""What the gateway passes on to the services: credentials, request id, the client's identity."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable

from starlette.applications import Starlette
from starlette.requests import Request

REQUEST_ID_HEADER = "x-request-id"
#: Metadata in which the gateway proves to the auth service that it is the edge, so that
#: its x-forwarded-for is believed (a client that calls gRPC directly cannot prove it).
EDGE_CREDENTIAL_KEY = "x-cinema-edge"
#: The gateway's ``service``-role token, asked for on each call (it may be renewed).
EdgeCredential = Callable[[], str | None]
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
#: The RPCs of a web page's session cookie (AuthService's session cookie mode): only these
#: get the request's `cookie` header, and only their `set-cookie` metadata becomes a
#: `Set-Cookie` header. No other RPC sees the browser's cookies; no other metadata passes
#: back. Envoy's routes (edge/config.py) strip `cookie` from every other RPC the same way.
SESSION_COOKIE_RPCS = frozenset(
    f"/cinema.auth.v1.AuthService/{name}" for name in ("Login", "Refresh", "Logout")
)


def request_id(request: Request) -> str:
    """The client's request id when it is sane, else a new one."""
    supplied = request.headers.get(REQUEST_ID_HEADER, "")
    return supplied if _REQUEST_ID.fullmatch(supplied) else uuid.uuid4().hex


def install_edge_credential(app: Starlette, credential: EdgeCredential) -> None:
    """Makes ``app`` vouch for the client addresses it forwards with ``credential``."""
    app.state.edge_credential = credential


def _edge_credential(request: Request) -> str | None:
    credential: EdgeCredential | None = getattr(request.app.state, "edge_credential", None)
    return credential() if credential is not None else None


def outgoing_metadata(
    request: Request, request_id: str, rpc_path: str = ""
) -> tuple[tuple[str, str], ...]:
    """gRPC metadata for the upstream call of `rpc_path`."""
    metadata = [(REQUEST_ID_HEADER, request_id)]
    authorization = request.headers.get("authorization")
    if authorization:
        metadata.append(("authorization", authorization))
    if rpc_path in SESSION_COOKIE_RPCS:
        metadata.extend(("cookie", cookie) for cookie in request.headers.getlist("cookie"))
    user_agent = request.headers.get("user-agent")
    if user_agent:
        metadata.append(("x-forwarded-user-agent", user_agent))
    # The gateway is the edge: the client's own X-Forwarded-For is not evidence of
    # anything, so the services get exactly the address this connection came from.
    if request.client is not None:
        metadata.append(("x-forwarded-for", request.client.host))
        credential = _edge_credential(request)
        if credential:
            metadata.append((EDGE_CREDENTIAL_KEY, credential))
    return tuple(metadata)


def answer_cookies(initial_metadata: Iterable[tuple[str, str | bytes]]) -> list[str]:
    """The `Set-Cookie` headers of a session cookie RPC's answer: its `set-cookie` metadata."""
    return [
        value if isinstance(value, str) else value.decode("ascii")
        for key, value in initial_metadata
        if key == "set-cookie"
    ]
