"""The refresh token as a web page's session cookie: what to set, what to clear, what was sent.

A page asks for it (``session_cookie: true``), so that its script never holds the refresh
token: the browser keeps it, sends it back only to this origin, and lets no script read it.

* ``__Host-``: the browser takes it only with ``Secure``, ``Path=/`` and no ``Domain``, so
  no other host (a sibling subdomain) can plant or overwrite it.
* ``HttpOnly``: no script, ours or injected, reads it.
* ``SameSite=Strict``: no request started by another site carries it.

Pure functions; the servicer passes the ``cookie`` metadata in and the ``set-cookie``
metadata out (the REST edges turn them into HTTP headers and back).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from email.utils import format_datetime

from services.kit.errors import Unauthenticated

NAME = "__Host-cinema_refresh"
#: What a refresh token looks like (``secrets.token_urlsafe``); anything else is not ours.
_VALUE = re.compile(r"[A-Za-z0-9_-]{16,128}")
_ATTRIBUTES = "Path=/; Secure; HttpOnly; SameSite=Strict"
NO_COOKIE = f"no session: the {NAME} cookie is missing; log in again"
BAD_COOKIE = f"the {NAME} cookie is malformed; log in again"


def set_cookie(refresh_token: str, expires_at: datetime) -> str:
    """The ``set-cookie`` value that keeps ``refresh_token`` until it expires."""
    expires = format_datetime(expires_at, usegmt=True)
    return f"{NAME}={refresh_token}; Expires={expires}; {_ATTRIBUTES}"


def clear_cookie() -> str:
    """The ``set-cookie`` value that makes the browser drop the cookie at once."""
    return f"{NAME}=; Max-Age=0; {_ATTRIBUTES}"


def sent_token(cookie_headers: Iterable[str]) -> str | None:
    """The refresh token in the request's ``cookie`` headers; None when there is none.

    Other cookies of the origin are ignored; our cookie with a value that cannot be a token
    is UNAUTHENTICATED (the session cannot go on, and the answer says why).
    """
    for header in cookie_headers:
        for pair in header.split(";"):
            name, equals, value = pair.strip().partition("=")
            if name != NAME:
                continue
            value = value.strip().strip('"')
            if not equals or not _VALUE.fullmatch(value):
                raise Unauthenticated(BAD_COOKIE)
            return value
    return None


def required_token(cookie_headers: Iterable[str]) -> str:
    """The refresh token in the cookie; UNAUTHENTICATED when there is none."""
    token = sent_token(cookie_headers)
    if token is None:
        raise Unauthenticated(NO_COOKIE)
    return token
