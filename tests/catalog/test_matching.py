"""Title matching as a domain rule, without a store."""

from __future__ import annotations

from services.catalog.matching import TitleQuery, best_match, normalise, search_text, split_year
from services.catalog.records import FilmSummary, FilmType

MATRIX = FilmSummary("m", "The Matrix", 1999, 8.7, ("Sci-Fi",), FilmType.MOVIE)
HEAT = FilmSummary("h", "Heat", 1995, 8.3, (), FilmType.MOVIE)
HEAT_REMAKE = FilmSummary("h2", "Heat", 2030, None, (), FilmType.MOVIE)
AMELIE = FilmSummary("a", "Amélie", 2001, 8.3, (), FilmType.MOVIE)
CANDIDATES = [MATRIX, HEAT, HEAT_REMAKE, AMELIE]


def _match(title: str, year: int | None = None) -> str | None:
    found = best_match(TitleQuery(title, year), CANDIDATES, 0.8).film
    return found.id if found else None


def test_case_punctuation_and_articles_do_not_matter() -> None:
    assert normalise("Matrix, The") == normalise("the MATRIX!") == "matrix"
    assert _match("matrix, the") == "m"


def test_year_in_parentheses_picks_the_right_film_of_that_name() -> None:
    assert split_year("Heat (1995)") == ("Heat", 1995)
    assert _match("Heat (1995)") == "h"
    assert _match("Heat (2030)") == "h2"


def test_small_typo_and_missing_accent_still_match() -> None:
    assert _match("The Matirx") == "m"
    assert _match("Amelie") == "a"


def test_unrelated_title_is_no_match_but_reports_its_confidence() -> None:
    outcome = best_match(TitleQuery("Gone with the Wind"), CANDIDATES, 0.8)
    assert not outcome.matched
    assert 0.0 <= outcome.confidence < 0.8


def test_year_far_off_loses_confidence() -> None:
    exact = best_match(TitleQuery("The Matrix", 1999), [MATRIX], 0.0).confidence
    far = best_match(TitleQuery("The Matrix", 1970), [MATRIX], 0.0).confidence
    assert exact == 1.0 > far


def test_candidates_of_a_long_title_are_searched_by_its_first_words() -> None:
    long_title = "Dr. Strangelove or: How I Learned to Stop Worrying and Love the Bomb (1964)"
    assert search_text(TitleQuery(long_title)) == (
        "Dr. Strangelove or: How I Learned to Stop Worrying and"
    )
    assert search_text(TitleQuery("Heat (1995)")) == "Heat"
