"""Content similarity from what a film is: genres, people and the text about it.

Each film becomes one L2-normalised sparse row of three blocks (genres with the kind,
movie or TV show, as one more; people; text), each block itself
L2-normalised and scaled by the square root of its weight, so the cosine of two
films is the weighted mean of their genre, people and text cosines. People are
weighted by role: a director counts most, a writer less, actors by billing order
(``actor_decay`` per place, so the 10th actor weighs a small fraction of the 1st).
Needs no interactions: a film nobody has rated yet is as well served as any.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import Stemmer
from sklearn.feature_extraction import DictVectorizer
from sklearn.feature_extraction.text import (
    ENGLISH_STOP_WORDS,
    CountVectorizer,
    TfidfTransformer,
)
from stop_words import get_stop_words

from services.recommendations.engines.collaborative import best_liked
from services.recommendations.engines.types import (
    RECENCY,
    FilmInfo,
    FloatArray,
    IntArray,
    ItemIndex,
    Profile,
    l2_normalize,
    taste_matrix,
)


@dataclass(frozen=True)
class ContentConfig:
    genre_weight: float = 1.0
    people_weight: float = 1.0
    text_weight: float = 1.0
    director_weight: float = 1.0
    writer_weight: float = 0.5
    actor_weight: float = 0.8  # the first-billed actor
    actor_decay: float = 0.7  # each later place multiplies by this: 10th actor ~ 0.04 of 1st
    dislike_weight: float = 0.5
    recency: float = RECENCY  # weight per step back in the user's history


def person_weights(film: FilmInfo, config: ContentConfig) -> dict[str, float]:
    """Weight of each person in a film; one person in several roles keeps the largest."""
    weights: dict[str, float] = {}

    def add(name: str, weight: float) -> None:
        key = name.strip().casefold()
        if key:
            weights[key] = max(weights.get(key, 0.0), weight)

    for director in film.directors:
        add(director, config.director_weight)
    for writer in film.writers:
        add(writer, config.writer_weight)
    for place, actor in enumerate(film.actors):
        add(actor, config.actor_weight * config.actor_decay**place)
    return weights


_CYRILLIC = re.compile(r"[\u0400-\u04ff]")


@functools.cache
def stop_words() -> frozenset[str]:
    """English (scikit-learn's list) and Russian (the stop-words package) words that say
    nothing about a film; descriptions in the catalog come in both languages."""
    return frozenset(ENGLISH_STOP_WORDS) | {w.casefold() for w in get_stop_words("russian")}


def text_terms(texts: Sequence[str]) -> sp.csr_matrix:
    """Texts x stems: how often each text uses each stem, stop words left out.

    Words are counted by scikit-learn's tokenizer, then each distinct word is stemmed
    once by the Snowball stemmer (PyStemmer) of its script (Russian for Cyrillic, English
    otherwise)
    and the columns of words with one stem are summed: «фильмы», «фильма» and «фильм»
    are one term, as are "aliens" and "alien". Stemming the vocabulary rather than every
    word keeps the per-word work in scikit-learn's loop (a catalog has far fewer distinct
    words than words). Raises ValueError when the texts have no word at all.
    """
    vectorizer = CountVectorizer()
    counts = vectorizer.fit_transform(texts)
    skip = stop_words()
    vocabulary = vectorizer.get_feature_names_out().tolist()
    kept = [w for w, text in enumerate(vocabulary) if text not in skip]
    stemmed: dict[int, str] = {}
    for language, wanted in (("russian", True), ("english", False)):
        mine = [w for w in kept if bool(_CYRILLIC.search(vocabulary[w])) is wanted]
        stemmer = Stemmer.Stemmer(language)
        stemmed.update(zip(mine, stemmer.stemWords([vocabulary[w] for w in mine]), strict=True))
    stems: dict[str, int] = {}  # stem -> its column
    words = sorted(stemmed)  # kept words' columns in ``counts``, and their stems' below
    columns = [stems.setdefault(stemmed[w], len(stems)) for w in words]
    projection = sp.csr_matrix(
        (np.ones(len(words)), (words, columns)), shape=(counts.shape[1], len(stems))
    )
    return sp.csr_matrix(counts @ projection)


def _genres(film: FilmInfo) -> dict[str, float]:
    """A film's genres, and its kind as one more: a series is less like a film."""
    found = {g.strip().casefold(): 1.0 for g in film.genres}
    if film.kind:
        found[f"kind:{film.kind}"] = 1.0
    return found


