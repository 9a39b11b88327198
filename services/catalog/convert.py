"""Domain objects <-> catalog protobuf messages."""

from __future__ import annotations

from google.type import date_pb2

from cinema.catalog.v1 import catalog_pb2
from services.catalog.records import (
    Film,
    FilmOrder,
    FilmSummary,
    FilmType,
    Genre,
    PartialDate,
    Person,
    PersonRef,
    Role,
)

FILM_TYPES = {
    FilmType.MOVIE: catalog_pb2.FILM_TYPE_MOVIE,
    FilmType.TV_SHOW: catalog_pb2.FILM_TYPE_TV_SHOW,
}
FILM_TYPE_OF = {value: key for key, value in FILM_TYPES.items()}
ROLES = {
    Role.ACTOR: catalog_pb2.PERSON_ROLE_ACTOR,
    Role.DIRECTOR: catalog_pb2.PERSON_ROLE_DIRECTOR,
    Role.WRITER: catalog_pb2.PERSON_ROLE_WRITER,
}
ORDERS = {
    catalog_pb2.FILM_ORDER_UNSPECIFIED: FilmOrder.RATING_DESC,
    catalog_pb2.FILM_ORDER_RATING_DESC: FilmOrder.RATING_DESC,
    catalog_pb2.FILM_ORDER_RATING_ASC: FilmOrder.RATING_ASC,
    catalog_pb2.FILM_ORDER_YEAR_DESC: FilmOrder.YEAR_DESC,
    catalog_pb2.FILM_ORDER_YEAR_ASC: FilmOrder.YEAR_ASC,
    catalog_pb2.FILM_ORDER_TITLE_ASC: FilmOrder.TITLE_ASC,
    catalog_pb2.FILM_ORDER_TITLE_DESC: FilmOrder.TITLE_DESC,
}


def date_message(value: PartialDate | None) -> date_pb2.Date | None:
    if value is None:
        return None
    return date_pb2.Date(year=value.year, month=value.month, day=value.day)


def summary_message(film: FilmSummary) -> catalog_pb2.FilmSummary:
    return catalog_pb2.FilmSummary(
        id=film.id,
        title=film.title,
        year=film.year,
        rating=film.rating,
        genres=list(film.genres),
        type=FILM_TYPES[film.type],
    )


def _refs(people: tuple[PersonRef, ...]) -> list[catalog_pb2.PersonRef]:
    return [catalog_pb2.PersonRef(id=p.id, full_name=p.full_name) for p in people]


def genre_message(genre: Genre) -> catalog_pb2.Genre:
    return catalog_pb2.Genre(
        id=genre.id, name=genre.name, description=genre.description, film_count=genre.film_count
    )


def film_message(film: Film) -> catalog_pb2.Film:
    return catalog_pb2.Film(
        id=film.id,
        title=film.title,
        description=film.description,
        year=film.year,
        creation_date=date_message(film.creation_date),
        rating=film.rating,
        type=FILM_TYPES[film.type],
        certificate=film.certificate,
        genres=[genre_message(g) for g in film.genres],
        directors=_refs(film.directors),
        actors=_refs(film.actors),
        writers=_refs(film.writers),
    )


def person_message(person: Person) -> catalog_pb2.Person:
    return catalog_pb2.Person(
        id=person.id,
        full_name=person.full_name,
        birth_date=date_message(person.birth_date),
        films=[
            catalog_pb2.PersonFilm(
                film=summary_message(pf.film), roles=[ROLES[r] for r in pf.roles]
            )
            for pf in person.films
        ],
    )
