"""Size limits at the door: oversized headers are 431, oversized bodies 413, both early.

The body is read here, up to the limit, before any route sees it: a body announced too
large by its Content-Length is refused before a byte of it is read, a streamed (chunked)
one as soon as it passes the limit. Routes then get the body as one message. After a 413,
uvicorn discards whatever of the body still arrives (for its keep-alive timeout, then it
closes), so a client that sends its whole body first still reads the answer.
"""

from __future__ import annotations

import grpc
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway import errors

#: uvicorn's h11 parser buffers an incomplete request head up to this many bytes, then
#: answers a bare 400 itself. Far above any header limit, so that a large head arriving in
#: pieces still reaches `RequestLimits` and gets its 431; it bounds memory per connection.
TRANSPORT_HEAD_BYTES = 1024 * 1024


class RequestLimits:
    """ASGI middleware refusing requests whose head or body is larger than allowed."""

    def __init__(self, app: ASGIApp, max_header_bytes: int, max_body_bytes: int) -> None:
        self.app = app
        self.max_header_bytes = max_header_bytes
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._head_refusal(scope)
        if refusal is None:
            body, refusal = await self._read_body(receive)
        if refusal is not None:
            await errors.response(refusal)(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    def _head_refusal(self, scope: Scope) -> errors.HttpError | None:
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        # As on the wire: "name: value\r\n" per header, after the request line.
        size = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
        size += sum(len(name) + len(value) + 4 for name, value in headers)
        if size > self.max_header_bytes:
            return errors.refusal(
                431,
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"request headers larger than {self.max_header_bytes} bytes",
            )
        declared = next((value for name, value in headers if name == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            return self._too_large()
        return None

    async def _read_body(self, receive: Receive) -> tuple[bytes, errors.HttpError | None]:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # The client left before its body ended; the route will see it leave.
                return b"".join(chunks), None
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return b"", self._too_large()
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), None

    def _too_large(self) -> errors.HttpError:
        return errors.refusal(
            413,
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            f"request body larger than {self.max_body_bytes} bytes",
        )


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the body read already, then waits for what comes next."""
    pending = True

    async def replayed() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
