"""The embedded search's typo rule, word by word: Elasticsearch's AUTO fuzziness."""

from __future__ import annotations

import pytest

from services.catalog.fuzzy import MAX_VARIANTS, Vocabulary, max_edits


@pytest.mark.parametrize(
    ("word", "edits"),
    [("", 0), ("up", 0), ("bak", 1), ("heat", 1), ("empir", 1), ("strike", 2), ("godfather", 2)],
)
def test_edits_grow_with_the_word_as_auto_fuzziness(word: str, edits: int) -> None:
    assert max_edits(word) == edits


def test_variants_are_known_words_within_the_edits_closest_first() -> None:
    known = Vocabulary(["godfather", "godmother", "godzilla", "goodfellas", "back", "bake"])
    assert known.variants("godfahter") == ["godfather"]  # a swap is one edit
    assert known.variants("godfather") == ["godmother"]  # itself is no variant
    assert known.variants("godfahtr") == ["godfather"]  # two edits
    assert known.variants("gdfthr") == []  # three
    assert known.variants("bak") == ["back", "bake"]
    assert known.variants("bkc") == []  # two edits in three letters
    assert Vocabulary(["up"]).variants("uo") == []  # two letters: exact only


def test_a_typo_is_never_looked_for_in_the_first_letter() -> None:
    assert Vocabulary(["heat", "beat"]).variants("veat") == []


def test_a_word_takes_its_closest_variants_only() -> None:
    letters = "abcdefghijklmnopqrstuvwyz"  # no "x"
    one_edit = [f"matri{c}" for c in letters] + [f"mat{c}ix" for c in letters if c != "r"]
    two_edits = ["mbtrbx", "matr"]
    assert len(one_edit) == MAX_VARIANTS - 1
    found = Vocabulary([*two_edits, *one_edit, "matrix"]).variants("matrix")
    assert found[:-1] == sorted(one_edit) and found[-1] in two_edits
