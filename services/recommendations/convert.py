"""Domain results -> protobuf messages, and the page tokens of stored lists."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from cinema.catalog.v1 import catalog_pb2
from cinema.recommendations.v1 import recommendations_pb2 as pb
from services.kit import page_tokens
from services.kit.errors import InvalidArgument
from services.recommendations.engines import Recommended, Source

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
