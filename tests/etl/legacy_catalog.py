# ruff: noqa: E501 - the rows read best as a table, one line each
"""A small legacy database with the quirks of real exports, and its catalog settings."""

from __future__ import annotations

from pathlib import Path

from etl.legacy_file import create_legacy_file, insert

MATRIX = "11111111-1111-4111-8111-000000000001"
MATRIX_RELOADED = "11111111-1111-4111-8111-000000000002"
HEAT = "11111111-1111-4111-8111-000000000003"
HEAT_REMAKE = "11111111-1111-4111-8111-000000000004"
AMELIE = "11111111-1111-4111-8111-000000000005"
DOCUMENTARY = "11111111-1111-4111-8111-000000000006"
SERIES = "11111111-1111-4111-8111-000000000007"
NO_TITLE = "11111111-1111-4111-8111-000000000008"
# Films for the search's typo tolerance: unrated and unlinked, so that no ranking by
# rating and no listing by genre or person sees them ahead of the films above.
EMPIRE = "11111111-1111-4111-8111-000000000009"
GODFATHER = "11111111-1111-4111-8111-000000000010"
GODFATHER_II = "11111111-1111-4111-8111-000000000011"
GODMOTHER = "11111111-1111-4111-8111-000000000012"
STRIPES = "11111111-1111-4111-8111-000000000013"
UP = "11111111-1111-4111-8111-000000000014"
SCI_FI = "22222222-2222-4222-8222-000000000001"
CRIME = "22222222-2222-4222-8222-000000000002"
DRAMA = "22222222-2222-4222-8222-000000000003"
WACHOWSKI = "33333333-3333-4333-8333-000000000001"
REEVES = "33333333-3333-4333-8333-000000000002"
MANN = "33333333-3333-4333-8333-000000000003"
PACINO = "33333333-3333-4333-8333-000000000004"
TAUTOU = "33333333-3333-4333-8333-000000000005"
GHOST = "33333333-3333-4333-8333-0000000000ff"  # linked, never defined
TS = "2021-06-16 20:14:09.221855+00"

VALID_FILMS = 13


def build_legacy_file(path: Path) -> Path:
    connection = create_legacy_file(path)
    films = [
        (MATRIX, "The Matrix", "A hacker learns what reality is.", "1999-03-31", "R", None, 8.7, "movie"),
        (MATRIX_RELOADED, "The Matrix Reloaded", None, "2003-05-15", None, None, 7.2, "movie"),
        (HEAT, "Heat", "A thief and a detective in Los Angeles.", "1995-12-15", None, None, 8.3, "movie"),
        (HEAT_REMAKE, "Heat", "A remake nobody asked for.", "2030-01-01", None, None, None, "movie"),
        (AMELIE, "Amélie", "A shy waitress in Paris changes lives.", None, None, None, 8.3, "movie"),
        (DOCUMENTARY, "Machines", "A documentary about the matrix of modern life.", "2016", None, None, None, "movie"),
        (SERIES, "Ёлки", "Новогодняя история.", "2010-12-16", "12+", None, 6.1, "tv_show"),
        (NO_TITLE, "", "No title at all.", None, None, None, None, "movie"),
        (EMPIRE, "The Empire Strikes Back", None, "1980-05-21", None, None, None, "movie"),
        (GODFATHER, "The Godfather", None, "1972-03-24", None, None, None, "movie"),
        (GODFATHER_II, "The Godfather Part II", None, "1974-12-20", None, None, None, "movie"),
        (GODMOTHER, "Godmother", None, "1999", None, None, None, "movie"),
        (STRIPES, "Stripes", None, "1981-06-26", None, None, None, "movie"),
        (UP, "Up", None, "2009-05-29", None, None, None, "movie"),
    ]  # fmt: skip
    insert(connection, "film_work", [(*f, TS, TS) for f in films])
    insert(
        connection,
        "genre",
        [(SCI_FI, "Sci-Fi", None, TS, TS), (CRIME, "Crime", "Cops and robbers", TS, TS),
         (DRAMA, "Drama", None, TS, TS)],
    )  # fmt: skip
    insert(
        connection,
        "person",
        [(WACHOWSKI, "Lana Wachowski", None, TS, TS), (REEVES, "Keanu Reeves", "1964-09-02", TS, TS),
         (MANN, "Michael Mann", None, TS, TS), (PACINO, "Al Pacino", None, TS, TS),
         (TAUTOU, "Audrey Tautou", None, TS, TS)],
    )  # fmt: skip
    links = [(MATRIX, SCI_FI), (MATRIX_RELOADED, SCI_FI), (HEAT, CRIME), (HEAT, DRAMA),
             (AMELIE, DRAMA), (NO_TITLE, DRAMA)]  # fmt: skip
    insert(
        connection,
        "genre_film_work",
        [
            (f"44444444-4444-4444-8444-{i:012d}", film, genre, TS)
            for i, (film, genre) in enumerate(links)
        ],
    )
    people = [
        (MATRIX, WACHOWSKI, "director"), (MATRIX, WACHOWSKI, "writer"), (MATRIX, REEVES, "actor"),
        (MATRIX_RELOADED, REEVES, "actor"), (HEAT, MANN, "director"), (HEAT, PACINO, "actor"),
        (AMELIE, TAUTOU, "actor"), (HEAT, GHOST, "actor"),
    ]  # fmt: skip
    insert(
        connection,
        "person_film_work",
        [(f"55555555-5555-4555-8555-{i:012d}", f, p, r, f"2021-06-16 20:14:{i:02d}+00")
         for i, (f, p, r) in enumerate(people)],
    )  # fmt: skip
    connection.commit()
    connection.close()
    return path
