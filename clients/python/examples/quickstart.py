"""Cinema API quickstart: sign up, log in, like a film, read the recommendations.

Needs only the `cinema-api` package (pip install cinema-api) and a running Cinema
(`make run` listens for gRPC on 127.0.0.1:50051, every service on that one port):

    python quickstart.py --target 127.0.0.1:50051 --login alice --password 'long enough pw'

In production each service has an address of its own (`make run-prod`: 50061-50064):

    python quickstart.py --auth-target 127.0.0.1:50061 --catalog-target 127.0.0.1:50062 \
        --likes-target 127.0.0.1:50063 --recommendations-target 127.0.0.1:50064

It registers the login (or logs in, when it is taken), finds a film by title, likes it,
watches its recommendations until the personal list replaces the top-rated fallback, then
reads the first pages of the list. A failed call prints its status code, message and
google.rpc details and exits 1.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import uuid
from collections.abc import Iterable

import grpc
from google.rpc import error_details_pb2, status_pb2

from cinema.auth.v1 import auth_pb2, auth_pb2_grpc
from cinema.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from cinema.likes.v1 import likes_pb2, likes_pb2_grpc
from cinema.recommendations.v1 import recommendations_pb2, recommendations_pb2_grpc

Metadata = tuple[tuple[str, str], ...]
SERVICES = ("auth", "catalog", "likes", "recommendations")
SOURCES = {
    recommendations_pb2.SOURCE_COLLABORATIVE: "collaborative",
    recommendations_pb2.SOURCE_CONTENT: "content",
    recommendations_pb2.SOURCE_LLM: "llm",
    recommendations_pb2.SOURCE_POPULAR: "popular",
}


def bearer(access_token: str) -> Metadata:
    """Call metadata that authenticates as the token's user."""
    return (("authorization", f"Bearer {access_token}"),)


def describe(error: grpc.RpcError) -> str:
    """A failed call: its status code and message, and the google.rpc details it carries."""
    # What a stub raises is both an RpcError and a grpc.Call: code, details, trailers.
    lines = [f"{error.code().name}: {error.details()}"]
    for key, value in error.trailing_metadata() or ():
        if key != "grpc-status-details-bin" or not isinstance(value, bytes):
            continue
        for detail in status_pb2.Status.FromString(value).details:
            bad_request, retry = error_details_pb2.BadRequest(), error_details_pb2.RetryInfo()
            if detail.Unpack(bad_request):
                for violation in bad_request.field_violations:
                    lines.append(f"  field {violation.field}: {violation.description}")
            elif detail.Unpack(retry):
                lines.append(f"  retry in {retry.retry_delay.ToTimedelta().total_seconds()} s")
            else:
                lines.append(f"  {detail.type_url}")
    return "\n".join(lines)


def sign_in(channel: grpc.Channel, login: str, password: str) -> auth_pb2.LoginResponse:
    auth = auth_pb2_grpc.AuthServiceStub(channel)
    try:
        user = auth.Register(auth_pb2.RegisterRequest(login=login, password=password)).user
        print(f"registered {user.login} (user {user.id})")
    except grpc.RpcError as error:
        if error.code() != grpc.StatusCode.ALREADY_EXISTS:
            raise
        print(f"{login} is already registered; logging in")
    signed_in = auth.Login(auth_pb2.LoginRequest(login=login, password=password))
    expires = signed_in.tokens.access_token_expire_time.ToJsonString()
    print(f"logged in as {signed_in.user.login}; the access token expires at {expires}")
    return signed_in


def find_film(channel: grpc.Channel, query: str) -> catalog_pb2.FilmSummary:
    catalog = catalog_pb2_grpc.CatalogServiceStub(channel)  # public: no token needed
    found = catalog.SearchFilms(catalog_pb2.SearchFilmsRequest(query=query, page_size=5))
    if not found.films:
        sys.exit(f"no film matches {query!r}")
    film = found.films[0]
    print(f"found {film.title} ({film.year}) {film.id}, best of {found.total_size} matches")
    return film


