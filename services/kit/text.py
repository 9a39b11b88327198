"""Text folding shared by the catalog's indexing, search and title matching, the ETL that
writes its folded columns, and the catalog's clients that measure titles as it does."""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"\w+", re.UNICODE)


def fold(text: str) -> str:
    """Case- and accent-insensitive form: "Amélie" -> "amelie", "Ёлки" -> "елки"."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.casefold()


def words(text: str) -> list[str]:
    """The folded words of ``text``, punctuation dropped."""
    return [w for w in _WORD.findall(fold(text)) if w != "_"]
