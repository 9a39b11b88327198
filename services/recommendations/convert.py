"""Domain results -> protobuf messages, and the page tokens of stored lists."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from cinema.catalog.v1 import catalog_pb2
from cinema.recommendations.v1 import recommendations_pb2 as pb
from services.kit import page_tokens
from services.kit.errors import InvalidArgument
from services.recommendations.engines import Recommended, Source
from services.recommendations.operator_stats import Report, Series

SOURCES = {
    Source.COLLABORATIVE: pb.SOURCE_COLLABORATIVE,
    Source.CONTENT: pb.SOURCE_CONTENT,
    Source.LLM: pb.SOURCE_LLM,
    Source.POPULAR: pb.SOURCE_POPULAR,
}


def encode_page_token(generate_us: int, offset: int) -> str:
    return page_tokens.encode({"g": generate_us, "o": offset})


def decode_page_token(token: str, generate_us: int) -> int:
    """The offset a token continues at; InvalidArgument when it is not from this list."""
    if not token:
        return 0
    body = page_tokens.decode(token)
    stamp, offset = page_tokens.whole_number(body, "g"), page_tokens.whole_number(body, "o")
    if stamp != generate_us:
        raise InvalidArgument({"page_token": "the list was replaced: start from the first page"})
    return offset


def recommendation(
    item: Recommended, summaries: Mapping[str, catalog_pb2.FilmSummary]
) -> pb.Recommendation:
    film = summaries.get(item.film_id) or catalog_pb2.FilmSummary(id=item.film_id)
    reasons = []
    for reason in item.reasons:
        message = pb.Reason(text=reason.text, source=SOURCES[reason.source])
        if reason.seed_film_id:
            message.seed_film_id = reason.seed_film_id
        reasons.append(message)
    return pb.Recommendation(
        film=film,
        score=item.score,
        sources=[SOURCES[s] for s in item.sources],
        reasons=reasons,
    )


def recommendations(
    items: Iterable[Recommended], summaries: Mapping[str, catalog_pb2.FilmSummary]
) -> list[pb.Recommendation]:
    return [recommendation(item, summaries) for item in items]


def operator_series(series: Series) -> list[pb.OperatorSeries]:
    converted = []
    for label, points in series.items():
        message = pb.OperatorSeries(label=label)
        for moment, value in points:
            point = message.points.add(value=value)
            point.time.FromNanoseconds(int(moment * 1e9))
        converted.append(message)
    return converted


def operator_stats(
    report: Report, sample_seconds: float, window_seconds: float
) -> pb.GetOperatorStatsResponse:
    response = pb.GetOperatorStatsResponse(
        events_per_minute=operator_series(report.events_per_minute),
        refresh_latency_seconds=operator_series(report.refresh_latency_seconds),
        refreshes_per_minute=operator_series(report.refreshes_per_minute),
        model_fit_seconds=operator_series(report.model_fit_seconds),
        model_age_seconds=operator_series(report.model_age_seconds),
        llm_calls_per_minute=operator_series(report.llm_calls_per_minute),
        llm_budget_remaining=operator_series(report.llm_budget_remaining),
        llm_budget_per_hour=report.llm_budget_per_hour,
        llm_breaker_state=operator_series(report.llm_breaker_state),
        llm_grounding_rate=operator_series(report.llm_grounding_rate),
        rpc_errors_per_minute=operator_series(report.rpc_errors_per_minute),
        unreachable_peers=report.unreachable_peers,
    )
    response.sample_time.FromNanoseconds(int(report.sample_time * 1e9))
    response.sample_interval.FromNanoseconds(int(sample_seconds * 1e9))
    response.window.FromNanoseconds(int(window_seconds * 1e9))
    return response
