"""Small servicers behind the gateway in tests: they record what reached them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf import duration_pb2
from google.protobuf.any_pb2 import Any as AnyProto
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from cinema.auth.v1 import auth_pb2, auth_pb2_grpc
from cinema.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from cinema.likes.v1 import likes_pb2, likes_pb2_grpc
from cinema.recommendations.v1 import recommendations_pb2, recommendations_pb2_grpc

#: The one access token the test servicers' GetMe accepts.
GOOD_TOKEN = "token-of-ann"


@dataclass
class Received:
    """The last request and metadata each RPC saw, by method name."""

    requests: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, dict[str, str]] = field(default_factory=dict)
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)

    def record(self, method: str, request: Message, context: Any) -> None:
        self.requests[method] = request
        self.metadata[method] = {key: value for key, value in context.invocation_metadata()}


async def abort_with_details(context: Any, code: int, message: str, *details: Message) -> None:
    packed = []
    for detail in details:
        wrapped = AnyProto()
        wrapped.Pack(detail)
        packed.append(wrapped)
    status = status_pb2.Status(code=code, message=message, details=packed)
    await context.abort_with_status(rpc_status.to_status(status))


class Catalog(catalog_pb2_grpc.CatalogServiceServicer):
    def __init__(self, received: Received) -> None:
        self.received = received

    async def GetFilm(self, request: Any, context: Any) -> Any:
        self.received.record("GetFilm", request, context)
        if request.film_id == "missing":
            await context.abort(grpc.StatusCode.NOT_FOUND, f"film {request.film_id} not found")
        if request.film_id == "crash":
            raise RuntimeError("password=hunter2 in /srv/catalog/store.py")
        film = catalog_pb2.Film(id=request.film_id, title="Solaris", year=1972)
        return catalog_pb2.GetFilmResponse(film=film)

    async def SearchFilms(self, request: Any, context: Any) -> Any:
        self.received.record("SearchFilms", request, context)
        return catalog_pb2.SearchFilmsResponse(
            films=[catalog_pb2.FilmSummary(id="f1", title="Stalker")], total_size=1
        )

    async def BatchGetFilms(self, request: Any, context: Any) -> Any:
        self.received.record("BatchGetFilms", request, context)
        return catalog_pb2.BatchGetFilmsResponse(missing_ids=request.film_ids)

    async def ListFilms(self, request: Any, context: Any) -> Any:
        retry = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=2, nanos=1))
        await abort_with_details(context, code_pb2.RESOURCE_EXHAUSTED, "slow down", retry)

    async def MatchTitles(self, request: Any, context: Any) -> Any:
        self.received.record("MatchTitles", request, context)
        if not request.queries:
            violation = error_details_pb2.BadRequest.FieldViolation(
                field="queries", description="at least one title is required"
            )
            bad_request = error_details_pb2.BadRequest(field_violations=[violation])
            await abort_with_details(
                context, code_pb2.INVALID_ARGUMENT, "no titles to match", bad_request
            )
        return catalog_pb2.MatchTitlesResponse(
            matches=[
                catalog_pb2.TitleMatch(query=query, matched=False) for query in request.queries
            ]
        )


class Auth(auth_pb2_grpc.AuthServiceServicer):
    def __init__(self, received: Received) -> None:
        self.received = received

    async def Register(self, request: Any, context: Any) -> Any:
        self.received.record("Register", request, context)
        return auth_pb2.RegisterResponse(
            user=auth_pb2.User(id="u1", login=request.login, roles=[auth_pb2.ROLE_USER])
        )

    async def GetMe(self, request: Any, context: Any) -> Any:
        self.received.record("GetMe", request, context)
        if self.received.metadata["GetMe"].get("authorization") != f"Bearer {GOOD_TOKEN}":
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "invalid access token")
        return auth_pb2.GetMeResponse(user=auth_pb2.User(id="u1", login="ann"))

    async def Logout(self, request: Any, context: Any) -> Any:
        """Answers like session cookie mode, plus metadata that must not become a header."""
        self.received.record("Logout", request, context)
        await context.send_initial_metadata(
            (("set-cookie", "__Host-cinema_refresh=; Max-Age=0"), ("x-internal", "secret"))
        )
        return auth_pb2.LogoutResponse()

    async def GetJwks(self, request: Any, context: Any) -> Any:
        self.received.record("GetJwks", request, context)
        return auth_pb2.GetJwksResponse(keys=[auth_pb2.Jwk(kty="OKP", crv="Ed25519", kid="k1")])


class Likes(likes_pb2_grpc.LikesServiceServicer):
    def __init__(self, received: Received) -> None:
        self.received = received

    async def RateFilm(self, request: Any, context: Any) -> Any:
        self.received.record("RateFilm", request, context)
        rating = likes_pb2.FilmRating(film_id=request.film_id, rating=request.rating)
        return likes_pb2.RateFilmResponse(rating=rating, changed=True)


class Recommendations(recommendations_pb2_grpc.RecommendationServiceServicer):
    """Streams `page_size` updates; 13 fails after the first; 100 and more go slowly.

    Like the real service, it refuses a caller without a token and a negative page size
    before the first update.
    """

    def __init__(self, received: Received) -> None:
        self.received = received

    async def WatchMyRecommendations(self, request: Any, context: Any) -> AsyncIterator[Any]:
        self.received.record("WatchMyRecommendations", request, context)
        if "authorization" not in self.received.metadata["WatchMyRecommendations"]:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing access token")
        if request.page_size < 0:
            violation = error_details_pb2.BadRequest.FieldViolation(
                field="page_size", description="must not be negative"
            )
            bad_request = error_details_pb2.BadRequest(field_violations=[violation])
            await abort_with_details(
                context, code_pb2.INVALID_ARGUMENT, "page_size: must not be negative", bad_request
            )
        try:
            for number in range(request.page_size):
                if number == 1 and request.page_size == 13:
                    await context.abort(grpc.StatusCode.UNAVAILABLE, "engine restarting")
                if request.page_size >= 100:
                    await asyncio.sleep(0.05)
                film = catalog_pb2.FilmSummary(id=f"f{number}", title=f"Film {number}")
                yield recommendations_pb2.WatchMyRecommendationsResponse(
                    items=[recommendations_pb2.Recommendation(film=film, score=1.0 / (number + 1))]
                )
        except asyncio.CancelledError:
            self.received.cancelled.set()
            raise


async def start_server(received: Received) -> tuple[grpc.aio.Server, str]:
    server = grpc.aio.server()
    # The servicers implement only what the tests call; the rest answer UNIMPLEMENTED.
    catalog = Catalog(received)  # type: ignore[abstract]
    auth = Auth(received)  # type: ignore[abstract]
    likes = Likes(received)  # type: ignore[abstract]
    recommendations = Recommendations(received)  # type: ignore[abstract]
    catalog_pb2_grpc.add_CatalogServiceServicer_to_server(catalog, server)
    auth_pb2_grpc.add_AuthServiceServicer_to_server(auth, server)
    likes_pb2_grpc.add_LikesServiceServicer_to_server(likes, server)
    recommendations_pb2_grpc.add_RecommendationServiceServicer_to_server(recommendations, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, f"127.0.0.1:{port}"


def sse_events(text: str) -> list[tuple[str, object]]:
    """The (event, data) pairs of a server-sent event stream's text."""
    events = []
    for block in text.replace("\r\n", "\n").strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in fields:
            events.append((fields.get("event", "message"), json.loads(fields["data"])))
    return events
