"""Tokens from the auth service as every other service sees them: rejected when forged,
expired or unsigned, accepted across a key rotation, and the service credential."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cinema.auth.v1 import auth_pb2, auth_pb2_grpc
from cinema.likes.v1 import likes_pb2, likes_pb2_grpc
from cinema.recommendations.v1 import recommendations_pb2, recommendations_pb2_grpc
from services.stack import Stack
from tests.auth.conftest import StartStack, register_and_login
from tests.fixtures.stack import bearer

Metadata = tuple[tuple[str, str], ...]
REFUSED = {grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED}


async def _rate_film(channel: grpc.aio.Channel, metadata: Metadata) -> None:
    stub = likes_pb2_grpc.LikesServiceStub(channel)
    await stub.RateFilm(
        likes_pb2.RateFilmRequest(film_id="f1", rating=likes_pb2.RATING_LIKE), metadata=metadata
    )


async def _my_recommendations(channel: grpc.aio.Channel, metadata: Metadata) -> None:
    stub = recommendations_pb2_grpc.RecommendationServiceStub(channel)
    await stub.GetMyRecommendations(
        recommendations_pb2.GetMyRecommendationsRequest(), metadata=metadata
    )


OTHER_SERVICES = [_rate_film, _my_recommendations]


async def _code(call: object) -> grpc.StatusCode:
    try:
        await call  # type: ignore[misc]
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


def _b64(value: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def _forgeries(real_token: str) -> dict[str, str]:
    """The same claims, each time wrong in one way."""
    header = jwt.get_unverified_header(real_token)
    claims = jwt.decode(real_token, options={"verify_signature": False})
    stranger = Ed25519PrivateKey.generate()
    expired = {**claims, "iat": claims["iat"] - 7200, "exp": claims["iat"] - 3600}
    return {
        "unknown_key": jwt.encode(claims, stranger, "EdDSA", headers={"kid": "not-ours"}),
        "alg_none": f"{_b64({'alg': 'none', 'kid': header['kid']})}.{_b64(claims)}.",
        # Re-signed with a stranger's key under our kid: what an expired token would need.
        "expired_and_forged": jwt.encode(expired, stranger, "EdDSA", headers=header),
    }


@pytest.mark.parametrize("call", OTHER_SERVICES, ids=lambda call: call.__name__)
async def test_other_services_reject_forged_and_unsigned_tokens(
    auth: auth_pb2_grpc.AuthServiceStub, auth_channel: grpc.aio.Channel, call: object
) -> None:
    real = (await register_and_login(auth)).tokens.access_token
    assert await _code(call(auth_channel, bearer(real))) not in REFUSED  # type: ignore[operator]
    for name, token in _forgeries(real).items():
        code = await _code(call(auth_channel, bearer(token)))  # type: ignore[operator]
        assert code == grpc.StatusCode.UNAUTHENTICATED, name


class FakeClock:
    """The auth service's idea of now; the other services keep the real clock."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.mark.parametrize("call", OTHER_SERVICES, ids=lambda call: call.__name__)
async def test_other_services_reject_an_expired_token(
    start_stack: StartStack, call: object
) -> None:
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    stack = await start_stack(clock=FakeClock(an_hour_ago), access_token_ttl_seconds=900)
    async with grpc.aio.insecure_channel(stack.grpc_address) as channel:
        expired = (await register_and_login(auth_pb2_grpc.AuthServiceStub(channel))).tokens
        code = await _code(call(channel, bearer(expired.access_token)))  # type: ignore[operator]
        assert code == grpc.StatusCode.UNAUTHENTICATED


async def _published_kids(auth: auth_pb2_grpc.AuthServiceStub) -> set[str]:
    return {key.kid for key in (await auth.GetJwks(auth_pb2.GetJwksRequest())).keys}


