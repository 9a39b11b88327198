# ruff: noqa: E501 - the rows read best as a table, one line each
"""A small catalog with genres and people, so content similarity means something."""

from __future__ import annotations

from pathlib import Path

from etl.legacy_file import create_legacy_file, insert

TS = "2021-06-16 20:14:09.221855+00"


def film_id(n: int) -> str:
    return f"aaaaaaaa-0000-4000-8000-{n:012d}"


def _id(prefix: str, n: int) -> str:
    return f"{prefix}-0000-4000-8000-{n:012d}"


GENRES = {
    "Sci-Fi": _id("bbbbbbbb", 1),
    "Crime": _id("bbbbbbbb", 2),
    "Romance": _id("bbbbbbbb", 3),
    "Drama": _id("bbbbbbbb", 4),
}
#: title, year, rating, genres, director, actors, description
FILMS = [
    ("Inception", 2010, 8.8, ("Sci-Fi",), "Christopher Nolan", ("Leonardo DiCaprio", "Tom Hardy"), "A thief enters dreams to plant an idea."),
    ("Interstellar", 2014, 8.6, ("Sci-Fi", "Drama"), "Christopher Nolan", ("Matthew McConaughey", "Anne Hathaway"), "Explorers travel through a wormhole in space to save humanity."),
    ("Tenet", 2020, 7.3, ("Sci-Fi",), "Christopher Nolan", ("John David Washington", "Robert Pattinson"), "A secret agent manipulates the flow of time."),
    ("Arrival", 2016, 7.9, ("Sci-Fi", "Drama"), "Denis Villeneuve", ("Amy Adams", "Jeremy Renner"), "A linguist talks to aliens who arrive in space ships."),
    ("Blade Runner 2049", 2017, 8.0, ("Sci-Fi",), "Denis Villeneuve", ("Ryan Gosling", "Harrison Ford"), "A replicant hunter finds a secret about the future of humanity."),
    ("Dune", 2021, 8.0, ("Sci-Fi",), "Denis Villeneuve", ("Timothee Chalamet", "Rebecca Ferguson"), "A noble family fights for a desert planet in space."),
    ("Heat", 1995, 8.3, ("Crime", "Drama"), "Michael Mann", ("Al Pacino", "Robert De Niro"), "A detective hunts a master thief in Los Angeles."),
    ("Collateral", 2004, 7.5, ("Crime",), "Michael Mann", ("Tom Cruise", "Jamie Foxx"), "A cab driver is forced to drive a hitman across Los Angeles."),
    ("The Godfather", 1972, 9.2, ("Crime", "Drama"), "Francis Ford Coppola", ("Marlon Brando", "Al Pacino"), "The aging patriarch of a crime dynasty hands it to his son."),
    ("Goodfellas", 1990, 8.7, ("Crime",), "Martin Scorsese", ("Robert De Niro", "Ray Liotta"), "The rise and fall of a mob associate and his crime family."),
    ("Casino", 1995, 8.2, ("Crime", "Drama"), "Martin Scorsese", ("Robert De Niro", "Sharon Stone"), "Greed and mob crime in Las Vegas."),
    ("The Irishman", 2019, 7.8, ("Crime",), "Martin Scorsese", ("Robert De Niro", "Al Pacino"), "A hitman recalls his years with a crime family."),
    ("Amelie", 2001, 8.3, ("Romance",), "Jean-Pierre Jeunet", ("Audrey Tautou",), "A shy waitress in Paris changes lives and finds love."),
    ("Delicatessen", 1991, 7.6, ("Romance", "Drama"), "Jean-Pierre Jeunet", ("Dominique Pinon",), "A strange love story in a post-apocalyptic building."),
    ("Before Sunrise", 1995, 8.1, ("Romance", "Drama"), "Richard Linklater", ("Ethan Hawke", "Julie Delpy"), "Two strangers fall in love over one night in Vienna."),
    ("Before Sunset", 2004, 8.1, ("Romance", "Drama"), "Richard Linklater", ("Ethan Hawke", "Julie Delpy"), "Nine years later they meet again in Paris and love returns."),
    ("Notting Hill", 1999, 7.2, ("Romance",), "Roger Michell", ("Hugh Grant", "Julia Roberts"), "A bookseller falls in love with a film star in London."),
    ("La La Land", 2016, 8.0, ("Romance", "Drama"), "Damien Chazelle", ("Ryan Gosling", "Emma Stone"), "A pianist and an actress fall in love in Los Angeles."),
]  # fmt: skip
IDS = {title: film_id(n) for n, (title, *_) in enumerate(FILMS)}
GENRE_OF = {IDS[f[0]]: f[3] for f in FILMS}


def build_catalog_file(path: Path) -> Path:
    connection = create_legacy_file(path)
    insert(
        connection,
        "film_work",
        [
            (IDS[t], t, d, f"{y}-01-01", None, None, r, "movie", TS, TS)
            for t, y, r, _, _, _, d in FILMS
        ],
    )
    insert(connection, "genre", [(g, name, None, TS, TS) for name, g in GENRES.items()])
    people = sorted({p for f in FILMS for p in (f[4], *f[5])})
    person_ids = {name: _id("cccccccc", n) for n, name in enumerate(people)}
    insert(connection, "person", [(person_ids[p], p, None, TS, TS) for p in people])
    links = [(IDS[f[0]], GENRES[g]) for f in FILMS for g in f[3]]
    insert(
        connection,
        "genre_film_work",
        [(_id("dddddddd", i), f, g, TS) for i, (f, g) in enumerate(links)],
    )
    roles = [(IDS[f[0]], person_ids[f[4]], "director") for f in FILMS]
    roles += [(IDS[f[0]], person_ids[a], "actor") for f in FILMS for a in f[5]]
    insert(
        connection,
        "person_film_work",
        [(_id("eeeeeeee", i), f, p, r, TS) for i, (f, p, r) in enumerate(roles)],
    )
    connection.commit()
    connection.close()
    return path
