"""The embedded catalog store: the SQLite catalog file, searched with FTS5."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from services.catalog import fuzzy, matching, sqlite_index
from services.catalog.records import (
    Film,
    FilmFilter,
    FilmOrder,
    FilmSummary,
    FilmType,
    Genre,
    Page,
    PartialDate,
    Person,
    PersonFilm,
    PersonRef,
    Role,
)
from services.catalog.store import KEYSET_ORDERS, After
from services.kit.cancellation import run_to_completion
from services.kit.text import words

_ORDER_SQL = {
    FilmOrder.RATING_DESC: "f.rating IS NULL, f.rating DESC, f.id",
    FilmOrder.RATING_ASC: "f.rating IS NULL, f.rating ASC, f.id",
    FilmOrder.YEAR_DESC: "f.year IS NULL, f.year DESC, f.id",
    FilmOrder.YEAR_ASC: "f.year IS NULL, f.year ASC, f.id",
    FilmOrder.TITLE_ASC: "f.sort_title ASC, f.id",
    FilmOrder.TITLE_DESC: "f.sort_title DESC, f.id DESC",
}
_DESCENDING = {FilmOrder.RATING_DESC, FilmOrder.YEAR_DESC}
# bm25() weights per column of film_fts: film_id, title, people, description (the
# unindexed rating and title_key after them weigh nothing).
_FILM_RANK = "bm25(film_fts, 0.0, 10.0, 3.0, 1.0, 0.0, 0.0)"
# Search order: relevance, lifted by the film's rating (bm25 is negative: lower is
# better), so of two films that match alike the better-known one comes first ("matrix"
# -> The Matrix before its sequel); 0-10 ratings move scores by at most half, far less
# than the title-over-description weights. Both read film_fts alone: no join per match.
_SEARCH_RANK = f"{_FILM_RANK} * (1.0 + 0.05 * COALESCE(film_fts.rating, 0))"
# Distinct words of one search or title that are looked up (the catalog service refuses
# longer searches; a title's first words are enough to find its candidates).
_MAX_TERMS = 32


@dataclass(frozen=True)
class _FtsQuery:
    """One search as FTS5 expressions, each matching what the one before it does and more."""

    exact: str  # every word as typed
    prefixed: str  # ... but the last one may be the start of a word
    forgiving: str  # ... and any word may be a typo of a known word: what a search finds

    def tier(self, table: str) -> tuple[str, list[str]]:
        """An ORDER BY term (0 for exact matches, 1 for prefix, 2 for fuzzy) and its values.

        A match's tier is how many of the narrower expressions it is outside. Each is
        searched once per query (SQLite builds an uncorrelated IN list once), and one
        that finds no fewer than the next is left out.
        """
        narrower = [
            expression
            for expression, wider in ((self.exact, self.prefixed), (self.prefixed, self.forgiving))
            if expression != wider
        ]
        outside = [
            f"({table}.rowid NOT IN (SELECT rowid FROM {table} WHERE {table} MATCH ?))"
            for _ in narrower
        ]
        return " + ".join(outside) or "0", narrower


def _marks(count: int) -> str:
    return ",".join("?" * count)


def _past(order: FilmOrder, after: After) -> tuple[str, list[Any]]:
    """The films that come after ``after`` in a keyset order (unknown keys last, ties by id)."""
    column = f"f.{KEYSET_ORDERS[order]}"
    if after.key is None:
        return f"({column} IS NULL AND f.id > ?)", [after.film_id]
    beyond = "<" if order in _DESCENDING else ">"
    return (
        f"({column} {beyond} ? OR ({column} = ? AND f.id > ?) OR {column} IS NULL)",
        [after.key, after.key, after.film_id],
    )


class SqliteCatalogStore:
    """Reads the embedded catalog; the connection opens on first use."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._connection: aiosqlite.Connection | None = None
        self._opening = asyncio.Lock()
        # The index's words by first letter, for typo variants; dropped when the catalog
        # changes (SQLite's data_version counts the other connections' commits).
        self._vocabularies: dict[tuple[str, str], fuzzy.Vocabulary] = {}
        self._data_version: int | None = None

    async def _db(self) -> aiosqlite.Connection:
        async with self._opening:
            if self._connection is None:
                # The first read's deadline must not cut the opening: a connection
                # opened but never kept would only be closed by the garbage collector.
                await run_to_completion(self._open())
            assert self._connection is not None
            return self._connection

    async def _open(self) -> None:
        self._connection = await sqlite_index.connect(self._path)

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        db = await self._db()
        cursor = await db.execute(sql, params)
        return list(await cursor.fetchall())

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    # -- films ------------------------------------------------------------------------

    async def get_film(self, film_id: str) -> Film | None:
        return (await self.batch_get_films([film_id])).get(film_id)

    async def batch_get_films(self, film_ids: Sequence[str]) -> dict[str, Film]:
        ids = list(dict.fromkeys(film_ids))
        if not ids:
            return {}
        marks = _marks(len(ids))
        rows = await self._all(
            "SELECT id, title, description, creation_date, rating, type, certificate"
            f" FROM film_work WHERE id IN ({marks})",
            ids,
        )
        genres: dict[str, list[Genre]] = defaultdict(list)
        for film_id, genre_id, name, description in await self._all(
            "SELECT gfw.film_work_id, g.id, g.name, g.description FROM genre_film_work gfw"
            f" JOIN genre g ON g.id = gfw.genre_id WHERE gfw.film_work_id IN ({marks})"
            " ORDER BY g.name, g.id",
            ids,
        ):
            genres[film_id].append(Genre(genre_id, name, description))
        credits: dict[str, list[tuple[str, PersonRef]]] = defaultdict(list)
        for film_id, role, person_id, full_name in await self._all(
            "SELECT pfw.film_work_id, pfw.role, p.id, p.full_name FROM person_film_work pfw"
            f" JOIN person p ON p.id = pfw.person_id WHERE pfw.film_work_id IN ({marks})"
            " ORDER BY pfw.created_at, pfw.id",
            ids,
        ):
            credits[film_id].append((role, PersonRef(person_id, full_name)))
        return {row[0]: Film.from_row(row, genres[row[0]], credits[row[0]]) for row in rows}

    async def _summaries(self, film_ids: Sequence[str]) -> list[FilmSummary]:
        """Summaries in the order of ``film_ids``."""
        if not film_ids:
            return []
        marks = _marks(len(film_ids))
        genres: dict[str, list[str]] = defaultdict(list)
        for film_id, name in await self._all(
            "SELECT gfw.film_work_id, g.name FROM genre_film_work gfw"
            f" JOIN genre g ON g.id = gfw.genre_id WHERE gfw.film_work_id IN ({marks})"
            " ORDER BY g.name",
            film_ids,
        ):
            genres[film_id].append(name)
        by_id = {
            row[0]: FilmSummary(
                row[0], row[1], row[2], row[3], tuple(genres[row[0]]), FilmType(row[4])
            )
            for row in await self._all(
                f"SELECT id, title, year, rating, type FROM film_work WHERE id IN ({marks})",
                film_ids,
            )
        }
        return [by_id[i] for i in film_ids if i in by_id]

    async def list_films(
        self,
        order: FilmOrder,
        film_filter: FilmFilter,
        offset: int,
        limit: int,
        after: After | None = None,
    ) -> Page[FilmSummary]:
        conditions, params = ["1"], list[Any]()
        if film_filter.genre_id:
            conditions.append(
                "EXISTS (SELECT 1 FROM genre_film_work g"
                " WHERE g.film_work_id = f.id AND g.genre_id = ?)"
            )
            params.append(film_filter.genre_id)
        if film_filter.type:
            conditions.append("f.type = ?")
            params.append(str(film_filter.type))
        where = " AND ".join(conditions)
        [(total,)] = await self._all(f"SELECT count(*) FROM film_work f WHERE {where}", params)
        if after is not None:
            past, past_params = _past(order, after)
            where, params = f"{where} AND {past}", [*params, *past_params]
        rows = await self._all(
            f"SELECT f.id FROM film_work f WHERE {where} ORDER BY {_ORDER_SQL[order]}"
            " LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return Page(await self._summaries([r[0] for r in rows]), total, offset)

    async def _vocabulary(self, vocab: str, start: str) -> fuzzy.Vocabulary:
        """The words of ``vocab`` that begin with ``start``, read once per change."""
        key = (vocab, start)
        known = self._vocabularies.get(key)
        if known is None:
            rows = await self._all(
                f"SELECT term FROM {vocab} WHERE term >= ? AND term < ?",
                [start, start + "\U0010ffff"],
            )
            known = self._vocabularies[key] = fuzzy.Vocabulary(r[0] for r in rows)
        return known

    async def _forget_vocabularies_if_changed(self) -> None:
        """Drop the words read so far once the ETL has committed to the catalog since."""
        [(version,)] = await self._all("PRAGMA data_version")
        if version != self._data_version:
            self._vocabularies.clear()
            self._data_version = version

    async def _fts_query(self, vocab: str, text: str, joiner: str) -> _FtsQuery | None:
        """FTS5 expressions of ``text``: each word (or its typo variants) joined by ``joiner``.

        A word is looked up once however often it occurs (the last occurrence keeps its
        place: it may still be being typed), and at most ``_MAX_TERMS`` are.
        """
        terms = list(dict.fromkeys(reversed(words(text))))[::-1][:_MAX_TERMS]
        if not terms:
            return None
        await self._forget_vocabularies_if_changed()
        exact, prefixed, forgiving = [], [], []
        for position, term in enumerate(terms):
            known = await self._vocabulary(vocab, fuzzy.prefix(term))
            variants = [f'"{term}"', *(f'"{v}"' for v in known.variants(term))]
            exact.append(f'"{term}"')
            if position == len(terms) - 1:  # the last word may still be being typed
                prefixed.append(f'"{term}"*')
                variants.append(f'"{term}"*')
            else:
                prefixed.append(f'"{term}"')
            forgiving.append("(" + " OR ".join(variants) + ")")
        return _FtsQuery(*(f" {joiner} ".join(groups) for groups in (exact, prefixed, forgiving)))

    async def search_films(self, query: str, offset: int, limit: int) -> Page[FilmSummary]:
        match = await self._fts_query("film_vocab", query, "AND")
        if match is None:
            return Page([], 0, offset)
        [(total,)] = await self._all(
            "SELECT count(*) FROM film_fts WHERE film_fts MATCH ?", [match.forgiving]
        )
        # A film whose whole title is the query comes first ("matrix" -> The Matrix):
        # titles are compared in matching's normal form, stored as film_fts.title_key.
        # Then films matching every word as typed, then with the last word as a prefix,
        # then with typos; relevance (and rating) orders each of these.
        tier, tier_params = match.tier("film_fts")
        rows = await self._all(
            "SELECT film_fts.film_id FROM film_fts WHERE film_fts MATCH ?"
            f" ORDER BY film_fts.title_key = ? DESC, {tier}, {_SEARCH_RANK}, film_fts.film_id"
            " LIMIT ? OFFSET ?",
            [match.forgiving, matching.normalise(query), *tier_params, limit, offset],
        )
        return Page(await self._summaries([r[0] for r in rows]), total, offset)

    async def title_candidates(self, title: str, limit: int) -> list[FilmSummary]:
        match = await self._fts_query("film_vocab", title, "OR")
        if match is None:
            return []
        rows = await self._all(
            "SELECT film_id FROM film_fts WHERE film_fts MATCH ?"
            f" ORDER BY {_FILM_RANK}, film_id LIMIT ?",
            [f"title : ({match.forgiving})", limit],
        )
        return await self._summaries([r[0] for r in rows])

    # -- genres and persons -------------------------------------------------------------

    async def list_genres(self, offset: int, limit: int) -> Page[Genre]:
        [(total,)] = await self._all("SELECT count(*) FROM genre")
        rows = await self._all(
            "SELECT g.id, g.name, g.description,"
            " (SELECT count(*) FROM genre_film_work gfw WHERE gfw.genre_id = g.id)"
            " FROM genre g ORDER BY g.name, g.id LIMIT ? OFFSET ?",
            [limit, offset],
        )
        return Page([Genre(*row) for row in rows], total, offset)

    async def _persons(self, person_ids: Sequence[str], films_each: int | None) -> list[Person]:
        if not person_ids:
            return []
        marks = _marks(len(person_ids))
        roles: dict[tuple[str, str], list[Role]] = defaultdict(list)
        for person_id, film_id, role in await self._all(
            "SELECT pfw.person_id, pfw.film_work_id, pfw.role FROM person_film_work pfw"
            " JOIN film_work f ON f.id = pfw.film_work_id"
            f" WHERE pfw.person_id IN ({marks})"
            " ORDER BY f.rating IS NULL, f.rating DESC, f.id, pfw.role",
            person_ids,
        ):
            roles[(person_id, film_id)].append(Role(role))
        films_of: dict[str, list[str]] = defaultdict(list)
        for person_id, film_id in roles:
            if films_each is None or len(films_of[person_id]) < films_each:
                films_of[person_id].append(film_id)
        summaries = {
            s.id: s
            for s in await self._summaries(list({f for fs in films_of.values() for f in fs}))
        }
        rows = await self._all(
            f"SELECT id, full_name, birth_date FROM person WHERE id IN ({marks})", person_ids
        )
        by_id = {
            pid: Person(
                pid,
                name,
                PartialDate.stored(birth),
                tuple(
                    PersonFilm(summaries[f], tuple(roles[(pid, f)]))
                    for f in films_of[pid]
                    if f in summaries
                ),
            )
            for pid, name, birth in rows
        }
        return [by_id[p] for p in person_ids if p in by_id]

    async def get_person(self, person_id: str) -> Person | None:
        found = await self._persons([person_id], films_each=None)
        return found[0] if found else None

    async def search_persons(self, query: str, offset: int, limit: int) -> Page[Person]:
        match = await self._fts_query("person_vocab", query, "AND")
        if match is None:
            return Page([], 0, offset)
        [(total,)] = await self._all(
            "SELECT count(*) FROM person_fts WHERE person_fts MATCH ?", [match.forgiving]
        )
        tier, tier_params = match.tier("person_fts")
        rows = await self._all(
            "SELECT person_id FROM person_fts WHERE person_fts MATCH ?"
            f" ORDER BY {tier}, rank, person_id LIMIT ? OFFSET ?",
            [match.forgiving, *tier_params, limit, offset],
        )
        return Page(await self._persons([r[0] for r in rows], films_each=100), total, offset)