async def test_keys_rotate_and_old_tokens_stay_valid_until_they_expire(
    start_stack: StartStack,
) -> None:
    real_now = datetime.now(UTC)
    clock = FakeClock(real_now - timedelta(minutes=61))
    stack = await start_stack(
        clock=clock,
        signing_key_rotation_seconds=3600,
        access_token_ttl_seconds=7200,
        service_token_ttl_seconds=3600,
        jwks_refresh_seconds=0.5,
    )
    async with grpc.aio.insecure_channel(stack.grpc_address) as channel:
        auth = auth_pb2_grpc.AuthServiceStub(channel)
        old = (await register_and_login(auth)).tokens.access_token
        clock.now = real_now  # the old key has signed for an hour: a new one takes over
        new = (
            await auth.Login(auth_pb2.LoginRequest(login="alice", password="correct horse battery"))
        ).tokens.access_token
        old_kid, new_kid = (jwt.get_unverified_header(t)["kid"] for t in (old, new))
        assert old_kid != new_kid
        assert await _published_kids(auth) == {old_kid, new_kid}
        for token in (old, new):
            assert await _code(_rate_film(channel, bearer(token))) not in REFUSED

        # Every token the old key signed has expired (in the auth service's time): it goes.
        clock.now = real_now + timedelta(hours=2, minutes=3)
        published = await _published_kids(auth)
        assert old_kid not in published and new_kid in published
        await asyncio.sleep(1.1)  # past the verifier's refetch floor
        assert await _code(_rate_film(channel, bearer(old))) == grpc.StatusCode.UNAUTHENTICATED


async def _cinema_auth(stack: Stack, *args: str) -> tuple[int, str, str]:
    """Runs `cinema auth ARGS` against the stack's auth store, as an operator would."""
    env = {
        **os.environ,
        "CINEMA_DATA_DIR": str(stack.settings.process.data_dir),
        "CINEMA_AUTH_DSN": stack.settings.auth.auth_dsn,
        "CINEMA_LOG_LEVEL": "WARNING",
    }
    cinema = Path(sys.executable).parent / "cinema"
    process = await asyncio.create_subprocess_exec(
        str(cinema),
        "auth",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    assert process.returncode is not None
    return process.returncode, stdout.decode().strip(), stderr.decode().strip()


async def _issue_service_token(stack: Stack, name: str) -> str:
    code, token, errors = await _cinema_auth(stack, "issue-service-token", "--name", name)
    assert code == 0, errors
    return token


async def _stream_events(channel: grpc.aio.Channel, token: str) -> grpc.StatusCode:
    stream = likes_pb2_grpc.LikesServiceStub(channel).StreamEvents(
        likes_pb2.StreamEventsRequest(after_sequence=0), metadata=bearer(token), timeout=2
    )
    try:
        await stream.read()
    except grpc.aio.AioRpcError as error:
        return error.code()
    stream.cancel()
    return grpc.StatusCode.OK


async def test_service_credential_from_the_cli_reaches_internal_rpcs(
    auth: auth_pb2_grpc.AuthServiceStub, auth_channel: grpc.aio.Channel, auth_stack: Stack
) -> None:
    service_token = await _issue_service_token(auth_stack, "recommendations")
    assert await _stream_events(auth_channel, service_token) not in REFUSED
    me = await auth.GetMe(auth_pb2.GetMeRequest(), metadata=bearer(service_token))
    assert me.user.login == "service:recommendations"
    assert list(me.user.roles) == [auth_pb2.ROLE_SERVICE]


async def test_user_token_is_refused_by_internal_rpcs(
    auth: auth_pb2_grpc.AuthServiceStub, auth_channel: grpc.aio.Channel
) -> None:
    user_token = (await register_and_login(auth)).tokens.access_token
    assert await _stream_events(auth_channel, user_token) == grpc.StatusCode.PERMISSION_DENIED


async def test_service_account_cannot_log_in(
    auth: auth_pb2_grpc.AuthServiceStub, auth_stack: Stack
) -> None:
    await _issue_service_token(auth_stack, "likes")
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await auth.Login(auth_pb2.LoginRequest(login="service:likes", password="anything at all"))
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_an_operator_grants_admin_and_the_next_token_carries_it(
    auth: auth_pb2_grpc.AuthServiceStub, auth_stack: Stack
) -> None:
    await register_and_login(auth)
    code, printed, _ = await _cinema_auth(
        auth_stack, "grant-role", "--login", "alice", "--role", "admin"
    )
    assert (code, printed) == (0, "alice: admin, user")
    fresh = await auth.Login(auth_pb2.LoginRequest(login="alice", password="correct horse battery"))
    me = await auth.GetMe(auth_pb2.GetMeRequest(), metadata=bearer(fresh.tokens.access_token))
    assert set(me.user.roles) == {auth_pb2.ROLE_USER, auth_pb2.ROLE_ADMIN}


async def test_granting_a_role_to_nobody_or_a_service_account_fails_clearly(
    auth_stack: Stack,
) -> None:
    await _issue_service_token(auth_stack, "likes")
    for login in ("nobody", "service:likes"):
        code, _, errors = await _cinema_auth(
            auth_stack, "grant-role", "--login", login, "--role", "admin"
        )
        assert code == 2 and f"no user with login {login!r}" in errors
