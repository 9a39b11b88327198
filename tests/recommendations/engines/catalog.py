"""Tiny hand-made catalogs and histories for the engine tests."""

from __future__ import annotations

from services.recommendations.engines import FilmInfo, Interaction

SCI_FI = ("s1", "s2", "s3", "s4")
ROMANCE = ("r1", "r2", "r3", "r4")


def films() -> list[FilmInfo]:
    sci_fi = [
        FilmInfo(
            f, f"Star Voyage {f}", 2000, ("Sci-Fi",), description="spaceship crew alien planet"
        )
        for f in SCI_FI
    ]
    romance = [
        FilmInfo(f, f"Paris Love {f}", 2001, ("Romance",), description="lovers meet in paris cafe")
        for f in ROMANCE
    ]
    return sci_fi + romance


def two_tastes(users: int = 6) -> list[Interaction]:
    """Half the users like every sci-fi film, the other half every romance."""
    history = []
    for user in range(users):
        group = SCI_FI if user % 2 == 0 else ROMANCE
        history += [Interaction(f"u{user}", film, 1) for film in group]
    return history
