"""Whole documents read from the ``content`` schema, for the search index."""

from __future__ import annotations

import json
from collections.abc import Sequence

import asyncpg

from services.catalog.records import (
    Film,
    FilmSummary,
    FilmType,
    Genre,
    PartialDate,
    Person,
    PersonFilm,
    PersonRef,
    Role,
)

_FILMS = """
SELECT f.id::text, f.title, f.description, f.creation_date, f.rating, f.type, f.certificate,
       COALESCE((SELECT json_agg(json_build_object('id', g.id, 'name', g.name,
                                                   'description', g.description)
                                 ORDER BY g.name, g.id)
                   FROM content.genre_film_work gfw JOIN content.genre g ON g.id = gfw.genre_id
                  WHERE gfw.film_work_id = f.id), '[]'),
       COALESCE((SELECT json_agg(json_build_object('id', p.id, 'full_name', p.full_name,
                                                   'role', pfw.role)
                                 ORDER BY pfw.created_at, pfw.id)
                   FROM content.person_film_work pfw JOIN content.person p ON p.id = pfw.person_id
                  WHERE pfw.film_work_id = f.id), '[]')
  FROM content.film_work f WHERE f.id = ANY($1::uuid[])
"""
_PERSONS = """
SELECT p.id::text, p.full_name, p.birth_date,
       COALESCE((SELECT json_agg(x ORDER BY x.rating DESC NULLS LAST, x.id) FROM (
           SELECT f.id, f.title, f.year, f.rating, f.type,
                  array_agg(DISTINCT pfw.role) AS roles,
                  (SELECT array_agg(g.name ORDER BY g.name) FROM content.genre_film_work gfw
                     JOIN content.genre g ON g.id = gfw.genre_id
                    WHERE gfw.film_work_id = f.id) AS genres
             FROM content.person_film_work pfw JOIN content.film_work f ON f.id = pfw.film_work_id
            WHERE pfw.person_id = p.id GROUP BY f.id) x), '[]')
  FROM content.person p WHERE p.id = ANY($1::uuid[])
"""
_GENRES = """
SELECT g.id::text, g.name, g.description,
       (SELECT count(*) FROM content.genre_film_work gfw WHERE gfw.genre_id = g.id)
  FROM content.genre g WHERE g.id = ANY($1::uuid[])
"""
_ROLE_ORDER = (Role.ACTOR, Role.DIRECTOR, Role.WRITER)


async def films(db: asyncpg.Connection, ids: Sequence[str]) -> list[Film]:
    found = []
    for row in await db.fetch(_FILMS, list(ids)):
        genres = (Genre(**g) for g in json.loads(row[7]))
        credits = ((p["role"], PersonRef(p["id"], p["full_name"])) for p in json.loads(row[8]))
        found.append(Film.from_row(tuple(row[:7]), genres, credits))
    return found


async def persons(db: asyncpg.Connection, ids: Sequence[str]) -> list[Person]:
    found = []
    for row in await db.fetch(_PERSONS, list(ids)):
        films_of = tuple(
            PersonFilm(
                FilmSummary(
                    f["id"], f["title"], f["year"], f["rating"], tuple(f["genres"] or ()),
                    FilmType(f["type"]),
                ),
                tuple(r for r in _ROLE_ORDER if r in f["roles"]),
            )
            for f in json.loads(row[3])
        )  # fmt: skip
        found.append(Person(row[0], row[1], PartialDate.stored(row[2]), films_of))
    return found


async def genres(db: asyncpg.Connection, ids: Sequence[str]) -> list[Genre]:
    return [Genre(r[0], r[1], r[2], int(r[3])) for r in await db.fetch(_GENRES, list(ids))]


async def changes_after(
    db: asyncpg.Connection, stream: str, after: int, limit: int
) -> list[tuple[str, int]]:
    """The next ``limit`` ids of ``stream`` in the change log after ``after``, in order."""
    rows = await db.fetch(
        "SELECT id::text, seq FROM content.change WHERE stream = $1 AND seq > $2"
        " ORDER BY seq LIMIT $3",
        stream,
        after,
        limit,
    )
    return [(r[0], int(r[1])) for r in rows]
