"""Headers every answer carries: what a browser may do with it, and who may cache it."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.forwarding import REQUEST_ID_HEADER

#: JSON answers are never documents: nothing may load, run or frame them.
API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
#: Our HTML pages (/docs) load scripts, styles and images from the gateway only. Swagger UI
#: sets inline styles as it renders, so styles allow them; scripts never run inline.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
_FIXED = {
    "x-content-type-options": "nosniff",
    # URLs may hold a stream ticket: never pass them on to another site.
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


class SecurityHeaders:
    """ASGI middleware adding the security headers to each response that lacks them.

    `Cache-Control: no-store` goes on every answer that sets no caching of its own: API
    answers carry tokens and personal lists that no shared cache may keep.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _FIXED.items():
                    headers.setdefault(name, value)
                html = headers.get("content-type", "").startswith("text/html")
                headers.setdefault("content-security-policy", PAGE_POLICY if html else API_POLICY)
                headers.setdefault("cache-control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def allow_origins(app: Starlette, origins: list[str]) -> None:
    """Let pages from `origins` call the API from a browser (CINEMA_CORS_ORIGINS).

    Tokens travel in the Authorization header, never in cookies: no credentials mode.
    """
    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["authorization", "content-type", REQUEST_ID_HEADER],
        expose_headers=[REQUEST_ID_HEADER, "retry-after"],
        max_age=600,
    )
