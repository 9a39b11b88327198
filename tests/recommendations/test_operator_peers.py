"""The errors chart across the mesh: the other services' failed RPCs, read from their real
Prometheus endpoints (prometheus_client's HTTP server on a registry of their own), join the
recommender's; one that does not answer costs its own points only."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from urllib.parse import urlsplit

import pytest
from prometheus_client import CollectorRegistry, Counter, start_http_server
from pydantic import ValidationError
from structlog.testing import capture_logs

from services.recommendations.operator_peers import PeerReader
from services.recommendations.operator_stats import OperatorStats, report
from services.recommendations.settings import RecommendationsSettings

GET_FILM = "cinema.catalog.v1.CatalogService/GetFilm"
RATE_FILM = "cinema.likes.v1.LikesService/RateFilm"
GET_SIMILAR = "cinema.recommendations.v1.RecommendationService/GetSimilarFilms"


def handled(registry: CollectorRegistry) -> Counter:
    """The kit's grpc_server_handled_total, in a registry of one process of the mesh."""
    return Counter(
        "grpc_server_handled_total",
        "RPCs completed on the server, by status code.",
        ["grpc_service", "grpc_method", "grpc_code"],
        registry=registry,
    )


def fail(counter: Counter, method: str, code: str, times: float = 1) -> None:
    service, name = method.split("/")
    counter.labels(grpc_service=service, grpc_method=name, grpc_code=code).inc(times)


@contextmanager
def serving(registry: CollectorRegistry, port: int = 0) -> Iterator[str]:
    """``registry`` on a real metrics port, as `cinema serve` serves its own."""
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/metrics"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextmanager
def not_prometheus() -> Iterator[str]:
    """A real HTTP server whose page is not a Prometheus exposition (a wrong port, say)."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<html><body>the gateway</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/metrics"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def closed_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/metrics"


def sampler(registry: CollectorRegistry, peers: list[str], hosted: set[str]) -> OperatorStats:
    """The recommender's sampler on ``registry``, a minute between samples."""
    minutes = count()
    return OperatorStats(
        10.0,
        900.0,
        registry=registry,
        clock=lambda: 60.0 * next(minutes),
        peers=PeerReader(peers, hosted, timeout_seconds=1.0),
    )


async def test_the_other_services_failed_rpcs_join_the_recommenders() -> None:
    local, catalog, likes = CollectorRegistry(), CollectorRegistry(), CollectorRegistry()
    ours, theirs, rated = handled(local), handled(catalog), handled(likes)
    with serving(catalog) as catalog_url, serving(likes) as likes_url:
        stats = sampler(local, [catalog_url, likes_url], {"recommendations"})
        try:
            fail(theirs, GET_FILM, "OK", 50)
            first = await stats.sample()
            fail(ours, GET_SIMILAR, "NOT_FOUND")
            fail(theirs, GET_FILM, "NOT_FOUND", 3)
            fail(theirs, GET_FILM, "OK", 7)  # neither an OK
            fail(rated, RATE_FILM, "CANCELLED", 4)  # nor a caller that gave up is a failure
            fail(rated, RATE_FILM, "INVALID_ARGUMENT", 2)
            second = await stats.sample()
        finally:
            await stats.aclose()
    assert second.unreachable == ()
    assert report([first, second]).rpc_errors_per_minute == {
        GET_FILM: [(60.0, 3.0)],
        RATE_FILM: [(60.0, 2.0)],
        GET_SIMILAR: [(60.0, 1.0)],
    }


async def test_a_peer_that_does_not_answer_leaves_the_rest_of_the_sample_whole() -> None:
    local, catalog = CollectorRegistry(), CollectorRegistry()
    ours, theirs = handled(local), handled(catalog)
    gone = closed_port()
    with serving(catalog) as catalog_url, not_prometheus() as wrong, capture_logs() as logs:
        stats = sampler(local, [gone, catalog_url, wrong], {"recommendations"})
        try:
            first = await stats.sample()
            fail(ours, GET_SIMILAR, "NOT_FOUND", 2)
            fail(theirs, GET_FILM, "NOT_FOUND")
            second = await stats.sample()
            third = await stats.sample()
            answer = stats.report()
        finally:
            await stats.aclose()
    assert [r.unreachable for r in (first, second, third)] == [(gone, wrong)] * 3
    assert set(second.peers) == {catalog_url}
    assert report([first, second]).rpc_errors_per_minute == {
        GET_FILM: [(60.0, 1.0)],
        GET_SIMILAR: [(60.0, 2.0)],
    }
    assert answer.unreachable_peers == (gone, wrong)
    # Said once for the outage, not at every sample.
    warned = [entry for entry in logs if entry["event"] == "operator_peer_unreachable"]
    assert [entry["peer"] for entry in warned] == [gone, wrong], logs
    assert {entry["log_level"] for entry in warned} == {"warning"}


async def test_a_peer_back_after_an_outage_gets_one_point_for_the_whole_gap() -> None:
    local, catalog = CollectorRegistry(), CollectorRegistry()
    theirs = handled(catalog)
    with serving(catalog) as catalog_url:
        stats = sampler(local, [catalog_url], {"recommendations"})
        before = await stats.sample()
    port = urlsplit(catalog_url).port or 0
    fail(theirs, GET_FILM, "NOT_FOUND", 6)
    with capture_logs() as logs:
        try:
            missed = await stats.sample()
            with serving(catalog, port):
                back = await stats.sample()
        finally:
            await stats.aclose()
    assert (missed.unreachable, missed.peers, back.unreachable) == ((catalog_url,), {}, ())
    assert [(entry["event"], entry["log_level"]) for entry in logs] == [
        ("operator_peer_unreachable", "warning"),
        ("operator_peer_reachable", "info"),
    ]
    # A minute between samples: the minute it missed has no point; the one after carries
    # the rate over both (6 failures in 2 minutes), not a spike.
    assert report([before, missed, back]).rpc_errors_per_minute == {GET_FILM: [(120.0, 3.0)]}


async def test_a_service_this_process_hosts_is_not_counted_twice() -> None:
    """Embedded, one registry holds every service's RPCs: this very process among the peers
    adds nothing."""
    local = CollectorRegistry()
    ours = handled(local)
    with serving(local) as own_url:
        stats = sampler(local, [own_url], {"auth", "catalog", "likes", "recommendations"})
        try:
            first = await stats.sample()
            fail(ours, GET_FILM, "NOT_FOUND", 2)
            fail(ours, GET_SIMILAR, "INTERNAL")
            second = await stats.sample()
        finally:
            await stats.aclose()
    assert second.unreachable == ()
    assert report([first, second]).rpc_errors_per_minute == {
        GET_FILM: [(60.0, 2.0)],
        GET_SIMILAR: [(60.0, 1.0)],
    }


def test_operator_peers_are_http_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    variable = "CINEMA_RECOMMENDATIONS_OPERATOR_PEERS"
    monkeypatch.setenv(variable, "http://catalog:9100/metrics, http://likes:9100/metrics,")
    assert RecommendationsSettings().operator_peers == (
        "http://catalog:9100/metrics",
        "http://likes:9100/metrics",
    )
    monkeypatch.setenv(variable, "http://catalog:9100/metrics,likes:9100")
    with pytest.raises(ValidationError) as invalid:
        RecommendationsSettings()
    assert "recommendations_operator_peers" in str(invalid.value)
    assert "'likes:9100' is not an http(s) URL" in str(invalid.value)
    monkeypatch.delenv(variable)
    assert RecommendationsSettings().operator_peers == ()
