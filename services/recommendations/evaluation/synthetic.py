"""A MovieLens-format dataset with hidden taste structure, for tests and tuning.

Films belong to taste clusters; a cluster favours a few genres and a vocabulary
of title words, and some films are sequels of another film in their cluster.
Users mix one or two clusters. Each film and user also has a latent vector
around its cluster's, so taste is finer than the clusters. A user rates films
drawn by popularity (Zipf) times affinity; the rating follows affinity plus
noise, so some ratings are dislikes. Taste drifts: a user's films are drawn, and
rated, with the taste of the moment, which moves from their first cluster toward their
second over time, as people's does (on real ratings the last few likes predict the next
one best). Everything is reproducible from the seed.
"""

from __future__ import annotations

import numpy as np

from services.recommendations.engines.types import FilmInfo, IntArray
from services.recommendations.evaluation.movielens import MovieLens, Ratings

GENRES = (
    "Action",
    "Adventure",
    "Animation",
    "Children",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)
_SYLLABLES = ("ka", "lo", "mi", "ren", "tor", "vi", "sha", "dun", "el", "gar", "po", "zen", "qu")
CLUSTERS = 10
DIMENSIONS = 16
PHASES = 4


def _words(rng: np.random.Generator, count: int) -> list[str]:
    return [
        "".join(rng.choice(_SYLLABLES, size=int(rng.integers(2, 4)))).capitalize()
        for _ in range(count)
    ]


def _films(rng: np.random.Generator, n_items: int, cluster: IntArray) -> list[FilmInfo]:
    cluster_genres = [rng.choice(len(GENRES), size=3, replace=False) for _ in range(CLUSTERS)]
    vocabulary = [_words(rng, 12) for _ in range(CLUSTERS)]
    films: list[FilmInfo] = []
    for item in range(n_items):
        c = int(cluster[item])
        genres = set(rng.choice(cluster_genres[c], size=int(rng.integers(1, 3)), replace=False))
        if rng.random() < 0.3:
            genres.add(int(rng.integers(len(GENRES))))
        same_cluster = [f for f, k in zip(films, cluster[:item], strict=False) if k == c]
        year = int(rng.integers(1950, 2024))
        if same_cluster and rng.random() < 0.1:
            original = same_cluster[int(rng.integers(len(same_cluster)))]
            title = f"{original.title} {int(rng.integers(2, 5))}"
        else:
            title = " ".join(rng.choice(vocabulary[c], size=2, replace=False))
        films.append(FilmInfo(str(item + 1), title, year, tuple(GENRES[g] for g in sorted(genres))))
    return films


def generate(users: int = 2000, items: int = 1000, seed: int = 42) -> MovieLens:
    rng = np.random.default_rng(seed)
    centroids = rng.normal(size=(CLUSTERS, DIMENSIONS))
    cluster = rng.integers(CLUSTERS, size=items)
    item_factors = centroids[cluster] + 0.7 * rng.normal(size=(items, DIMENSIONS))
    films = _films(rng, items, cluster)
    mixes = rng.integers(CLUSTERS, size=(users, 2))
    share = rng.uniform(0.5, 1.0, size=(users, 1))  # of the first cluster, at the start
    own = 0.5 * rng.normal(size=(users, DIMENSIONS))
    first, second = centroids[mixes[:, 0]], centroids[mixes[:, 1]]
    popularity = 1.0 / np.arange(1, items + 1) ** 0.9
    log_popularity = np.log(rng.permutation(popularity))
    activity = np.clip(rng.lognormal(np.log(30), 0.8, size=users), 5, items // 2).astype(int)
    # Each user's ratings fall into PHASES equal stretches of time; a phase's films are
    # drawn with the taste of that moment, which moves from (share, 1 - share) of the two
    # clusters to the reverse: tastes drift, and the latest likes tell where they are.
    per_phase = np.stack([rng.multinomial(n, [1 / PHASES] * PHASES) for n in activity])

    user_rows, film_columns, affinities, moments = [], [], [], []
    for start in range(0, users, 500):
        block = slice(start, min(start + 500, users))
        taken = np.zeros((block.stop - start, items), dtype=bool)
        for phase in range(PHASES):
            mix = share[block] + (1 - 2 * share[block]) * phase / (PHASES - 1)
            taste_now = mix * first[block] + (1 - mix) * second[block] + own[block]
            affinity = taste_now @ item_factors.T / np.sqrt(DIMENSIONS)
            # Gumbel top-k: sampling without replacement, probability ~ popularity * e^affinity.
            keys = log_popularity + 1.5 * affinity + rng.gumbel(size=affinity.shape)
            keys[taken] = -np.inf
            order = np.argsort(-keys, axis=1)
            for offset, row in enumerate(order):
                chosen = row[: per_phase[start + offset, phase]]
                taken[offset, chosen] = True
                user_rows.append(np.full(len(chosen), start + offset))
                film_columns.append(chosen)
                affinities.append(affinity[offset, chosen])
                moments.append(((phase + rng.random(len(chosen))) * 10**8 / PHASES).astype(int))
    rows = np.concatenate(user_rows)
    columns = np.concatenate(film_columns)
    taste = np.concatenate(affinities) + 0.6 * rng.normal(size=len(rows))
    edges = np.quantile(taste, [0.07, 0.17, 0.40, 0.70])
    stars = 1.0 + np.searchsorted(edges, taste).astype(np.float64)
    timestamps = 1_000_000_000 + np.concatenate(moments)
    ratings = Ratings(
        np.array([str(u + 1) for u in rows.tolist()]),
        np.array([films[c].id for c in columns.tolist()]),
        stars,
        timestamps.astype(np.int64),
    )
    return MovieLens(f"synthetic-{users}x{items}-seed{seed}", films, ratings)
