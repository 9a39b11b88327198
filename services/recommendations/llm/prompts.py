"""The chat requests: a Russian prompt plus one function GigaChat is made to call.

Function calling gives the answer as structured arguments instead of prose, and the
rerank function lists the candidates as an enum, so the model is told exactly which
exist (the parser still checks).

Rerank names each candidate by a short handle, ``c1``, ``c2``, ... in the order
offered, never by its film id: a 36-character UUID would be paid for twice per
candidate (in the list and in the enum) and again in the answer, where ``c12`` costs a
twelfth of it. The handles mean something only within one request: ``RerankRequest``
carries the chat together with its own handle -> film id mapping, which the parser
uses to map the model's choice back (``parsing.handle_picks``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from gigachat.models import Chat, Function, FunctionParameters, Messages, MessagesRole
from gigachat.models.chat import ChatFunctionCall, FunctionParametersProperty

from services.recommendations.llm.types import Candidate, RatedFilm, TasteProfile

GENERATE_FUNCTION = "recommend_films"
RERANK_FUNCTION = "choose_films"
# Enough to describe a taste; more only costs tokens.
MAX_LIKED_IN_PROMPT = 30
MAX_DISLIKED_IN_PROMPT = 15
MAX_CANDIDATES_IN_PROMPT = 60
TEMPERATURE = 0.3

_SYSTEM = (
    "Ты — киноэксперт онлайн-кинотеатра. Подбираешь фильмы под вкус зрителя и коротко, "
    "одним предложением по-русски, объясняешь, почему фильм ему подойдёт. "
    "Отвечай только вызовом функции."
)


def _named(film: RatedFilm) -> str:
    return f"{film.title} ({film.year})" if film.year else film.title


def _listing(films: Sequence[RatedFilm], limit: int) -> str:
    return "\n".join(f"- {_named(film)}" for film in films[:limit]) or "- (нет)"


def _taste(profile: TasteProfile) -> str:
    """What the user liked and disliked, newest first, and that the order matters."""
    return (
        "Зрителю понравились фильмы, сначала самые недавние, они важнее всего:\n"
        f"{_listing(profile.liked, MAX_LIKED_IN_PROMPT)}\n\n"
        "Зрителю не понравились, сначала самые недавние:\n"
        f"{_listing(profile.disliked, MAX_DISLIKED_IN_PROMPT)}\n\n"
    )


def generate_chat(profile: TasteProfile, *, model: str, limit: int) -> Chat:
    """Ask for ``limit`` real films the user has not rated, as ``recommend_films``."""
    prompt = (
        _taste(profile)
        + f"Посоветуй {limit} других существующих фильмов, которых нет в этих списках. "
        "Для каждого укажи точное оригинальное или русское название, год выхода и причину."
    )
    film = {
        "type": "object",
        "properties": {
            "title": {"type": "string", "description": "Название фильма"},
            "year": {"type": "integer", "description": "Год выхода"},
            "reason": {"type": "string", "description": "Почему подойдёт, по-русски"},
        },
        "required": ["title", "year", "reason"],
    }
    function = Function(
        name=GENERATE_FUNCTION,
        description="Показать зрителю рекомендованные фильмы",
        parameters=FunctionParameters(
            type="object",
            properties={
                "films": FunctionParametersProperty(
                    type="array", description="Рекомендованные фильмы", items=film
                )
            },
            required=["films"],
        ),
    )
    return _chat(model, prompt, function)


@dataclass(frozen=True)
class RerankRequest:
    """The rerank chat and what its handles stand for (valid for this request only)."""

    chat: Chat
    film_ids: Mapping[str, str]
    """Handle (``c1``, ...) -> film id of each candidate offered, in prompt order."""


def handle(position: int) -> str:
    """The short name of the candidate offered at ``position`` (0-based): ``c1``, ``c2``..."""
    return f"c{position + 1}"


def rerank_chat(
    profile: TasteProfile, candidates: Sequence[Candidate], *, model: str, limit: int
) -> RerankRequest:
    """Ask to choose up to ``limit`` of the candidates, by handle, as ``choose_films``."""
    offered = candidates[:MAX_CANDIDATES_IN_PROMPT]
    film_ids = {handle(n): c.film_id for n, c in enumerate(offered)}
    lines = "\n".join(
        f"- {name} | {_named(RatedFilm(c.film_id, c.title, c.year))}"
        + (f" | {', '.join(c.genres)}" if c.genres else "")
        for name, c in zip(film_ids, offered, strict=True)
    )
    prompt = (
        _taste(profile) + f"Кандидаты (метка | фильм | жанры):\n{lines}\n\n"
        f"Выбери из кандидатов до {limit} фильмов, которые зрителю понравятся больше всего, "
        "лучшие первыми. Называй кандидата только меткой из списка (c1, c2, …)."
    )
    film = {
        "type": "object",
        "properties": {
            "id": {
                "type": "string",
                "description": "Метка кандидата",
                "enum": list(film_ids),
            },
            "reason": {"type": "string", "description": "Почему подойдёт, по-русски"},
        },
        "required": ["id", "reason"],
    }
    function = Function(
        name=RERANK_FUNCTION,
        description="Показать зрителю выбранных кандидатов",
        parameters=FunctionParameters(
            type="object",
            properties={
                "films": FunctionParametersProperty(
                    type="array", description="Выбранные фильмы, лучшие первыми", items=film
                )
            },
            required=["films"],
        ),
    )
    return RerankRequest(_chat(model, prompt, function), MappingProxyType(film_ids))


def _chat(model: str, prompt: str, function: Function) -> Chat:
    return Chat(
        model=model,
        messages=[
            Messages(role=MessagesRole.SYSTEM, content=_SYSTEM),
            Messages(role=MessagesRole.USER, content=prompt),
        ],
        functions=[function],
        function_call=ChatFunctionCall(name=function.name),
        temperature=TEMPERATURE,
    )
