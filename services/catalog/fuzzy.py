"""Typo tolerance as Elasticsearch's ``fuzziness: AUTO`` has it, for the embedded catalog.

No I/O here: the SQLite store reads an index's distinct words and asks this module which
of them a query word may be a typo of. The rule is Elasticsearch's, so that a search
forgives the same typos on either backend: a word of up to two letters matches only
itself, one of three to five letters a word one edit away, a longer one a word two edits
away. An edit inserts, deletes or replaces a letter, or swaps two neighbouring ones
(optimal string alignment, as Lucene's fuzzy queries count). Like the Elasticsearch
store's queries (``prefix_length``), a typo is never looked for in a word's first letter:
it is rare there, and it narrows the words compared to those sharing the first letter.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from rapidfuzz import process
from rapidfuzz.distance import OSA

#: Leading letters a typo is never looked for in (Elasticsearch's ``prefix_length``).
PREFIX_LENGTH = 1
#: Typo variants of one word a search takes at most, the closest first (Elasticsearch's
#: ``max_expansions``): a short word in a large catalog has many neighbours.
MAX_VARIANTS = 50


def max_edits(word: str) -> int:
    """Edits forgiven in ``word``: AUTO's 0 for 0-2 letters, 1 for 3-5, 2 for more."""
    length = len(word)
    return 0 if length < 3 else 1 if length < 6 else 2


def prefix(word: str) -> str:
    """What every typo variant of ``word`` begins with."""
    return word[:PREFIX_LENGTH]


class Vocabulary:
    """Distinct words of an index (those with one ``prefix``), grouped by length.

    A word can only be within ``k`` edits of words whose length is within ``k`` of its
    own, so a lookup measures the distance to those few groups, in C++, and no others.
    """

    def __init__(self, words: Iterable[str]) -> None:
        self._by_length: dict[int, list[str]] = defaultdict(list)
        for word in words:
            self._by_length[len(word)].append(word)

    def __len__(self) -> int:
        return sum(len(group) for group in self._by_length.values())

    def variants(self, word: str) -> list[str]:
        """Known words ``word`` may be a typo of (not itself), closest first."""
        edits = max_edits(word)
        if not edits:
            return []
        found: list[tuple[int, str]] = []
        for length in range(len(word) - edits, len(word) + edits + 1):
            group = self._by_length.get(length)
            if group:
                found.extend(
                    (int(distance), known)
                    for known, distance, _ in process.extract(
                        word, group, scorer=OSA.distance, score_cutoff=edits, limit=None
                    )
                    if known != word and known.startswith(prefix(word))
                )
        return [known for _, known in sorted(found)[:MAX_VARIANTS]]
