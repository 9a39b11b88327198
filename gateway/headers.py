"""Headers every answer carries: what a browser may do with it, and who may cache it."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.applications import Starlette
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
#: The web page at `/` (gateway.page) is stricter still: it sets its styles through the
#: CSSOM, never in markup, so no inline style either; it calls the API on this origin only.
WEB_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; manifest-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'"
)
#: On every answer (Envoy's config adds them too, with the API policy and `no-store`).
FIXED_HEADERS = {
    "x-content-type-options": "nosniff",
    # URLs may hold a stream ticket: never pass them on to another site.
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}
_FIXED_RAW = tuple((name.encode(), value.encode()) for name, value in FIXED_HEADERS.items())
_CSP = b"content-security-policy"
_PAGE_POLICY_RAW = PAGE_POLICY.encode()
_API_POLICY_RAW = API_POLICY.encode()
_CACHE_CONTROL = b"cache-control"
_NO_STORE = b"no-store"
_CONTENT_TYPE = b"content-type"


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
                message["headers"] = _with_security_headers(message.get("headers", ()))
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _with_security_headers(raw: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """`raw` (ASGI headers, lower-case names) plus each security header it lacks."""
    headers = list(raw)
    present = {name for name, _ in headers}
    headers.extend(item for item in _FIXED_RAW if item[0] not in present)
    if _CSP not in present:
        content_type = next((value for name, value in headers if name == _CONTENT_TYPE), b"")
        html = content_type.startswith(b"text/html")
        headers.append((_CSP, _PAGE_POLICY_RAW if html else _API_POLICY_RAW))
    if _CACHE_CONTROL not in present:
        headers.append((_CACHE_CONTROL, _NO_STORE))
    return headers


#: What a page of an allowed origin (CINEMA_CORS_ORIGINS) may send and read; Envoy's config
#: allows the same (edge/config.py).
CORS_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
CORS_REQUEST_HEADERS = ("authorization", "content-type", REQUEST_ID_HEADER)
CORS_EXPOSED_HEADERS = (REQUEST_ID_HEADER, "retry-after")
CORS_MAX_AGE_SECONDS = 600


def allow_origins(app: Starlette, origins: list[str]) -> None:
    """Let pages from `origins` call the API from a browser (CINEMA_CORS_ORIGINS).

    Access tokens travel in the Authorization header; the session cookie (AuthService's session
    cookie mode) is for the page's own origin only: no credentials mode.
    """
    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_methods=list(CORS_METHODS),
        allow_headers=list(CORS_REQUEST_HEADERS),
        expose_headers=list(CORS_EXPOSED_HEADERS),
        max_age=CORS_MAX_AGE_SECONDS,
    )