def show(items: Iterable[recommendations_pb2.Recommendation], start: int = 1) -> int:
    count = start - 1
    for count, item in enumerate(items, start):
        year = f" ({item.film.year})" if item.film.HasField("year") else ""
        sources = ", ".join(SOURCES.get(source, "?") for source in item.sources)
        reason = item.reasons[0].text if item.reasons else ""
        print(f"{count:4}. {item.film.title}{year}  score {item.score:.3f}  [{sources}] {reason}")
    return count


def wait_for_personal_list(channel: grpc.Channel, metadata: Metadata, seconds: float) -> None:
    """Watch the list (a server stream) until it is no longer the top-rated fallback."""
    recommendations = recommendations_pb2_grpc.RecommendationServiceStub(channel)
    request = recommendations_pb2.WatchMyRecommendationsRequest(page_size=5)
    stream = recommendations.WatchMyRecommendations(request, metadata=metadata, timeout=seconds)
    try:
        for update in stream:
            kind = "top-rated fallback" if update.fallback else "personal list"
            computed = update.generate_time.ToJsonString()
            print(f"watch: {kind} of {len(update.items)}, computed {computed}")
            if not update.fallback:
                return
    except grpc.RpcError as error:
        if error.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
            raise
        print(f"watch: still the fallback after {seconds} s")
    finally:
        stream.cancel()  # ends the stream on the server too


def read_pages(channel: grpc.Channel, metadata: Metadata, page_size: int, pages: int) -> int:
    """Up to `pages` pages of the caller's list, following next_page_token; items shown."""
    recommendations = recommendations_pb2_grpc.RecommendationServiceStub(channel)
    request = recommendations_pb2.GetMyRecommendationsRequest(page_size=page_size)
    shown = 0
    for page in range(1, pages + 1):
        response = recommendations.GetMyRecommendations(request, metadata=metadata, timeout=10)
        kind = "top-rated fallback" if response.fallback else "personal"
        print(f"recommendations page {page} ({kind}):")
        shown = show(response.items, start=shown + 1)
        if not response.next_page_token:
            break
        request.page_token = response.next_page_token  # the same request, one page on
    return shown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="127.0.0.1:50051", help="gRPC host:port")
    for service in SERVICES:
        parser.add_argument(
            f"--{service}-target", help=f"the {service} service's host:port (default: --target)"
        )
    parser.add_argument("--login", default=f"quickstart-{uuid.uuid4().hex[:8]}")
    parser.add_argument("--password", default="quickstart password")
    parser.add_argument("--query", default="matrix", help="the film to like, by title")
    parser.add_argument("--page-size", type=int, default=5)
    parser.add_argument("--pages", type=int, default=2, help="how many pages to read")
    parser.add_argument("--watch-seconds", type=float, default=20.0)
    args = parser.parse_args(argv)

    targets = {service: getattr(args, f"{service}_target") or args.target for service in SERVICES}
    with contextlib.ExitStack() as opened:
        # One channel per address, shared by the services behind it. Plaintext for a local
        # Cinema; use grpc.secure_channel(target, grpc.ssl_channel_credentials()) behind TLS.
        by_target = {
            target: opened.enter_context(grpc.insecure_channel(target))
            for target in set(targets.values())
        }
        channel = {service: by_target[target] for service, target in targets.items()}
        try:
            signed_in = sign_in(channel["auth"], args.login, args.password)
            metadata = bearer(signed_in.tokens.access_token)
            film = find_film(channel["catalog"], args.query)
            likes = likes_pb2_grpc.LikesServiceStub(channel["likes"])
            like = likes_pb2.RateFilmRequest(film_id=film.id, rating=likes_pb2.RATING_LIKE)
            liked = likes.RateFilm(like, metadata=metadata, timeout=10)
            print(f"liked {film.title} (changed: {liked.changed})")
            recommendations = channel["recommendations"]
            wait_for_personal_list(recommendations, metadata, args.watch_seconds)
            shown = read_pages(recommendations, metadata, args.page_size, args.pages)
        except grpc.RpcError as error:
            print(f"call failed: {describe(error)}", file=sys.stderr)
            return 1
    print(f"{shown} recommendations shown")
    return 0


if __name__ == "__main__":
    sys.exit(main())
