"""AuthService over a real socket, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio

import grpc
import jwt
import pytest
import structlog
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from cinema.auth.v1 import auth_pb2, auth_pb2_grpc
from tests.auth.conftest import StartStack, register_and_login
from tests.fixtures.stack import bearer

PASSWORD = "correct horse battery"


async def _fails(call: object, code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call  # type: ignore[misc]
    assert raised.value.code() == code, raised.value.details()
    return raised.value


def _violated_fields(error: grpc.aio.AioRpcError) -> set[str]:
    status = rpc_status.from_call(error)
    assert status is not None
    fields: set[str] = set()
    for detail in status.details:
        bad_request = error_details_pb2.BadRequest()
        if detail.Unpack(bad_request):
            fields |= {violation.field for violation in bad_request.field_violations}
    return fields


async def test_registered_user_logs_in_and_sees_themselves(
    auth: auth_pb2_grpc.AuthServiceStub,
) -> None:
    registered = await auth.Register(
        auth_pb2.RegisterRequest(login="Alice", password=PASSWORD, email="alice@example.com")
    )
    assert registered.user.roles == [auth_pb2.ROLE_USER]
    login = await auth.Login(auth_pb2.LoginRequest(login="alice", password=PASSWORD))
    assert login.tokens.token_type == "Bearer" and login.tokens.refresh_token
    claims = jwt.decode(login.tokens.access_token, options={"verify_signature": False})
    assert claims["sub"] == registered.user.id and claims["roles"] == ["user"]
    me = await auth.GetMe(auth_pb2.GetMeRequest(), metadata=bearer(login.tokens.access_token))
    assert me.user.login == "Alice" and me.user.email == "alice@example.com"
    assert "password" not in str(me).lower() and PASSWORD not in str(me)


async def test_duplicate_login_already_exists_case_insensitively(
    auth: auth_pb2_grpc.AuthServiceStub,
) -> None:
    await auth.Register(auth_pb2.RegisterRequest(login="bob", password=PASSWORD))
    again = auth.Register(auth_pb2.RegisterRequest(login="BOB", password=PASSWORD))
    await _fails(again, grpc.StatusCode.ALREADY_EXISTS)


@pytest.mark.parametrize(
    ("request_", "fields"),
    [
        (auth_pb2.RegisterRequest(login="ab", password=PASSWORD), {"login"}),
        (auth_pb2.RegisterRequest(login="has space", password=PASSWORD), {"login"}),
        (auth_pb2.RegisterRequest(login="carol", password="short"), {"password"}),
        (auth_pb2.RegisterRequest(login="carol1234", password="CAROL1234"), {"password"}),
        (auth_pb2.RegisterRequest(login="carol", password=PASSWORD, email="nope"), {"email"}),
        (auth_pb2.RegisterRequest(login="", password=""), {"login", "password"}),
    ],
)
async def test_invalid_registration_names_each_wrong_field(
    auth: auth_pb2_grpc.AuthServiceStub, request_: auth_pb2.RegisterRequest, fields: set[str]
) -> None:
    error = await _fails(auth.Register(request_), grpc.StatusCode.INVALID_ARGUMENT)
    assert _violated_fields(error) == fields


async def test_wrong_password_and_unknown_login_get_the_same_answer(
    auth: auth_pb2_grpc.AuthServiceStub,
) -> None:
    await auth.Register(auth_pb2.RegisterRequest(login="dave", password=PASSWORD))
    wrong_password = await _fails(
        auth.Login(auth_pb2.LoginRequest(login="dave", password="not the password")),
        grpc.StatusCode.UNAUTHENTICATED,
    )
    unknown_login = await _fails(
        auth.Login(auth_pb2.LoginRequest(login="nobody", password=PASSWORD)),
        grpc.StatusCode.UNAUTHENTICATED,
    )
    assert wrong_password.details() == unknown_login.details()


async def test_refresh_rotates_the_refresh_token(auth: auth_pb2_grpc.AuthServiceStub) -> None:
    first = (await register_and_login(auth)).tokens
    second = (await auth.Refresh(auth_pb2.RefreshRequest(refresh_token=first.refresh_token))).tokens
    assert second.refresh_token != first.refresh_token
    third = await auth.Refresh(auth_pb2.RefreshRequest(refresh_token=second.refresh_token))
    assert third.tokens.access_token


async def test_refresh_token_reuse_revokes_family(auth: auth_pb2_grpc.AuthServiceStub) -> None:
    stolen = (await register_and_login(auth)).tokens.refresh_token
    legitimate = (await auth.Refresh(auth_pb2.RefreshRequest(refresh_token=stolen))).tokens
    # The thief replays the spent token: the whole family dies, the owner's too.
    with structlog.testing.capture_logs() as logged:
        await _fails(
            auth.Refresh(auth_pb2.RefreshRequest(refresh_token=stolen)),
            grpc.StatusCode.UNAUTHENTICATED,
        )
    await _fails(
        auth.Refresh(auth_pb2.RefreshRequest(refresh_token=legitimate.refresh_token)),
        grpc.StatusCode.UNAUTHENTICATED,
    )
    (event,) = [entry for entry in logged if entry["event"] == "refresh_token_reuse"]
    assert event["log_level"] == "warning" and event["family_id"]


async def test_concurrent_use_of_one_refresh_token_yields_at_most_one_pair(
    auth: auth_pb2_grpc.AuthServiceStub,
) -> None:
    token = (await register_and_login(auth)).tokens.refresh_token
    results = await asyncio.gather(
        *(auth.Refresh(auth_pb2.RefreshRequest(refresh_token=token)) for _ in range(5)),
        return_exceptions=True,
    )
    winners = [r for r in results if isinstance(r, auth_pb2.RefreshResponse)]
    losers = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(winners) <= 1 and len(winners) + len(losers) == 5
    assert all(loser.code() == grpc.StatusCode.UNAUTHENTICATED for loser in losers)


async def test_logout_revokes_the_refresh_token_and_is_idempotent(
    auth: auth_pb2_grpc.AuthServiceStub,
) -> None:
    tokens = (await register_and_login(auth)).tokens
    await auth.Logout(auth_pb2.LogoutRequest(refresh_token=tokens.refresh_token))
    await auth.Logout(auth_pb2.LogoutRequest(refresh_token=tokens.refresh_token))
    await auth.Logout(auth_pb2.LogoutRequest(refresh_token="never-issued"))
    await _fails(
        auth.Refresh(auth_pb2.RefreshRequest(refresh_token=tokens.refresh_token)),
        grpc.StatusCode.UNAUTHENTICATED,
    )


async def test_empty_refresh_token_names_the_field(auth: auth_pb2_grpc.AuthServiceStub) -> None:
    error = await _fails(auth.Refresh(auth_pb2.RefreshRequest()), grpc.StatusCode.INVALID_ARGUMENT)
    assert _violated_fields(error) == {"refresh_token"}


async def test_login_history_is_the_callers_own_newest_first_and_paged(
    auth: auth_pb2_grpc.AuthServiceStub,
) -> None:
    alice = await register_and_login(auth, "alice")
    for agent in ("agent-1", "agent-2"):
        await auth.Login(
            auth_pb2.LoginRequest(login="alice", password=PASSWORD),
            metadata=(("x-forwarded-user-agent", agent),),
        )
    bob = await register_and_login(auth, "bob")
    # The request has no user field: a caller can only ever name themselves.
    assert [f.name for f in auth_pb2.ListLoginHistoryRequest.DESCRIPTOR.fields] == [
        "page_size",
        "page_token",
    ]
    first = await auth.ListLoginHistory(
        auth_pb2.ListLoginHistoryRequest(page_size=2), metadata=bearer(alice.tokens.access_token)
    )
    assert [event.user_agent for event in first.events] == ["agent-2", "agent-1"]
    assert first.events[0].peer_address == "127.0.0.1" and first.next_page_token
    rest = await auth.ListLoginHistory(
        auth_pb2.ListLoginHistoryRequest(page_size=2, page_token=first.next_page_token),
        metadata=bearer(alice.tokens.access_token),
    )
    assert [event.peer_address for event in rest.events] == ["127.0.0.1"]
    assert not rest.next_page_token
    bobs = await auth.ListLoginHistory(
        auth_pb2.ListLoginHistoryRequest(), metadata=bearer(bob.tokens.access_token)
    )
    assert len(bobs.events) == 1


async def test_login_history_needs_a_token(auth: auth_pb2_grpc.AuthServiceStub) -> None:
    await _fails(
        auth.ListLoginHistory(auth_pb2.ListLoginHistoryRequest()),
        grpc.StatusCode.UNAUTHENTICATED,
    )


async def test_bad_page_arguments_name_the_field(auth: auth_pb2_grpc.AuthServiceStub) -> None:
    token = (await register_and_login(auth)).tokens.access_token
    for request, field in [
        (auth_pb2.ListLoginHistoryRequest(page_size=-1), "page_size"),
        (auth_pb2.ListLoginHistoryRequest(page_token="garbage!"), "page_token"),
    ]:
        error = await _fails(
            auth.ListLoginHistory(request, metadata=bearer(token)),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert _violated_fields(error) == {field}


async def test_failed_logins_are_throttled_per_login(start_stack: StartStack) -> None:
    stack = await start_stack(login_failures_per_login=3)
    async with grpc.aio.insecure_channel(stack.grpc_address) as channel:
        auth = auth_pb2_grpc.AuthServiceStub(channel)
        await auth.Register(auth_pb2.RegisterRequest(login="erin", password=PASSWORD))
        wrong = auth_pb2.LoginRequest(login="erin", password="guess guess")
        for _ in range(3):
            await _fails(auth.Login(wrong), grpc.StatusCode.UNAUTHENTICATED)
        # Even the right password waits now: the guesser must not learn it is right.
        right = auth_pb2.LoginRequest(login="erin", password=PASSWORD)
        error = await _fails(auth.Login(right), grpc.StatusCode.RESOURCE_EXHAUSTED)
        status = rpc_status.from_call(error)
        assert status is not None
        retry = error_details_pb2.RetryInfo()
        assert any(detail.Unpack(retry) for detail in status.details)
        assert 0 < retry.retry_delay.seconds <= 300


async def test_failed_logins_are_throttled_per_address(start_stack: StartStack) -> None:
    stack = await start_stack(login_failures_per_address=3)
    async with grpc.aio.insecure_channel(stack.grpc_address) as channel:
        auth = auth_pb2_grpc.AuthServiceStub(channel)
        for login in ("x1", "x2", "x3"):
            await _fails(
                auth.Login(auth_pb2.LoginRequest(login=f"{login}-user", password="whatever1")),
                grpc.StatusCode.UNAUTHENTICATED,
            )
        await _fails(
            auth.Login(auth_pb2.LoginRequest(login="x4-user", password="whatever1")),
            grpc.StatusCode.RESOURCE_EXHAUSTED,
        )


async def test_accounts_and_keys_survive_a_restart(start_stack: StartStack) -> None:
    first = await start_stack()
    async with grpc.aio.insecure_channel(first.grpc_address) as channel:
        login = await register_and_login(auth_pb2_grpc.AuthServiceStub(channel))
    kid = first.runtime.keys.signing_key.kid
    await first.stop()
    second = await start_stack()
    assert second.runtime.keys.signing_key.kid == kid
    async with grpc.aio.insecure_channel(second.grpc_address) as channel:
        auth = auth_pb2_grpc.AuthServiceStub(channel)
        me = await auth.GetMe(auth_pb2.GetMeRequest(), metadata=bearer(login.tokens.access_token))
        assert me.user.login == "alice"
