"""GetOperatorStats: what an operator of the recommender sees, and who may see it.

The series come from the process's own Prometheus metrics, sampled by the recommender;
here every 0.1 s, so that a few likes and refreshes show in a second.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import AsyncIterator, Callable

import grpc
import pytest
from prometheus_client import start_http_server

from cinema.recommendations.v1 import recommendations_pb2 as pb
from tests.fakes.gigachat import FakeGigaChat
from tests.fixtures.stack import bearer, mint_token
from tests.recommendations.service.conftest import Client, StartStack, gigachat_settings
from tests.recommendations.service.films import IDS

Connect = Callable[..., Client]
SAMPLED_FAST = {"recommendations_operator_sample_seconds": 0.1}
GET_SIMILAR = "cinema.recommendations.v1.RecommendationService/GetSimilarFilms"


def values(series: list[pb.OperatorSeries]) -> dict[str, list[float]]:
    """Each line of a chart by its label, checking that its points run oldest first."""
    lines = {}
    for line in series:
        times = [point.time.ToNanoseconds() for point in line.points]
        assert times == sorted(times) and len(set(times)) == len(times), line.label
        lines[line.label] = [point.value for point in line.points]
    return lines


async def one_request(user_id: str) -> AsyncIterator[pb.StreamRefreshesRequest]:
    yield pb.StreamRefreshesRequest(user_id=user_id, allow_llm=True)


async def test_an_operator_sees_likes_refreshes_models_gigachat_and_errors(
    start_stack: StartStack, connect: Connect, fake_gigachat: FakeGigaChat
) -> None:
    stack = await start_stack(
        **SAMPLED_FAST, **gigachat_settings(fake_gigachat, llm_mode="generate")
    )
    fan = connect(stack)
    for title in ("Inception", "Heat", "Dune"):
        await fan.rate(IDS[title])
    await fan.settled()
    stream = fan.recommendations.StreamRefreshes(
        one_request(fan.user_id), metadata=fan.service_metadata
    )
    assert [answer.llm_used async for answer in stream] == [True]
    with pytest.raises(grpc.aio.AioRpcError):
        await fan.recommendations.GetSimilarFilms(pb.GetSimilarFilmsRequest(film_id="nope"))
    await asyncio.sleep(0.3)  # sampled at least twice since

    operator = bearer(mint_token(stack, user_id=str(uuid.uuid4()), roles=("user", "admin")))
    stats = await fan.recommendations.GetOperatorStats(
        pb.GetOperatorStatsRequest(), metadata=operator
    )

    assert stats.sample_interval.ToMilliseconds() == 100
    assert stats.window.ToSeconds() == 900
    assert stats.sample_time.ToNanoseconds() > 0
    assert sum(values(stats.events_per_minute)["liked"]) > 0
    refreshes = values(stats.refreshes_per_minute)
    assert sum(refreshes["event"]) > 0 and sum(refreshes["stream"]) > 0
    latency = values(stats.refresh_latency_seconds)
    assert set(latency) == {"p50", "p95"}
    assert all(0 < p50 <= p95 for p50, p95 in zip(latency["p50"], latency["p95"], strict=True))
    assert values(stats.model_fit_seconds)["fit"][-1] > 0
    assert 0 <= values(stats.model_age_seconds)[""][-1] < 60
    assert sum(values(stats.llm_calls_per_minute)["ok"]) > 0
    assert stats.llm_budget_per_hour > 0
    assert values(stats.llm_budget_remaining)[""][-1] < stats.llm_budget_per_hour
    assert values(stats.llm_breaker_state)[""][-1] == 0  # closed
    assert all(0 < rate <= 1 for rate in values(stats.llm_grounding_rate)[""])
    assert sum(values(stats.rpc_errors_per_minute)[GET_SIMILAR]) > 0


async def test_operator_stats_need_the_admin_role(
    start_stack: StartStack, connect: Connect
) -> None:
    user = connect(await start_stack())
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await user.recommendations.GetOperatorStats(
            pb.GetOperatorStatsRequest(), metadata=user.metadata
        )
    assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert "`admin` role" in (refused.value.details() or "")
    with pytest.raises(grpc.aio.AioRpcError) as anonymous:
        await user.recommendations.GetOperatorStats(pb.GetOperatorStatsRequest())
    assert anonymous.value.code() is grpc.StatusCode.UNAUTHENTICATED


async def test_a_fresh_service_has_empty_rates_and_current_gauges(
    start_stack: StartStack, connect: Connect
) -> None:
    stack = await start_stack()
    operator = bearer(mint_token(stack, user_id=str(uuid.uuid4()), roles=("admin",)))
    client = connect(stack)
    stats = await client.recommendations.GetOperatorStats(
        pb.GetOperatorStatsRequest(), metadata=operator
    )
    # Nothing happened since the start: no rate has a line, but the budget is there, full.
    assert list(stats.events_per_minute) == [] and list(stats.refresh_latency_seconds) == []
    assert values(stats.llm_budget_remaining)[""][-1] == stats.llm_budget_per_hour


async def test_the_embedded_stack_among_its_own_peers_counts_each_failure_once(
    start_stack: StartStack, connect: Connect
) -> None:
    """Its own metrics port listed as a peer: the services it hosts are read from its
    registry only, so three failures are three, not six."""
    server, thread = start_http_server(0, addr="127.0.0.1")  # this process's registry
    try:
        own = f"http://127.0.0.1:{server.server_address[1]}/metrics"
        stack = await start_stack(**SAMPLED_FAST, recommendations_operator_peers=own)
        client = connect(stack)
        operator = bearer(mint_token(stack, user_id=str(uuid.uuid4()), roles=("admin",)))

        async def after_samples(count: int) -> pb.GetOperatorStatsResponse:
            """The stats once the sampler has read ``count`` more times (a gauge's points)."""
            seen = None
            while True:
                stats = await client.recommendations.GetOperatorStats(
                    pb.GetOperatorStatsRequest(), metadata=operator
                )
                (budget,) = stats.llm_budget_remaining
                seen = len(budget.points) if seen is None else seen
                if len(budget.points) >= seen + count:
                    return stats
                await asyncio.sleep(0.05)

        await after_samples(2)  # sampled with the peer before the failures
        for _ in range(3):
            with pytest.raises(grpc.aio.AioRpcError):
                await client.recommendations.GetSimilarFilms(
                    pb.GetSimilarFilmsRequest(film_id="nope")
                )
        stats = await after_samples(2)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert list(stats.unreachable_peers) == []
    (line,) = (line for line in stats.rpc_errors_per_minute if line.label == GET_SIMILAR)
    seconds = [point.time.ToNanoseconds() / 1e9 for point in line.points]
    # Each point is a rate over the interval since the one before (the first: zero).
    assert line.points[0].value == 0
    failures = sum(
        point.value * (end - start) / 60
        for point, start, end in zip(line.points[1:], seconds, seconds[1:], strict=False)
    )
    assert math.isclose(failures, 3, rel_tol=1e-6), failures
