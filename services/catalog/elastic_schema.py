"""The Elasticsearch indexes of the catalog: names, mappings, documents.

Films are denormalized (genres and people inside), so a search or a film page is one
read. Text is indexed three ways: folded (case, accents and "ё" ignored), English and
Russian stemming; titles also get a normalized keyword for sorting.
"""

from __future__ import annotations

from typing import Any

from services.catalog.matching import normalise
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

FILMS, GENRES, PERSONS = "films", "genres", "persons"

SETTINGS: dict[str, Any] = {
    "analysis": {
        # Russian "yo" is written as "ye" as often as not: fold it (escaped: look-alikes).
        "char_filter": {
            "yo": {"type": "mapping", "mappings": ["\u0451 => \u0435", "\u0401 => \u0415"]}
        },
        "filter": {
            "english_stemmer": {"type": "stemmer", "language": "english"},
            "russian_stemmer": {"type": "stemmer", "language": "russian"},
        },
        "analyzer": {
            "folded": {
                "tokenizer": "standard",
                "char_filter": ["yo"],
                "filter": ["lowercase", "asciifolding"],
            },
            "folded_en": {
                "tokenizer": "standard",
                "char_filter": ["yo"],
                "filter": ["lowercase", "asciifolding", "english_stemmer"],
            },
            "folded_ru": {
                "tokenizer": "standard",
                "char_filter": ["yo"],
                "filter": ["lowercase", "russian_stemmer"],
            },
        },
        "normalizer": {
            "sortable": {
                "type": "custom",
                "char_filter": ["yo"],
                "filter": ["lowercase", "asciifolding"],
            }
        },
    },
    "number_of_shards": 1,
    "number_of_replicas": 0,
}

_TEXT: dict[str, Any] = {
    "type": "text",
    "analyzer": "folded",
    "fields": {
        "en": {"type": "text", "analyzer": "folded_en"},
        "ru": {"type": "text", "analyzer": "folded_ru"},
    },
}
_PEOPLE: dict[str, Any] = {
    "properties": {"id": {"type": "keyword"}, "full_name": _TEXT},
}

MAPPINGS: dict[str, dict[str, Any]] = {
    FILMS: {
        "dynamic": "strict",
        "properties": {
            "id": {"type": "keyword"},
            "title": {
                **_TEXT,
                "fields": {
                    **_TEXT["fields"],
                    "sort": {"type": "keyword", "normalizer": "sortable"},
                },
            },
            "description": _TEXT,
            "title_key": {"type": "keyword"},  # matching's normal form: exact-title hits
            "creation_date": {"type": "keyword", "index": False},
            "year": {"type": "integer"},
            "rating": {"type": "float"},
            "type": {"type": "keyword"},
            "certificate": {"type": "keyword", "index": False},
            "genres": {
                "properties": {
                    "id": {"type": "keyword"},
                    "name": {"type": "keyword"},
                    "description": {"type": "text", "index": False},
                }
            },
            "directors": _PEOPLE,
            "actors": _PEOPLE,
            "writers": _PEOPLE,
        },
    },
    GENRES: {
        "dynamic": "strict",
        "properties": {
            "id": {"type": "keyword"},
            "name": {"type": "keyword"},
            "description": {"type": "text"},
            "film_count": {"type": "integer"},
        },
    },
    PERSONS: {
        "dynamic": "strict",
        "properties": {
            "id": {"type": "keyword"},
            "full_name": _TEXT,
            "birth_date": {"type": "keyword", "index": False},
            # Shown, never searched: stored as-is.
            "films": {"type": "object", "enabled": False},
        },
    },
}


def index_name(prefix: str, kind: str) -> str:
    return f"{prefix}{kind}"


def _refs(people: tuple[PersonRef, ...]) -> list[dict[str, str]]:
    return [{"id": p.id, "full_name": p.full_name} for p in people]


def film_document(film: Film) -> dict[str, Any]:
    return {
        "id": film.id,
        "title": film.title,
        "title_key": normalise(film.title),
        "description": film.description,
        "creation_date": str(film.creation_date) if film.creation_date else None,
        "year": film.year,
        "rating": film.rating,
        "type": str(film.type),
        "certificate": film.certificate,
        "genres": [{"id": g.id, "name": g.name, "description": g.description} for g in film.genres],
        "directors": _refs(film.directors),
        "actors": _refs(film.actors),
        "writers": _refs(film.writers),
    }


def film_from(doc: dict[str, Any]) -> Film:
    columns = ("id", "title", "description", "creation_date", "rating", "type", "certificate")
    genres = (Genre(g["id"], g["name"], g.get("description") or "") for g in doc["genres"])
    credits = (
        (role, PersonRef(p["id"], p["full_name"]))
        for role, key in (
            (Role.DIRECTOR, "directors"),
            (Role.ACTOR, "actors"),
            (Role.WRITER, "writers"),
        )
        for p in doc.get(key) or []
    )
    return Film.from_row(tuple(doc.get(c) for c in columns), genres, credits)


def summary_document(film: FilmSummary) -> dict[str, Any]:
    return {
        "id": film.id,
        "title": film.title,
        "year": film.year,
        "rating": film.rating,
        "genres": list(film.genres),
        "type": str(film.type),
    }


def summary_from(doc: dict[str, Any]) -> FilmSummary:
    """A summary from a film or person-film document."""
    genres = doc.get("genres") or []
    names = tuple(g["name"] if isinstance(g, dict) else g for g in genres)
    return FilmSummary(
        doc["id"], doc["title"], doc.get("year"), doc.get("rating"), names, FilmType(doc["type"])
    )


def person_document(person: Person) -> dict[str, Any]:
    return {
        "id": person.id,
        "full_name": person.full_name,
        "birth_date": str(person.birth_date) if person.birth_date else None,
        "films": [
            {"film": summary_document(pf.film), "roles": [str(r) for r in pf.roles]}
            for pf in person.films
        ],
    }


def person_from(doc: dict[str, Any], max_films: int | None = None) -> Person:
    films = doc.get("films") or []
    return Person(
        doc["id"],
        doc["full_name"],
        PartialDate.stored(doc.get("birth_date")),
        tuple(
            PersonFilm(summary_from(f["film"]), tuple(Role(r) for r in f["roles"]))
            for f in films[:max_films]
        ),
    )


def genre_document(genre: Genre) -> dict[str, Any]:
    return {
        "id": genre.id,
        "name": genre.name,
        "description": genre.description,
        "film_count": genre.film_count,
    }
