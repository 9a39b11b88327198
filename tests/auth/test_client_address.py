"""Which address a login is recorded (and throttled) under: the caller's own, unless the
call comes through our edge, which alone may say who is behind it (x-forwarded-for)."""

from __future__ import annotations

from pathlib import Path

import grpc
import httpx
import jwt

from cinema.auth.v1 import auth_pb2, auth_pb2_grpc
from services.stack import Stack
from tests.auth.conftest import StartStack
from tests.fixtures.stack import bearer, embedded_settings, mint_token

PASSWORD = "correct horse battery"
FORGED = "203.0.113.7"
Metadata = tuple[tuple[str, str], ...]


async def _recorded_address(stack: Stack, metadata: Metadata) -> str:
    """Registers someone, logs them in over gRPC with ``metadata``, reads the history."""
    async with grpc.aio.insecure_channel(stack.grpc_address) as channel:
        auth = auth_pb2_grpc.AuthServiceStub(channel)
        await auth.Register(auth_pb2.RegisterRequest(login="alice", password=PASSWORD))
        login = await auth.Login(
            auth_pb2.LoginRequest(login="alice", password=PASSWORD), metadata=metadata
        )
        history = await auth.ListLoginHistory(
            auth_pb2.ListLoginHistoryRequest(), metadata=bearer(login.tokens.access_token)
        )
    (event,) = history.events
    return event.peer_address


async def test_forged_forwarded_for_on_a_direct_call_is_not_recorded(
    auth_stack: Stack,
) -> None:
    address = await _recorded_address(auth_stack, (("x-forwarded-for", FORGED),))
    assert address == "127.0.0.1"


async def test_forged_forwarded_for_does_not_escape_the_address_throttle(
    start_stack: StartStack,
) -> None:
    stack = await start_stack(login_failures_per_address=3)
    async with grpc.aio.insecure_channel(stack.grpc_address) as channel:
        auth = auth_pb2_grpc.AuthServiceStub(channel)
        codes = []
        for i in range(4):
            try:
                await auth.Login(
                    auth_pb2.LoginRequest(login=f"user-{i}", password="guess guess"),
                    metadata=(("x-forwarded-for", f"198.51.100.{i}"),),
                )
            except grpc.aio.AioRpcError as error:
                codes.append(error.code())
    assert codes == [grpc.StatusCode.UNAUTHENTICATED] * 3 + [grpc.StatusCode.RESOURCE_EXHAUSTED]


async def test_forwarded_for_is_believed_with_a_service_credential_of_the_edge(
    auth_stack: Stack,
) -> None:
    edge = mint_token(auth_stack, "svc-gateway", roles=("service",))
    metadata = (("x-forwarded-for", FORGED), ("x-cinema-edge", edge))
    assert await _recorded_address(auth_stack, metadata) == FORGED


async def test_a_user_token_or_garbage_is_no_edge_credential(auth_stack: Stack) -> None:
    user = mint_token(auth_stack, "someone", roles=("user", "admin"))
    async with grpc.aio.insecure_channel(auth_stack.grpc_address) as channel:
        auth = auth_pb2_grpc.AuthServiceStub(channel)
        await auth.Register(auth_pb2.RegisterRequest(login="alice", password=PASSWORD))
        for edge in (user, "garbage", ""):
            await auth.Login(
                auth_pb2.LoginRequest(login="alice", password=PASSWORD),
                metadata=(("x-forwarded-for", FORGED), ("x-cinema-edge", edge)),
            )
        login = await auth.Login(auth_pb2.LoginRequest(login="alice", password=PASSWORD))
        history = await auth.ListLoginHistory(
            auth_pb2.ListLoginHistoryRequest(), metadata=bearer(login.tokens.access_token)
        )
    assert {event.peer_address for event in history.events} == {"127.0.0.1"}


async def test_forwarded_for_is_believed_from_a_configured_trusted_proxy(
    start_stack: StartStack,
) -> None:
    stack = await start_stack(trusted_proxies="10.0.0.0/8, 127.0.0.1")
    metadata = (("x-forwarded-for", f"198.51.100.1, {FORGED}"),)
    # The last hop is the one the proxy wrote; the ones before it came from the client.
    assert await _recorded_address(stack, metadata) == FORGED


async def test_through_the_gateway_the_clients_own_address_is_recorded(
    auth_stack: Stack,
) -> None:
    # Another loopback address than the gateway's own, so the two cannot be confused.
    transport = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
    async with httpx.AsyncClient(
        base_url=f"http://{auth_stack.http_address}", transport=transport
    ) as http:
        await http.post("/v1/auth/register", json={"login": "alice", "password": PASSWORD})
        login = await http.post(
            "/v1/auth/login",
            json={"login": "alice", "password": PASSWORD},
            headers={"X-Forwarded-For": FORGED},
        )
        assert login.status_code == 200, login.text
        token = login.json()["tokens"]["accessToken"]
        history = await http.get("/v1/auth/me/logins", headers={"Authorization": f"Bearer {token}"})
    (event,) = history.json()["events"]
    assert event["peerAddress"] == "127.0.0.2"


class _EdgeWitness(auth_pb2_grpc.AuthServiceServicer):
    """An auth server behind the gateway that keeps the edge credentials it is shown."""

    def __init__(self) -> None:
        self.credentials: list[str] = []

    async def Login(
        self, request: auth_pb2.LoginRequest, context: grpc.aio.ServicerContext
    ) -> auth_pb2.LoginResponse:
        metadata = context.invocation_metadata() or ()
        self.credentials += [str(value) for key, value in metadata if key == "x-cinema-edge"]
        return auth_pb2.LoginResponse()


async def test_the_gateway_vouches_for_clients_under_its_own_name(tmp_path: Path) -> None:
    witness = _EdgeWitness()
    server = grpc.aio.server()
    auth_pb2_grpc.add_AuthServiceServicer_to_server(witness, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    # The stack signs the gateway's credential; its gateway forwards logins to the witness.
    settings = embedded_settings(tmp_path / "data", auth_target=f"127.0.0.1:{port}")
    stack = Stack(settings, ("auth",), gateway=True)
    await stack.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://{stack.http_address}") as http:
            login = await http.post("/v1/auth/login", json={"login": "a", "password": PASSWORD})
        assert login.status_code == 200, login.text
    finally:
        await stack.stop()
        await server.stop(None)
    (credential,) = witness.credentials
    claims = jwt.decode(credential, options={"verify_signature": False})
    assert (claims["sub"], claims["roles"]) == ("svc-gateway", ["service"])
