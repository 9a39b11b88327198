"""Synthetic legacy catalogs of any size, for scale tests of the ETL and search.

Deterministic for a seed, and as messy as real exports: NULL descriptions, dates and
ratings, ``+00`` timestamps, a few links to rows that do not exist and a few rows
the ETL must reject.
"""

from __future__ import annotations

import random
import uuid
from pathlib import Path

from etl.legacy_file import create_legacy_file, insert, legacy_timestamp

_WORDS = (
    "star dark night river lost city storm silent iron golden last first secret winter "
    "summer ghost shadow king queen empire garden ocean fire glass blood moon sun road "
    "home war peace love dream machine heart wolf bird island mountain forest house"
).split()
_NAMES = "Anna Boris Clara Dmitri Elena Felix Greta Hugo Irina Jonas Kira Leon Maria".split()
_SURNAMES = "Ivanova Smith Petrov Garcia Novak Kowalski Berg Rossi Muller Sato Laine".split()
_GENRES = (
    "Action Adventure Animation Comedy Crime Documentary Drama Family Fantasy History "
    "Horror Music Mystery Romance Sci-Fi Thriller War Western"
).split()
_BATCH = 5000


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def generate(path: Path, films: int, seed: int = 1, persons: int | None = None) -> None:
    """Write a legacy file with ``films`` films (and about ``films // 2`` persons)."""
    rng = random.Random(seed)
    connection = create_legacy_file(path)
    stamp = legacy_timestamp(0)
    genre_ids = [_uuid(rng) for _ in _GENRES]
    person_ids = [_uuid(rng) for _ in range(persons or max(10, films // 2))]
    with connection:
        insert(
            connection,
            "genre",
            [(g, name, None, stamp, stamp) for g, name in zip(genre_ids, _GENRES, strict=True)],
        )
        insert(
            connection,
            "person",
            [
                (p, f"{rng.choice(_NAMES)} {rng.choice(_SURNAMES)} {i}", None, stamp, stamp)
                for i, p in enumerate(person_ids)
            ],
        )
    for start in range(0, films, _BATCH):
        rows, genre_links, person_links = [], [], []
        for number in range(start, min(films, start + _BATCH)):
            film_id = _uuid(rng)
            title = " ".join(rng.sample(_WORDS, rng.randint(1, 4))).title() + f" {number}"
            if rng.random() < 0.001:
                title = "  "  # rejected: a film needs a title
            description = None if rng.random() < 0.2 else f"A story about {title.lower()}."
            date = (
                None
                if rng.random() < 0.1
                else f"{rng.randint(1920, 2024)}-{rng.randint(1, 12):02d}-01"
            )
            rating = None if rng.random() < 0.1 else round(rng.uniform(1, 10), 1)
            kind = "movie" if rng.random() < 0.8 else "tv_show"
            rows.append((film_id, title, description, date, None, None, rating, kind, stamp, stamp))
            for genre_id in rng.sample(genre_ids, rng.randint(1, 3)):
                genre_links.append((_uuid(rng), film_id, genre_id, stamp))
            for role, count in (("director", 1), ("writer", 1), ("actor", rng.randint(2, 6))):
                for person_id in rng.sample(person_ids, min(count, len(person_ids))):
                    person_links.append((_uuid(rng), film_id, person_id, role, stamp))
            if rng.random() < 0.005:  # a link to a person who was deleted long ago
                person_links.append((_uuid(rng), film_id, _uuid(rng), "actor", stamp))
        with connection:
            insert(connection, "film_work", rows)
            insert(connection, "genre_film_work", genre_links)
            insert(connection, "person_film_work", person_links)
    connection.close()
