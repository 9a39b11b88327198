"""Per-RPC context: who is calling and which request this is.

Set by the server interceptors for the duration of one RPC; read by servicers and by
the client interceptor that carries the request id to the next hop.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Caller:
    """The verified identity behind an RPC, taken from its access token."""

    user_id: str
    roles: frozenset[str]

    def has_role(self, role: str) -> bool:
        return role in self.roles


current_caller: contextvars.ContextVar[Caller | None] = contextvars.ContextVar(
    "current_caller", default=None
)
current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "current_request_id", default=None
)


def caller() -> Caller:
    """The caller of the RPC being served; only valid inside an authenticated RPC."""
    found = current_caller.get()
    if found is None:
        raise LookupError("no authenticated caller in this context")
    return found
