"""Session cookie mode of AuthService over a real socket, on SQLite and on PostgreSQL: the
refresh token travels in `set-cookie` / `cookie` metadata, never in the body."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from cinema.auth.v1 import auth_pb2, auth_pb2_grpc
from services.auth import session_cookie

PASSWORD = "correct horse battery"
COOKIE = session_cookie.NAME


async def _answer(call: Any) -> tuple[Any, dict[str, str]]:
    """The reply of a unary call and its initial metadata."""
    reply = await call
    metadata = {key: value for key, value in await call.initial_metadata()}
    return reply, metadata


def _token_in(set_cookie: str) -> str:
    """The refresh token a `set-cookie` value keeps, after checking its attributes."""
    first, *attributes = [part.strip() for part in set_cookie.split(";")]
    name, _, value = first.partition("=")
    assert name == COOKIE
    assert {"Path=/", "Secure", "HttpOnly", "SameSite=Strict"} <= set(attributes)
    assert not any(attribute.lower().startswith("domain") for attribute in attributes)
    return value


def _cookie(token: str) -> tuple[tuple[str, str], ...]:
    return (("cookie", f"theme=dark; {COOKIE}={token}; lang=ru"),)


async def _log_in(auth: auth_pb2_grpc.AuthServiceStub, login: str) -> tuple[str, str]:
    """Registers `login` and logs in in cookie mode: (the access token, the cookie's token)."""
    await auth.Register(auth_pb2.RegisterRequest(login=login, password=PASSWORD))
    reply, metadata = await _answer(
        auth.Login(auth_pb2.LoginRequest(login=login, password=PASSWORD, session_cookie=True))
    )
    assert reply.tokens.access_token and reply.tokens.refresh_token == ""
    assert reply.tokens.refresh_token_expire_time.seconds > 0
    return reply.tokens.access_token, _token_in(metadata["set-cookie"])


async def _fails(call: Any, code: grpc.StatusCode) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    assert raised.value.code() == code, raised.value.details()
    details: str = raised.value.details() or ""
    assert "Traceback" not in details
    return details


async def test_the_cookie_alone_refreshes_and_rotates(auth: auth_pb2_grpc.AuthServiceStub) -> None:
    _, first = await _log_in(auth, "carol")
    reply, metadata = await _answer(
        auth.Refresh(auth_pb2.RefreshRequest(session_cookie=True), metadata=_cookie(first))
    )
    assert reply.tokens.access_token and reply.tokens.refresh_token == ""
    second = _token_in(metadata["set-cookie"])
    assert second != first
    # The rotated token works from the body too: one family, two ways to present it.
    again = await auth.Refresh(auth_pb2.RefreshRequest(refresh_token=second))
    assert again.tokens.refresh_token


async def test_a_spent_cookie_token_is_refused_and_revokes_its_family(
    auth: auth_pb2_grpc.AuthServiceStub,
) -> None:
    _, spent = await _log_in(auth, "dave")
    _, metadata = await _answer(
        auth.Refresh(auth_pb2.RefreshRequest(session_cookie=True), metadata=_cookie(spent))
    )
    current = _token_in(metadata["set-cookie"])
    replay = auth.Refresh(auth_pb2.RefreshRequest(session_cookie=True), metadata=_cookie(spent))
    await _fails(replay, grpc.StatusCode.UNAUTHENTICATED)
    after = auth.Refresh(auth_pb2.RefreshRequest(session_cookie=True), metadata=_cookie(current))
    await _fails(after, grpc.StatusCode.UNAUTHENTICATED)


async def test_logout_clears_the_cookie_and_ends_the_session(
    auth: auth_pb2_grpc.AuthServiceStub,
) -> None:
    _, token = await _log_in(auth, "erin")
    _, metadata = await _answer(
        auth.Logout(auth_pb2.LogoutRequest(session_cookie=True), metadata=_cookie(token))
    )
    cleared = metadata["set-cookie"]
    assert _token_in(cleared) == "" and "Max-Age=0" in cleared
    refused = auth.Refresh(auth_pb2.RefreshRequest(session_cookie=True), metadata=_cookie(token))
    await _fails(refused, grpc.StatusCode.UNAUTHENTICATED)
    # Idempotent: without a cookie, or with a broken one, it still only clears it.
    for metadata_sent in ((), (("cookie", f"{COOKIE}=%%%"),)):
        _, again = await _answer(
            auth.Logout(auth_pb2.LogoutRequest(session_cookie=True), metadata=metadata_sent)
        )
        assert "Max-Age=0" in again["set-cookie"]


@pytest.mark.parametrize(
    ("cookie", "says"),
    [
        ("", "missing"),
        ("theme=dark; lang=ru", "missing"),
        (f"{COOKIE}", "malformed"),
        (f"{COOKIE}=", "malformed"),
        (f"{COOKIE}=not a token;", "malformed"),
        (f"{COOKIE}={'x' * 4000}", "malformed"),
        (f"{COOKIE}=<script>alert(1)</script>", "malformed"),
    ],
)
async def test_a_missing_or_malformed_cookie_is_unauthenticated_and_says_so(
    auth: auth_pb2_grpc.AuthServiceStub, cookie: str, says: str
) -> None:
    metadata = (("cookie", cookie),) if cookie else ()
    call = auth.Refresh(auth_pb2.RefreshRequest(session_cookie=True), metadata=metadata)
    details = await _fails(call, grpc.StatusCode.UNAUTHENTICATED)
    assert COOKIE in details and says in details


async def test_an_unknown_cookie_token_is_unauthenticated(
    auth: auth_pb2_grpc.AuthServiceStub,
) -> None:
    call = auth.Refresh(auth_pb2.RefreshRequest(session_cookie=True), metadata=_cookie("A" * 43))
    await _fails(call, grpc.StatusCode.UNAUTHENTICATED)


async def test_without_cookie_mode_the_cookie_is_ignored_and_the_body_rules(
    auth: auth_pb2_grpc.AuthServiceStub,
) -> None:
    _, token = await _log_in(auth, "frank")
    # A caller that did not ask for cookie mode gets nothing from a cookie it sends.
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await auth.Refresh(auth_pb2.RefreshRequest(), metadata=_cookie(token))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "refresh_token" in (raised.value.details() or "")
    # Login without cookie mode: the token in the body, no cookie set.
    reply, metadata = await _answer(
        auth.Login(auth_pb2.LoginRequest(login="frank", password=PASSWORD))
    )
    assert reply.tokens.refresh_token and "set-cookie" not in metadata
