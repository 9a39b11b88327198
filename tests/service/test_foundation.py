"""Every service on the embedded stack: health, reflection, and who may call what."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from cinema.auth.v1 import auth_pb2, auth_pb2_grpc
from cinema.likes.v1 import likes_pb2, likes_pb2_grpc
from services.kit import clients
from services.stack import Stack
from tests.fixtures.stack import bearer, mint_token

CINEMA_SERVICES = {
    "cinema.auth.v1.AuthService",
    "cinema.catalog.v1.CatalogService",
    "cinema.likes.v1.LikesService",
    "cinema.recommendations.v1.RecommendationService",
}


async def test_every_service_is_serving_in_health(channel: grpc.aio.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    for service in [*CINEMA_SERVICES, ""]:
        reply = await health.Check(health_pb2.HealthCheckRequest(service=service))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING, service


async def test_reflection_lists_every_service(channel: grpc.aio.Channel) -> None:
    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    async for reply in reflection.ServerReflectionInfo(iter([request])):
        listed = {service.name for service in reply.list_services_response.service}
    assert listed >= CINEMA_SERVICES | {
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    }


async def test_public_rpc_works_without_a_token(channel: grpc.aio.Channel) -> None:
    jwks = await auth_pb2_grpc.AuthServiceStub(channel).GetJwks(auth_pb2.GetJwksRequest())
    assert jwks.keys and all(key.kid and key.alg == "EdDSA" for key in jwks.keys)


async def _rate_film(channel: grpc.aio.Channel, metadata: tuple[tuple[str, str], ...]) -> None:
    stub = likes_pb2_grpc.LikesServiceStub(channel)
    request = likes_pb2.RateFilmRequest(film_id="f1", rating=likes_pb2.RATING_LIKE)
    await stub.RateFilm(request, metadata=metadata)


async def _expect_code(
    channel: grpc.aio.Channel, metadata: tuple[tuple[str, str], ...], code: grpc.StatusCode
) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _rate_film(channel, metadata)
    assert raised.value.code() == code, raised.value.details()
    return raised.value.details() or ""


async def test_call_without_a_token_is_unauthenticated(channel: grpc.aio.Channel) -> None:
    details = await _expect_code(channel, (), grpc.StatusCode.UNAUTHENTICATED)
    assert "Bearer" in details


@pytest.mark.parametrize(
    "header",
    ["Bearer not-a-jwt", "Basic dXNlcjpwYXNz", "Bearer ", "Bearer a.b.c"],
)
async def test_malformed_token_is_unauthenticated(channel: grpc.aio.Channel, header: str) -> None:
    await _expect_code(channel, (("authorization", header),), grpc.StatusCode.UNAUTHENTICATED)


async def test_token_with_a_forged_signature_is_unauthenticated(
    stack: Stack, channel: grpc.aio.Channel
) -> None:
    real_kid = stack.runtime.keys.signing_key.kid
    claims = jwt.decode(mint_token(stack), options={"verify_signature": False})
    forged = jwt.encode(claims, Ed25519PrivateKey.generate(), "EdDSA", headers={"kid": real_kid})
    await _expect_code(channel, bearer(forged), grpc.StatusCode.UNAUTHENTICATED)


async def test_token_signed_by_an_unknown_key_is_unauthenticated(
    stack: Stack, channel: grpc.aio.Channel
) -> None:
    claims = jwt.decode(mint_token(stack), options={"verify_signature": False})
    foreign = jwt.encode(claims, Ed25519PrivateKey.generate(), "EdDSA", headers={"kid": "nope"})
    details = await _expect_code(channel, bearer(foreign), grpc.StatusCode.UNAUTHENTICATED)
    assert "unknown key" in details


async def test_expired_token_is_unauthenticated(stack: Stack, channel: grpc.aio.Channel) -> None:
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    expired = mint_token(stack, ttl=timedelta(minutes=15), now=an_hour_ago)
    details = await _expect_code(channel, bearer(expired), grpc.StatusCode.UNAUTHENTICATED)
    assert "expired" in details


async def test_unsigned_alg_none_token_is_unauthenticated(
    stack: Stack, channel: grpc.aio.Channel
) -> None:
    claims = jwt.decode(mint_token(stack), options={"verify_signature": False})

    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    kid = stack.runtime.keys.signing_key.kid
    unsigned = f"{part({'alg': 'none', 'kid': kid})}.{part(claims)}."
    await _expect_code(channel, bearer(unsigned), grpc.StatusCode.UNAUTHENTICATED)


async def test_valid_token_passes_authentication(stack: Stack, channel: grpc.aio.Channel) -> None:
    # "f1" is not a film id: the likes service itself answers, past authentication.
    await _expect_code(channel, bearer(mint_token(stack)), grpc.StatusCode.INVALID_ARGUMENT)


async def test_internal_rpc_refuses_a_user_token(stack: Stack, channel: grpc.aio.Channel) -> None:
    stub = likes_pb2_grpc.LikesServiceStub(channel)
    stream = stub.StreamEvents(
        likes_pb2.StreamEventsRequest(after_sequence=0), metadata=bearer(mint_token(stack))
    )
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stream.read()
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_internal_rpc_admits_a_service_token(stack: Stack, channel: grpc.aio.Channel) -> None:
    stub = likes_pb2_grpc.LikesServiceStub(channel)
    token = mint_token(stack, user_id="svc-recommendations", roles=("service",))
    request = likes_pb2.StreamEventsRequest(after_sequence=0, replay_only=True)
    stream = stub.StreamEvents(request, metadata=bearer(token))
    assert await stream.read() == grpc.aio.EOF


async def test_kit_channel_presents_its_credential_on_streaming_calls(stack: Stack) -> None:
    token = mint_token(stack, user_id="svc-recommendations", roles=("service",))
    async with clients.channel(stack.grpc_address, token=lambda: token) as channel:
        stub = likes_pb2_grpc.LikesServiceStub(channel)
        request = likes_pb2.StreamEventsRequest(after_sequence=0, replay_only=True)
        assert [event async for event in stub.StreamEvents(request)] == []
