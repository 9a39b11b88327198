"""MovieLens-format directories: ``ratings.csv`` and ``movies.csv``."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from services.recommendations.engines.types import FilmInfo

_TITLE_YEAR = re.compile(r"^(?P<title>.*?)\s*\((?P<year>\d{4})(?:[-\u2013]\d{0,4})?\)\s*$")
NO_GENRES = "(no genres listed)"


@dataclass(frozen=True)
class Ratings:
    """One row per rating, as parallel arrays (ids are MovieLens ids, as text)."""

    user_ids: npt.NDArray[np.str_]
    film_ids: npt.NDArray[np.str_]
    values: npt.NDArray[np.float64]  # 0.5-5 stars
    timestamps: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.values)


@dataclass(frozen=True)
class MovieLens:
    name: str
    films: list[FilmInfo]
    ratings: Ratings


def parse_title(text: str) -> tuple[str, int | None]:
    """ "Toy Story (1995)" -> ("Toy Story", 1995)."""
    match = _TITLE_YEAR.match(text.strip())
    if match is None:
        return text.strip(), None
    return match["title"], int(match["year"])


def read_movielens(directory: Path) -> MovieLens:
    films = []
    with (directory / "movies.csv").open(encoding="utf-8", newline="") as file:
        for row in csv.DictReader(file):
            title, year = parse_title(row["title"])
            genres = tuple(g for g in row["genres"].split("|") if g and g != NO_GENRES)
            films.append(FilmInfo(row["movieId"], title, year, genres))
    with (directory / "ratings.csv").open(encoding="utf-8", newline="") as file:
        reader = csv.reader(file)
        header = next(reader)
        position = {name: i for i, name in enumerate(header)}
        rows = list(reader)
    column = [position[name] for name in ("userId", "movieId", "rating", "timestamp")]
    table = np.array(rows, dtype=np.str_).reshape(len(rows), len(header))
    ratings = Ratings(
        table[:, column[0]],
        table[:, column[1]],
        table[:, column[2]].astype(np.float64),
        table[:, column[3]].astype(np.float64).astype(np.int64),
    )
    return MovieLens(directory.name, films, ratings)


def write_movielens(directory: Path, data: MovieLens) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "movies.csv").open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["movieId", "title", "genres"])
        for film in data.films:
            title = f"{film.title} ({film.year})" if film.year else film.title
            writer.writerow([film.id, title, "|".join(film.genres) or NO_GENRES])
    ratings = data.ratings
    with (directory / "ratings.csv").open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["userId", "movieId", "rating", "timestamp"])
        writer.writerows(
            zip(
                ratings.user_ids.tolist(),
                ratings.film_ids.tolist(),
                [f"{v:g}" for v in ratings.values.tolist()],
                ratings.timestamps.tolist(),
                strict=True,
            )
        )
