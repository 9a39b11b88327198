"""The chat requests: a Russian prompt plus one function GigaChat is made to call.

Function calling gives the answer as structured arguments instead of prose, and the
rerank function lists the candidate ids as an enum, so the model is told exactly which
ids exist (the parser still checks).
"""

from __future__ import annotations

from collections.abc import Sequence

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


def rerank_chat(
    profile: TasteProfile, candidates: Sequence[Candidate], *, model: str, limit: int
) -> Chat:
    """Ask to choose up to ``limit`` of the candidates, by id, as ``choose_films``."""
    offered = candidates[:MAX_CANDIDATES_IN_PROMPT]
    lines = "\n".join(
        f"- id={c.film_id} | {_named(RatedFilm(c.film_id, c.title, c.year))}"
        + (f" | {', '.join(c.genres)}" if c.genres else "")
        for c in offered
    )
    prompt = (
        _taste(profile) + f"Кандидаты:\n{lines}\n\n"
        f"Выбери из кандидатов до {limit} фильмов, которые зрителю понравятся больше всего, "
        "лучшие первыми. Используй только id из списка кандидатов."
    )
    film = {
        "type": "object",
        "properties": {
            "id": {
                "type": "string",
                "description": "id кандидата",
                "enum": [c.film_id for c in offered],
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
    return _chat(model, prompt, function)


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
