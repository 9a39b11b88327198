"""Per-RPC context: who is calling, which request this is, and until when it may take.

Set by the server interceptors for the duration of one RPC; read by servicers and by
the client interceptors that carry the request id and the deadline to the next hop.
"""

from __future__ import annotations

import contextvars
import time
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


class Deadline:
    """When the caller of the RPC being served stops waiting.

    Tasks started during an RPC inherit its context; once the RPC is over the deadline
    is closed, so work it left running in the background is not cut short by it.
    """

    def __init__(self, seconds: float) -> None:
        self._expires_at = time.monotonic() + seconds
        self._open = True

    def remaining(self) -> float | None:
        """Seconds left, or None once the RPC is over."""
        return max(0.0, self._expires_at - time.monotonic()) if self._open else None

    def close(self) -> None:
        self._open = False


current_deadline: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar(
    "current_deadline", default=None
)


def remaining_time() -> float | None:
    """Seconds left before the caller of the RPC being served gives up; None: no limit."""
    deadline = current_deadline.get()
    return None if deadline is None else deadline.remaining()


def caller() -> Caller:
    """The caller of the RPC being served; only valid inside an authenticated RPC."""
    found = current_caller.get()
    if found is None:
        raise LookupError("no authenticated caller in this context")
    return found
