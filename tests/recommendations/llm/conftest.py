"""A session-wide fake GigaChat (reset for each test), a catalog grounder, a clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest

from services.catalog.matching import TitleQuery, best_match
from services.catalog.records import FilmSummary, FilmType
from services.recommendations.llm import LlmSource, RatedFilm, TasteProfile, create_llm_source
from services.recommendations.settings import GigaChatSettings
from tests.fakes.gigachat import CREDENTIALS, FakeGigaChat, running_fake_gigachat

CATALOG = [
    FilmSummary(f"f{n}", title, year, 8.0, genres, FilmType.MOVIE)
    for n, (title, year, genres) in enumerate(
        [
            ("The Matrix", 1999, ("Sci-Fi",)),
            ("Inception", 2010, ("Sci-Fi", "Thriller")),
            ("Interstellar", 2014, ("Sci-Fi", "Drama")),
            ("The Prestige", 2006, ("Drama", "Mystery")),
            ("Blade Runner", 1982, ("Sci-Fi",)),
            ("The Dark Knight", 2008, ("Action", "Crime")),
            ("Memento", 2000, ("Mystery", "Thriller")),
            ("Arrival", 2016, ("Sci-Fi", "Drama")),
            ("Gattaca", 1997, ("Sci-Fi", "Drama")),
            ("Minority Report", 2002, ("Sci-Fi", "Action")),
        ]
    )
]
BY_TITLE = {film.title: film for film in CATALOG}


class Clock:
    """Monotonic time the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class CatalogGrounder:
    """What the service does with catalog.MatchTitles, over an in-memory catalog."""

    films: list[FilmSummary]
    calls: int = 0

    async def ground(self, queries: list[tuple[str, int | None]]) -> list[str | None]:
        self.calls += 1
        matches = [best_match(TitleQuery(t, y), self.films, 0.8).film for t, y in queries]
        return [film.id if film else None for film in matches]


def profile(
    *liked: str, disliked: tuple[str, ...] = (), excluded: tuple[str, ...] = ()
) -> TasteProfile:
    def rated(title: str) -> RatedFilm:
        film = BY_TITLE[title]
        return RatedFilm(film.id, film.title, film.year)

    return TasteProfile(
        tuple(rated(t) for t in liked),
        tuple(rated(t) for t in disliked),
        frozenset(BY_TITLE[t].id for t in excluded),
    )


@pytest.fixture(scope="session")
async def fake_server() -> AsyncIterator[FakeGigaChat]:
    async with running_fake_gigachat() as fake:
        yield fake


@pytest.fixture
async def fake(fake_server: FakeGigaChat) -> FakeGigaChat:
    fake_server.reset()
    fake_server.catalog = [(film.title, film.year) for film in CATALOG]
    return fake_server


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def grounder() -> CatalogGrounder:
    return CatalogGrounder(CATALOG)


MakeSource = Callable[..., LlmSource]


@pytest.fixture
async def make_source(
    fake: FakeGigaChat, clock: Clock, grounder: CatalogGrounder
) -> AsyncIterator[MakeSource]:
    """An ``LlmSource`` built from settings pointing at the fake (overrides by keyword)."""
    made: list[LlmSource] = []

    def make(**overrides: object) -> LlmSource:
        values: dict[str, object] = {
            "gigachat_credentials": CREDENTIALS,
            "gigachat_base_url": fake.base_url,
            "gigachat_auth_url": fake.auth_url,
            "gigachat_verify_ssl": False,
            "gigachat_timeout_seconds": 2.0,
            "llm_mode": "generate",
            "llm_retry_attempts": 3,
            "llm_retry_backoff_seconds": 0.01,
            "llm_retry_max_backoff_seconds": 0.05,
            **overrides,
        }
        source = create_llm_source(GigaChatSettings(**values), grounder, clock=clock)  # type: ignore[arg-type]
        made.append(source)
        return source

    yield make
    for source in made:
        await source.aclose()
