"""Grounding free-text titles (as an LLM writes them) in catalog films.

No I/O here: the servicer asks the store for candidates and this module scores them.
A title is compared after normalisation (case, punctuation, accents, "ё", a leading
or trailing article, a year in parentheses); small typos cost a little similarity,
a year off by more than one costs a lot, and below the threshold the answer is "no
match" rather than a guess.
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from services.catalog.records import FilmSummary
from services.kit.text import words

DEFAULT_MIN_CONFIDENCE = 0.8
_ARTICLES = frozenset({"the", "a", "an"})
_YEAR_SUFFIX = re.compile(r"[\(\[]\s*((?:18|19|20)\d\d)\s*[\)\]]\s*$")
# A year that disagrees by more than a year is most likely a different film of the
# same name (a remake), so it weighs heavily; an unknown year on either side is neutral.
_WRONG_YEAR_FACTOR = 0.7
#: Words of a title that the store searches for candidates (the scoring sees them all).
SEARCH_WORDS = 10
_RAW_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class TitleQuery:
    title: str
    year: int | None = None


@dataclass(frozen=True)
class Match:
    query: TitleQuery
    film: FilmSummary | None  # set only when matched
    confidence: float

    @property
    def matched(self) -> bool:
        return self.film is not None


def split_year(title: str) -> tuple[str, int | None]:
    """ "Heat (1995)" -> ("Heat", 1995); a title without a trailing year is unchanged."""
    found = _YEAR_SUFFIX.search(title)
    if not found:
        return title, None
    return title[: found.start()].strip(), int(found.group(1))


def normalise(title: str) -> str:
    """The comparable form: folded words without a leading or trailing article."""
    tokens = words(split_year(title)[0])
    if len(tokens) > 1 and tokens[0] in _ARTICLES:
        tokens = tokens[1:]
    elif len(tokens) > 1 and tokens[-1] in _ARTICLES:
        tokens = tokens[:-1]  # "Matrix, The"
    return " ".join(tokens)


def similarity(a: str, b: str) -> float:
    """0..1: identical normalised titles score 1, a typo or two a little less."""
    return _similarity(normalise(a), normalise(b))


def _similarity(left: str, right: str) -> float:
    if not left or not right:
        return 0.0
    if left == right:
        return 1.0
    return difflib.SequenceMatcher(None, left, right, autojunk=False).ratio()


@dataclass(frozen=True)
class _Wanted:
    """A query in the form it is compared in, worked out once for all its candidates."""

    title: str
    year: int | None

    @classmethod
    def of(cls, query: TitleQuery) -> _Wanted:
        _, year_in_title = split_year(query.title)
        return cls(normalise(query.title), query.year if query.year is not None else year_in_title)

    def confidence(self, film: FilmSummary) -> float:
        score = _similarity(self.title, normalise(film.title))
        if self.year is not None and film.year is not None and abs(self.year - film.year) > 1:
            score *= _WRONG_YEAR_FACTOR
        return round(score, 4)


def confidence(query: TitleQuery, film: FilmSummary) -> float:
    return _Wanted.of(query).confidence(film)


def best_match(
    query: TitleQuery, candidates: Sequence[FilmSummary], min_confidence: float
) -> Match:
    """The most confident candidate, or no film when it is below ``min_confidence``.

    Equal confidence goes to the higher-rated film: the well-known one is what a
    person (or an LLM) most likely means.
    """
    wanted = _Wanted.of(query)
    scored = sorted(
        ((wanted.confidence(film), film) for film in candidates),
        key=lambda pair: (-pair[0], -(pair[1].rating or 0.0), pair[1].id),
    )
    if not scored:
        return Match(query, None, 0.0)
    score, film = scored[0]
    return Match(query, film if score >= min_confidence else None, score)


def search_text(query: TitleQuery) -> str:
    """What to ask the store for candidates: the title without its year, cut after its
    first ``SEARCH_WORDS`` words (they find the film; more words only cost the search)."""
    title = split_year(query.title)[0]
    ends = [word.end() for word in itertools.islice(_RAW_WORD.finditer(title), SEARCH_WORDS)]
    return title[: ends[-1]] if len(ends) == SEARCH_WORDS else title
