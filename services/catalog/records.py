"""The catalog's domain objects, free of any store or wire format."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class FilmType(enum.StrEnum):
    MOVIE = "movie"
    TV_SHOW = "tv_show"


class Role(enum.StrEnum):
    ACTOR = "actor"
    DIRECTOR = "director"
    WRITER = "writer"


class FilmOrder(enum.StrEnum):
    """ListFilms orders; every one breaks ties by id so that paging is stable."""

    RATING_DESC = "rating_desc"
    RATING_ASC = "rating_asc"
    YEAR_DESC = "year_desc"
    YEAR_ASC = "year_asc"
    TITLE_ASC = "title_asc"
    TITLE_DESC = "title_desc"


@dataclass(frozen=True)
class PartialDate:
    """A date that may know only its year, or year and month (0 stands for unknown)."""

    year: int
    month: int = 0
    day: int = 0

    @classmethod
    def parse(cls, text: str) -> PartialDate:
        """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` (anything after the day is ignored)."""
        parts = text.strip()[:10].split("-")
        if not 1 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
            raise ValueError(f"not a date: {text!r}")
        numbers = [int(p) for p in parts] + [0] * (3 - len(parts))
        year, month, day = numbers
        if not 1800 <= year <= 2200 or not 0 <= month <= 12 or not 0 <= day <= 31:
            raise ValueError(f"date out of range: {text!r}")
        if day and not month:
            raise ValueError(f"day without month: {text!r}")
        return cls(year, month, day)

    @classmethod
    def stored(cls, text: str | None) -> PartialDate | None:
        """A date as the stores keep it: parsed, or None when there is none."""
        return cls.parse(text) if text else None

    def __str__(self) -> str:
        text = f"{self.year:04d}"
        if self.month:
            text += f"-{self.month:02d}"
        if self.day:
            text += f"-{self.day:02d}"
        return text


@dataclass(frozen=True)
class PersonRef:
    id: str
    full_name: str


@dataclass(frozen=True)
class Genre:
    id: str
    name: str
    description: str = ""
    film_count: int = 0


@dataclass(frozen=True)
class FilmSummary:
    id: str
    title: str
    year: int | None
    rating: float | None
    genres: tuple[str, ...]
    type: FilmType


@dataclass(frozen=True)
class Film:
    id: str
    title: str
    description: str
    creation_date: PartialDate | None
    rating: float | None
    type: FilmType
    certificate: str
    genres: tuple[Genre, ...]
    directors: tuple[PersonRef, ...]
    actors: tuple[PersonRef, ...]
    writers: tuple[PersonRef, ...]

    @property
    def year(self) -> int | None:
        return self.creation_date.year if self.creation_date else None

    @classmethod
    def from_row(
        cls,
        row: Sequence[Any],
        genres: Iterable[Genre],
        credits: Iterable[tuple[str, PersonRef]],
    ) -> Film:
        """A film from its ``film_work`` columns (id, title, description, creation_date,
        rating, type, certificate), its genres, and its people with their roles, in
        credit order: how every store and reader of the catalog builds one."""
        people: dict[Role, list[PersonRef]] = {role: [] for role in Role}
        for role, person in credits:
            people[Role(role)].append(person)
        film_id, title, description, created, rating, film_type, certificate = row
        return cls(
            id=film_id,
            title=title,
            description=description or "",
            creation_date=PartialDate.stored(created),
            rating=rating,
            type=FilmType(film_type),
            certificate=certificate or "",
            genres=tuple(genres),
            directors=tuple(people[Role.DIRECTOR]),
            actors=tuple(people[Role.ACTOR]),
            writers=tuple(people[Role.WRITER]),
        )

    def summary(self) -> FilmSummary:
        return FilmSummary(
            self.id,
            self.title,
            self.year,
            self.rating,
            tuple(g.name for g in self.genres),
            self.type,
        )


@dataclass(frozen=True)
class PersonFilm:
    film: FilmSummary
    roles: tuple[Role, ...]


@dataclass(frozen=True)
class Person:
    id: str
    full_name: str
    birth_date: PartialDate | None
    films: tuple[PersonFilm, ...] = ()


@dataclass(frozen=True)
class FilmFilter:
    """ListFilms filters; ``None`` means any."""

    genre_id: str | None = None
    type: FilmType | None = None


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of results and the total across all pages."""

    items: Sequence[T]
    total: int
    offset: int = 0

    def has_more(self) -> bool:
        return self.offset + len(self.items) < self.total