def _block(matrix: sp.spmatrix, weight: float) -> sp.csr_matrix:
    return sp.csr_matrix(l2_normalize(sp.csr_matrix(matrix, dtype=np.float64)) * np.sqrt(weight))


def film_features(films: Sequence[FilmInfo], config: ContentConfig) -> sp.csr_matrix:
    """Films x features, rows L2-normalised (a film with no features is a zero row)."""
    if not films:
        return sp.csr_matrix((0, 0), dtype=np.float64)
    blocks: list[sp.csr_matrix] = []
    genres = DictVectorizer().fit_transform([_genres(film) or {"": 0.0} for film in films])
    blocks.append(_block(genres, config.genre_weight))
    people = DictVectorizer().fit_transform(
        [person_weights(film, config) or {"": 0.0} for film in films]
    )
    blocks.append(_block(people, config.people_weight))
    texts = [f"{film.title} {film.description}".strip() for film in films]
    if any(texts):
        try:
            terms = text_terms(texts)
        except ValueError:  # no word at all
            terms = sp.csr_matrix((len(texts), 0))
        if terms.shape[1]:
            tfidf = TfidfTransformer(sublinear_tf=True).fit_transform(terms)
            blocks.append(_block(tfidf, config.text_weight))
    return sp.csr_matrix(l2_normalize(sp.hstack(blocks, format="csr")))


class ContentModel:
    """Scores by similarity of films' features; serves "more like this" and cold films."""

    def __init__(self, index: ItemIndex, features: sp.csr_matrix, config: ContentConfig):
        self.index = index
        self.features = features
        self.config = config

    @classmethod
    def fit(
        cls, films: Sequence[FilmInfo], index: ItemIndex, config: ContentConfig = ContentConfig()
    ) -> ContentModel:
        """``films`` in the order of ``index``."""
        if [f.id for f in films] != list(index.ids):
            raise ValueError("films must be given in the order of the index")
        return cls(index, film_features(films, config), config)

    def scores(self, tastes: sp.spmatrix) -> FloatArray:
        """Users x items: sum of similarities to liked films minus (weighted) disliked ones."""
        profile_features = sp.csr_matrix(tastes) @ self.features
        return np.asarray((profile_features @ self.features.T).toarray(), dtype=np.float64)

    def score(self, profile: Profile) -> FloatArray:
        tastes = taste_matrix(
            [profile], self.index, self.config.dislike_weight, self.config.recency
        )
        return np.asarray(self.scores(tastes)[0], dtype=np.float64)

    def similar_to(self, column: int) -> FloatArray:
        """Cosine similarity of one film to every film (itself included, 1.0)."""
        row = self.features[column]
        return np.asarray((row @ self.features.T).toarray()[0], dtype=np.float64)

    def explain(self, profile: Profile, film_ids: Sequence[str]) -> list[str | None]:
        """For each film, the liked film most like it: the reason says «Похоже на «X»», a
        claim of likeness, so the newest like does not get an edge here (it does in the
        score, and in the collaborative reasons)."""

        def block(liked: IntArray, targets: IntArray) -> FloatArray:
            product = self.features[liked] @ self.features[targets].T
            return np.asarray(product.toarray(), dtype=np.float64)

        return best_liked(self.index, profile, film_ids, block)
