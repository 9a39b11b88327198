"""Who may call what: every RPC from the descriptors against every kind of credential.

The expected rule of each RPC is written here, once; an RPC the services declare but
this table does not name fails the suite until someone decides who may call it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message_factory import GetMessageClass

from gateway.discovery import discover_services
from services.auth import service as auth
from services.catalog import service as catalog
from services.kit import clients
from services.kit.interceptors import Access, AccessPolicy
from services.kit.keyring import AccessTokenRules
from services.likes import service as likes
from services.recommendations import service as recommendations
from services.stack import SERVICES, Stack
from tests.fixtures.stack import embedded_settings, mint_token

P, U, S, A = Access.PUBLIC, Access.USER, Access.SERVICE, Access.ADMIN
RULES: dict[str, Access] = {
    "cinema.auth.v1.AuthService.Register": P,
    "cinema.auth.v1.AuthService.Login": P,
    "cinema.auth.v1.AuthService.Refresh": P,
    "cinema.auth.v1.AuthService.Logout": P,
    "cinema.auth.v1.AuthService.GetJwks": P,
    "cinema.auth.v1.AuthService.GetMe": U,
    "cinema.auth.v1.AuthService.ListLoginHistory": U,
    "cinema.catalog.v1.CatalogService.GetFilm": P,
    "cinema.catalog.v1.CatalogService.ListFilms": P,
    "cinema.catalog.v1.CatalogService.SearchFilms": P,
    "cinema.catalog.v1.CatalogService.BatchGetFilms": P,
    "cinema.catalog.v1.CatalogService.MatchTitles": P,
    "cinema.catalog.v1.CatalogService.ListGenres": P,
    "cinema.catalog.v1.CatalogService.GetPerson": P,
    "cinema.catalog.v1.CatalogService.SearchPersons": P,
    "cinema.likes.v1.LikesService.RateFilm": U,
    "cinema.likes.v1.LikesService.ClearRating": U,
    "cinema.likes.v1.LikesService.ExcludeFilm": U,
    "cinema.likes.v1.LikesService.IncludeFilm": U,
    "cinema.likes.v1.LikesService.RequestMoreLikeThis": U,
    "cinema.likes.v1.LikesService.ListMyRatings": U,
    "cinema.likes.v1.LikesService.BatchGetMyRatings": U,
    "cinema.likes.v1.LikesService.ListMyExclusions": U,
    "cinema.likes.v1.LikesService.GetFilmStats": P,
    "cinema.likes.v1.LikesService.StreamEvents": S,
    "cinema.recommendations.v1.RecommendationService.GetMyRecommendations": U,
    "cinema.recommendations.v1.RecommendationService.GetSimilarFilms": P,
    "cinema.recommendations.v1.RecommendationService.RefreshMyRecommendations": U,
    "cinema.recommendations.v1.RecommendationService.WatchMyRecommendations": U,
    "cinema.recommendations.v1.RecommendationService.StreamRefreshes": S,
    "cinema.recommendations.v1.RecommendationService.GetOperatorStats": A,
}
METHODS = [method for service in discover_services() for method in service.methods]
REFUSED = {grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED}


def _path(method: MethodDescriptor) -> str:
    return f"/{method.containing_service.full_name}/{method.name}"


def _b64(value: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


@pytest.fixture(scope="module")
async def matrix_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    data_dir = tmp_path_factory.mktemp("access-matrix") / "data"
    running = Stack(embedded_settings(data_dir), SERVICES, gateway=False)
    await running.start()
    yield running
    await running.stop()


def _signed_by_us(stack: Stack, *, audience: str | None = None, issuer: str | None = None) -> str:
    settings = stack.settings
    rules = AccessTokenRules(
        issuer or settings.mesh.jwt_issuer,
        audience or settings.mesh.jwt_audience,
        timedelta(minutes=5),
    )
    token, _ = stack.runtime.keys.issue_access_token("user-1", ["user"], rules, datetime.now(UTC))
    return token


def _alg_none(stack: Stack) -> str:
    real = mint_token(stack)
    header = jwt.get_unverified_header(real)
    claims = jwt.decode(real, options={"verify_signature": False})
    return f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': header['kid']})}.{_b64(claims)}."


def _foreign_key_known_kid(stack: Stack) -> str:
    real = mint_token(stack, roles=("user", "service"))
    kid = jwt.get_unverified_header(real)["kid"]
    claims = jwt.decode(real, options={"verify_signature": False})
    return jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": kid})


#: Credentials that must never get past the door of a non-public RPC.
FORGED: dict[str, Callable[[Stack], str]] = {
    "garbage": lambda _: "Bearer not-a-jwt",
    "not bearer": lambda stack: f"Basic {mint_token(stack)}",
    "empty bearer": lambda _: "Bearer ",
    "expired": lambda stack: (
        "Bearer " + mint_token(stack, now=datetime.now(UTC) - timedelta(hours=1))
    ),
    "alg none": lambda stack: f"Bearer {_alg_none(stack)}",
    "foreign key under a known kid": lambda stack: f"Bearer {_foreign_key_known_kid(stack)}",
    "wrong audience": lambda stack: f"Bearer {_signed_by_us(stack, audience='someone-else')}",
    "wrong issuer": lambda stack: f"Bearer {_signed_by_us(stack, issuer='https://evil.test')}",
}


async def _code(stack: Stack, method: MethodDescriptor, header: str | None) -> grpc.StatusCode:
    request = GetMessageClass(method.input_type)().SerializeToString()
    identity: Callable[[bytes], bytes] = lambda raw: raw  # noqa: E731
    metadata = (("authorization", header),) if header is not None else None
    async with clients.channel(stack.grpc_address) as channel:
        path = _path(method)
        try:
            if method.client_streaming:
                call = channel.stream_stream(path, identity, identity)(
                    iter([request]), timeout=2, metadata=metadata
                )
                await call.read()
            elif method.server_streaming:
                stream = channel.unary_stream(path, identity, identity)(
                    request, timeout=2, metadata=metadata
                )
                await stream.read()
            else:
                await channel.unary_unary(path, identity, identity)(
                    request, timeout=10, metadata=metadata
                )
        except grpc.aio.AioRpcError as error:
            if method.server_streaming and error.code() is grpc.StatusCode.DEADLINE_EXCEEDED:
                return grpc.StatusCode.OK  # it let us in and is waiting for news
            return error.code()
    return grpc.StatusCode.OK


def test_every_rpc_has_an_access_rule() -> None:
    declared = {method.full_name for method in METHODS}
    assert declared - RULES.keys() == set(), "RPCs with no access rule in this table"
    assert RULES.keys() - declared == set(), "rules for RPCs the services no longer declare"


def test_the_services_enforce_the_rules_of_this_table() -> None:
    modules = (auth, catalog, likes, recommendations)
    assert {module.__name__.split(".")[1] for module in modules} == set(SERVICES)
    policy = AccessPolicy.merge(module.ACCESS for module in modules)
    for method in METHODS:
        assert policy.access(_path(method)) is RULES[method.full_name], method.full_name


async def test_no_token_reaches_only_public_rpcs(matrix_stack: Stack) -> None:
    wrong = {}
    for method in METHODS:
        code = await _code(matrix_stack, method, None)
        expected_refused = RULES[method.full_name] is not Access.PUBLIC
        if (code is grpc.StatusCode.UNAUTHENTICATED) != expected_refused:
            wrong[method.full_name] = code.name
    assert wrong == {}


@pytest.mark.parametrize("forgery", list(FORGED))
async def test_a_forged_credential_opens_nothing(matrix_stack: Stack, forgery: str) -> None:
    header = FORGED[forgery](matrix_stack)
    wrong = {}
    for method in METHODS:
        code = await _code(matrix_stack, method, header)
        if RULES[method.full_name] is Access.PUBLIC:
            # A public RPC ignores a bad token: it answers as it does to no token.
            baseline = await _code(matrix_stack, method, None)
            if code is not baseline:
                wrong[method.full_name] = f"{code.name}, without a token {baseline.name}"
        elif code is not grpc.StatusCode.UNAUTHENTICATED:
            wrong[method.full_name] = code.name
    assert wrong == {}


async def test_a_user_token_opens_user_rpcs_and_no_internal_one(matrix_stack: Stack) -> None:
    header = f"Bearer {mint_token(matrix_stack)}"
    wrong = {}
    for method in METHODS:
        code = await _code(matrix_stack, method, header)
        if RULES[method.full_name] in (Access.SERVICE, Access.ADMIN):
            if code is not grpc.StatusCode.PERMISSION_DENIED:
                wrong[method.full_name] = code.name
        elif code in REFUSED:
            wrong[method.full_name] = code.name
    assert wrong == {}


async def test_a_service_token_opens_every_rpc_but_the_operators(matrix_stack: Stack) -> None:
    header = f"Bearer {mint_token(matrix_stack, user_id='service:probe', roles=('service',))}"
    wrong = {}
    for method in METHODS:
        code = await _code(matrix_stack, method, header)
        if RULES[method.full_name] is Access.ADMIN:
            if code is not grpc.StatusCode.PERMISSION_DENIED:
                wrong[method.full_name] = code.name
        elif code in REFUSED:
            wrong[method.full_name] = code.name
    assert wrong == {}


async def test_an_admin_token_opens_the_operators_rpcs_and_no_internal_one(
    matrix_stack: Stack,
) -> None:
    header = f"Bearer {mint_token(matrix_stack, user_id='ops-1', roles=('user', 'admin'))}"
    wrong = {}
    for method in METHODS:
        code = await _code(matrix_stack, method, header)
        if RULES[method.full_name] is Access.SERVICE:
            if code is not grpc.StatusCode.PERMISSION_DENIED:
                wrong[method.full_name] = code.name
        elif code in REFUSED:
            wrong[method.full_name] = code.name
    assert wrong == {}
