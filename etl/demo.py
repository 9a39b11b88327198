"""The bundled demo catalog: ``etl/demo/films.jsonl`` as a legacy file, then imported.

The demo goes through the same ETL path as a real legacy file, so every `cinema up`
on an empty catalog exercises it. Ids are uuid5 of the names, so rebuilding the file
gives the same ids and re-importing changes nothing.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from etl.legacy_file import create_legacy_file, insert, legacy_timestamp

FILMS = Path(__file__).with_name("demo") / "films.jsonl"
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://cinema.example/demo-catalog")
_ROLES = (("directors", "director"), ("writers", "writer"), ("actors", "actor"))


def demo_id(kind: str, *key: object) -> str:
    return str(uuid.uuid5(NAMESPACE, ":".join([kind, *map(str, key)])))


def read_films(path: Path = FILMS) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as error:
                    raise ValueError(f"{path}:{number}: {error}") from error


def write_demo_legacy_file(target: Path, source: Path = FILMS) -> int:
    """Write the demo catalog in the legacy schema; the number of films."""
    connection = create_legacy_file(target)
    genres: dict[str, str] = {}
    persons: dict[str, str] = {}
    films: list[tuple[object, ...]] = []
    genre_links: list[tuple[object, ...]] = []
    person_links: list[tuple[object, ...]] = []
    clock = 0  # link timestamps keep credit order (the catalog lists people by them)
    for film in read_films(source):
        film_id = demo_id("film", film["title"], film.get("year"))
        stamp = legacy_timestamp(len(films))
        year = film.get("year")
        films.append(
            (
                film_id, film["title"], film.get("description"), str(year) if year else None,
                film.get("certificate"), None, film.get("rating"), film.get("type", "movie"),
                stamp, stamp,
            )
        )  # fmt: skip
        for name in dict.fromkeys(film.get("genres", [])):
            genre_id = genres.setdefault(name, demo_id("genre", name))
            genre_links.append((demo_id("gfw", film_id, genre_id), film_id, genre_id, stamp))
        for key, role in _ROLES:
            for name in dict.fromkeys(film.get(key, [])):
                person_id = persons.setdefault(name, demo_id("person", name))
                clock += 1
                person_links.append(
                    (
                        demo_id("pfw", film_id, person_id, role),
                        film_id, person_id, role, legacy_timestamp(clock),
                    )
                )  # fmt: skip
    epoch = legacy_timestamp(0)
    with connection:
        insert(connection, "film_work", films)
        insert(connection, "genre", [(i, n, None, epoch, epoch) for n, i in genres.items()])
        insert(connection, "person", [(i, n, None, epoch, epoch) for n, i in persons.items()])
        insert(connection, "genre_film_work", genre_links)
        insert(connection, "person_film_work", person_links)
    connection.close()
    return len(films)
