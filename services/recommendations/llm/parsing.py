"""Reading GigaChat's answer defensively: structured picks or ``MalformedAnswer``.

The answer should be a call of the function we offered, but a model may reply with
prose, with JSON in the message text (sometimes fenced), with the wrong shape, or with
nothing. Items missing a field are dropped one by one; an answer with no usable item
at all is malformed and the caller falls back to its local engines.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from gigachat.models import ChatCompletion

MAX_REASON_CHARS = 300
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


T = TypeVar("T")


class MalformedAnswer(ValueError):
    """The answer cannot be read as picks; ``str()`` says why (for the log)."""


@dataclass(frozen=True)
class TitlePick:
    title: str
    year: int | None
    reason: str


@dataclass(frozen=True)
class IdPick:
    film_id: str
    reason: str


@dataclass(frozen=True)
class HandlePick:
    """A rerank choice: the handle the model named and the film it stands for.

    ``film_id`` is None when the handle is not one this request offered.
    """

    handle: str
    film_id: str | None
    reason: str


@dataclass(frozen=True)
class Picks(Generic[T]):
    items: tuple[T, ...]
    malformed_items: int


def _arguments(completion: ChatCompletion, function: str) -> Any:
    if not completion.choices:
        raise MalformedAnswer("no choices")
    message = completion.choices[0].message
    call = message.function_call
    if call is not None:
        if call.name != function:
            raise MalformedAnswer(f"called unknown function {call.name!r}")
        return call.arguments
    text = (message.content or "").strip()
    if not text:
        raise MalformedAnswer("empty answer")
    fenced = _FENCE.match(text)
    try:
        return json.loads(fenced.group(1) if fenced else text)
    except json.JSONDecodeError as exc:
        raise MalformedAnswer(f"content is not JSON: {exc.msg}") from None


def _films(arguments: Any) -> list[Any]:
    films = arguments.get("films") if isinstance(arguments, dict) else arguments
    if not isinstance(films, list):
        raise MalformedAnswer(f"expected a list of films, got {type(films).__name__}")
    if not films:
        raise MalformedAnswer("no films")
    return films


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return " ".join(value.split())[:MAX_REASON_CHARS] or None


def _year(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 1870 <= value <= 2100 else None
    if isinstance(value, str) and value.strip().isdigit():
        return _year(int(value.strip()))
    return None


def title_picks(completion: ChatCompletion, function: str) -> Picks[TitlePick]:
    """``{"films": [{"title", "year", "reason"}]}``; a missing year is tolerated."""
    picks: list[TitlePick] = []
    films = _films(_arguments(completion, function))
    for film in films:
        if not isinstance(film, dict):
            continue
        title, reason = _text(film.get("title")), _text(film.get("reason"))
        if title and reason:
            picks.append(TitlePick(title, _year(film.get("year")), reason))
    if not picks:
        raise MalformedAnswer("no film has a title and a reason")
    return Picks(tuple(picks), len(films) - len(picks))


def id_picks(completion: ChatCompletion, function: str) -> Picks[IdPick]:
    """``{"films": [{"id", "reason"}]}``; ids are checked by the caller."""
    picks: list[IdPick] = []
    films = _films(_arguments(completion, function))
    for film in films:
        if not isinstance(film, dict):
            continue
        raw_id = film.get("id")
        film_id = str(raw_id).strip() if isinstance(raw_id, str | int) else ""
        reason = _text(film.get("reason"))
        if film_id and reason:
            picks.append(IdPick(film_id, reason))
    if not picks:
        raise MalformedAnswer("no film has an id and a reason")
    return Picks(tuple(picks), len(films) - len(picks))


def handle_picks(
    completion: ChatCompletion, function: str, film_ids: Mapping[str, str]
) -> Picks[HandlePick]:
    """``id_picks`` whose ids are the request's handles, mapped back to film ids.

    ``film_ids`` is the request's own mapping (``prompts.RerankRequest.film_ids``); a
    handle outside it (invented, or a film id written out) maps to None, and the caller
    drops it as a suggestion that is not among the candidates.
    """
    picks = id_picks(completion, function)
    return Picks(
        tuple(
            HandlePick(pick.film_id, film_ids.get(pick.film_id.lower()), pick.reason)
            for pick in picks.items
        ),
        picks.malformed_items,
    )
