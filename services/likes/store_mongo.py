"""The production likes store: MongoDB through PyMongo's async API.

The MongoDB-protocol server in use, FerretDB 1.x, has no multi-document transactions,
and its updates are not atomic either: it reads a document, applies the update, and
writes it back, so two concurrent updates of one document can lose one of them (the
contract tests caught it). Its one atomic, race-free primitive is an insert checked by
a unique index, so the outbox is built on inserts alone:

* every change is ONE insert into ``changes`` of an immutable document holding the
  (user, film) state after the change AND the change's event, ``pending`` to be
  logged; its ``version`` is the previous one's plus one, and a unique index on
  (user, film, version) lets exactly one of two racing writers win (the other re-reads
  and decides again). The current state of a (user, film) is its highest version.
* a relay (:meth:`MongoLikesStore.relay_outbox`), one per database at a time (a lease),
  copies pending changes into the ``events`` log, numbering them itself: it reads the
  highest sequence, inserts each event with the next one (unique on sequence and on
  event id), then clears ``pending`` and deletes the versions the log now supersedes.
  Before it inserts an event, the relay notes the sequence on the change (``logged_as``);
  a crash between insert and clear leaves the change pending, and the retry finds its
  event at that sequence and counts it as done, so the log has no duplicates and no gaps.

FerretDB 1.x on PostgreSQL pushes only equality filters down, as a jsonb containment
test (``@>``) that no index serves, and sorts, ranges and limits not at all: a query on
one growing collection costs its whole length (2.6 s per log read at 16k events; see
``explain``). So the log is cut into buckets of ``LOG_BUCKET`` sequences, one collection
each (``events_000000``, ...), with the sequence as ``_id``: sequences are dense (the
relay numbers them one after another, each only after the previous one is in), so a
sequence names its bucket, a reader probes ``_id == after + 1`` there and reads that one
bounded collection, and the newest sequence is found from the newest bucket (a ``log``
head the relay moves before it opens a bucket) by a binary search of equality probes.
Every log query touches at most one bucket, whatever the log's length.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from services.kit.signals import WakeUp
from services.likes.records import (
    Changed,
    Decision,
    Event,
    EventKind,
    Exclusion,
    FilmRating,
    FilmState,
    FilmStats,
    Page,
    PageCursor,
    Rating,
)

Doc = dict[str, Any]
RELAY_LEASE = "outbox-relay"
SERVER_TIMEOUT_MS = 3000  # server selection and connect
RELAY_BATCH = 200  # changes per relay round; the lease is renewed between rounds
LOG_BUCKET = 256  # sequences per log collection: what one log read costs at most
LOG_HEAD = "log"  # the head document: the newest bucket the relay opened
LEGACY_LOG = "events"  # the unbucketed log of earlier versions, moved into buckets at open


def _now_us() -> int:
    return time.time_ns() // 1000


def _newest_first(
    states: list[Doc], time_field: str, after: PageCursor | None, limit: int
) -> tuple[list[Doc], bool]:
    ordered = sorted(states, key=lambda d: (d[time_field], d["film_id"]), reverse=True)
    if after is not None:
        position = (after.time_us, after.film_id)
        ordered = [d for d in ordered if (d[time_field], d["film_id"]) < position]
    return ordered[:limit], len(ordered) > limit


def _versions_in_order(changes: list[Doc]) -> list[Doc]:
    """``changes`` in time order, except that one (user, film)'s versions go up.

    Replicas' clocks may disagree; the log must still replay each (user, film) right.
    """
    by_key: dict[tuple[str, str], list[Doc]] = {}
    for change in sorted(changes, key=lambda c: -c["version"]):
        by_key.setdefault((change["user_id"], change["film_id"]), []).append(change)
    return [by_key[(c["user_id"], c["film_id"])].pop() for c in changes]


class MongoLikesStore:
    def __init__(
        self,
        client: AsyncMongoClient[Doc],
        database: str,
        lease_seconds: float,
        log_bucket: int = LOG_BUCKET,
    ) -> None:
        self._client = client
        self._db = db = client[database]
        self._changes: AsyncCollection[Doc] = db["changes"]
        self._heads: AsyncCollection[Doc] = db["heads"]
        self._log_bucket = log_bucket
        self._leases: AsyncCollection[Doc] = db["leases"]
        self._cursors: AsyncCollection[Doc] = db["cursors"]
        self._lease_seconds = lease_seconds
        self._relay_owner = uuid.uuid4().hex  # this process, as a lease holder
        self._terms: dict[tuple[str, str], int] = {}  # (lease, owner) -> term held
        self._log_end: tuple[int, int] | None = None  # (relay term, last sequence logged)
        self.outbox = WakeUp()
        self.appended = WakeUp()

    @classmethod
    async def open(
        cls, dsn: str, lease_seconds: float, log_bucket: int = LOG_BUCKET
    ) -> MongoLikesStore:
        # PyMongo waits 30 s for a server by default: an unreachable one must be answered
        # UNAVAILABLE within seconds, not after the caller's deadline.
        client: AsyncMongoClient[Doc] = AsyncMongoClient(
            dsn, serverSelectionTimeoutMS=SERVER_TIMEOUT_MS, connectTimeoutMS=SERVER_TIMEOUT_MS
        )
        database = client.get_default_database(default="cinema_likes").name
        store = cls(client, database, lease_seconds, log_bucket)
        changes = store._changes
        await changes.create_index(
            [("user_id", ASCENDING), ("film_id", ASCENDING), ("version", ASCENDING)], unique=True
        )
        await changes.create_index([("film_id", ASCENDING)])
        await changes.create_index([("pending", ASCENDING), ("time_us", ASCENDING)])
        await store._leases.create_index([("name", ASCENDING), ("term", ASCENDING)], unique=True)
        await store._move_legacy_log()
        return store

    def _bucket(self, sequence: int) -> AsyncCollection[Doc]:
        """The log collection that holds ``sequence``."""
        return self._db[f"events_{(sequence - 1) // self._log_bucket:06d}"]

    async def _move_legacy_log(self) -> None:
        """Moves a log written before buckets (one ``events`` collection) into buckets."""
        if LEGACY_LOG not in await self._db.list_collection_names():
            return
        legacy = self._db[LEGACY_LOG]
        async for doc in legacy.find({}):
            sequence = int(doc["sequence"])
            await self._open_bucket(sequence)
            with contextlib.suppress(DuplicateKeyError):  # moved by an earlier, cut attempt
                await self._bucket(sequence).insert_one(
                    {"_id": sequence, "event_id": doc["_id"], **_fields(doc)}
                )
        await legacy.drop()

    async def _head_bucket(self) -> int:
        head = await self._heads.find_one({"_id": LOG_HEAD})
        return int(head["bucket"]) if head else 0

    async def _open_bucket(self, sequence: int) -> None:
        """Moves the head to ``sequence``'s bucket before the bucket's first event goes in.

        Sequences are dense, so only a bucket's first sequence opens it (again, after a
        relay that moved the head died before its insert: setting it twice is harmless).
        Only the lease holder writes the head, so FerretDB's read-modify-write is safe.
        """
        if (sequence - 1) % self._log_bucket == 0:
            bucket = (sequence - 1) // self._log_bucket
            await self._heads.update_one(
                {"_id": LOG_HEAD}, {"$set": {"bucket": bucket}}, upsert=True
            )

    async def _logged(self, sequence: int) -> bool:
        found = await self._bucket(sequence).find_one({"_id": sequence}, {"_id": 1})
        return found is not None

    async def _latest(self, user_id: str, film_id: str) -> Doc | None:
        return await self._changes.find_one(
            {"user_id": user_id, "film_id": film_id}, sort=[("version", DESCENDING)]
        )

    async def change(
        self, user_id: str, film_id: str, decide: Decision, kind: EventKind, now_us: int
    ) -> Changed:
        """Inserts the next version of the (user, film) with its pending event."""
        while True:
            latest = await self._latest(user_id, film_id)
            before = _state(latest) if latest else FilmState()
            after = decide(before)
            if after is None:
                return Changed(before, changed=False)
            change = {
                "_id": uuid.uuid4().hex,  # also the event's id
                "user_id": user_id,
                "film_id": film_id,
                "version": (latest["version"] if latest else 0) + 1,
                "kind": int(kind),
                "time_us": now_us,
                "rating": None if after.rating is None else int(after.rating),
                "rated_us": after.rated_us,
                "excluded_us": after.excluded_us,
                "pending": True,
            }
            try:
                await self._changes.insert_one(change)
            except DuplicateKeyError:
                continue  # another writer changed this (user, film) first: decide again
            self.outbox.notify()
            return Changed(after, changed=True)

    async def _current(self, query: Doc) -> list[Doc]:
        """The current state (highest version) of every (user, film) that ``query`` matches.

        A (user, film) has one document once the relay caught up, plus one per change
        still pending; reading them all and keeping the newest needs no $group support.
        """
        newest: dict[tuple[str, str], Doc] = {}
        async for doc in self._changes.find(query, {"pending": 0, "kind": 0, "time_us": 0}):
            key = (doc["user_id"], doc["film_id"])
            if key not in newest or newest[key]["version"] < doc["version"]:
                newest[key] = doc
        return list(newest.values())

    async def list_ratings(
        self, user_id: str, rating: Rating | None, after: PageCursor | None, limit: int
    ) -> Page[FilmRating]:
        states = [
            d
            for d in await self._current({"user_id": user_id})
            if d["rating"] is not None and (rating is None or d["rating"] == rating)
        ]
        docs, more = _newest_first(states, "rated_us", after, limit)
        items = [FilmRating(d["film_id"], Rating(d["rating"]), int(d["rated_us"])) for d in docs]
        last = PageCursor(items[-1].updated_us, items[-1].film_id) if more else None
        return Page(items, last)

    async def list_exclusions(
        self, user_id: str, after: PageCursor | None, limit: int
    ) -> Page[Exclusion]:
        states = [d for d in await self._current({"user_id": user_id}) if d["excluded_us"]]
        docs, more = _newest_first(states, "excluded_us", after, limit)
        items = [Exclusion(d["film_id"], int(d["excluded_us"])) for d in docs]
        last = PageCursor(items[-1].created_us, items[-1].film_id) if more else None
        return Page(items, last)

    async def film_states(self, user_id: str, film_ids: Sequence[str]) -> dict[str, FilmState]:
        if not film_ids:
            return {}
        query = {"user_id": user_id, "film_id": {"$in": list(film_ids)}}
        states = {d["film_id"]: _state(d) for d in await self._current(query)}
        return {
            film: state
            for film, state in states.items()
            if state.rating is not None or state.excluded_us is not None
        }

    async def film_stats(self, film_ids: Sequence[str]) -> dict[str, FilmStats]:
        counts: dict[str, list[int]] = {}
        for state in await self._current({"film_id": {"$in": list(film_ids)}}):
            if state["rating"] is not None:
                by_rating = counts.setdefault(state["film_id"], [0, 0])
                by_rating[0 if state["rating"] == Rating.LIKE else 1] += 1
        return {film: FilmStats(film, *by_rating) for film, by_rating in counts.items()}

    async def events_after(
        self, sequence: int, limit: int, kinds: Collection[EventKind] = ()
    ) -> list[Event]:
        wanted = {int(k) for k in kinds}
        events: list[Event] = []
        position = sequence
        while len(events) < limit:
            # A probe first: an idle tail (the common read) costs one equality query.
            if not await self._logged(position + 1):
                break
            bucket_end = ((position + 1 - 1) // self._log_bucket + 1) * self._log_bucket
            docs = await self._bucket(position + 1).find({}).to_list()
            for doc in sorted((d for d in docs if d["_id"] > position), key=lambda d: d["_id"]):
                if doc["_id"] != position + 1 or len(events) == limit:
                    break  # sequences are dense: a gap is the log's end as of this read
                position = doc["_id"]
                if not wanted or doc["kind"] in wanted:
                    events.append(_event(doc))
            if position < bucket_end:
                break  # within its bucket: the end of the log, or the limit reached
        return events

    async def last_sequence(self) -> int:
        # The head names the newest bucket (or one the relay was about to open: then the
        # previous one is full). Dense sequences make "is it logged" monotone: bisect.
        bucket = await self._head_bucket()
        low, high = bucket * self._log_bucket, (bucket + 1) * self._log_bucket
        if not await self._logged(low + 1):
            return low
        low += 1
        while low < high:  # low is logged; the answer is in [low, high]
            middle = (low + high + 1) // 2
            if await self._logged(middle):
                low = middle
            else:
                high = middle - 1
        return low

    async def relay_outbox(self) -> int:
        moved = 0
        while True:
            pending = (
                await self._changes.find({"pending": True})
                .sort([("time_us", ASCENDING), ("version", ASCENDING)])
                .limit(RELAY_BATCH)
                .to_list()
            )
            if not pending:
                break
            if not await self.acquire_lease(RELAY_LEASE, self._relay_owner, self._lease_seconds):
                break  # another replica relays; it will find these too
            # Holding the lease, this relay is the log's only writer: it numbers events,
            # in the order of the changes' times (one user's sequential calls keep theirs).
            # The log's end is remembered while this relay keeps the same lease term:
            # nobody else appends meanwhile. Otherwise (or after a failure) it is looked up.
            term = self._terms.get((RELAY_LEASE, self._relay_owner))
            known = self._log_end
            self._log_end = None
            if known is not None and known[0] == term:
                next_sequence = known[1] + 1
            else:
                next_sequence = await self.last_sequence() + 1
            for change in _versions_in_order(pending):
                if await self._log(change, next_sequence):
                    next_sequence += 1
                    moved += 1
                await self._mark_logged(change)
            if term is not None:
                self._log_end = (term, next_sequence - 1)
            if moved:
                self.appended.notify()
        return moved

    async def _log(self, change: Mapping[str, Any], sequence: int) -> bool:
        """Appends one change's event; False when it is already in the log (a retry)."""
        if "logged_as" in change and await self._is_event_of(change, int(change["logged_as"])):
            return False
        # Noted first, so a retry after a crash past the insert finds the event.
        await self._changes.update_one({"_id": change["_id"]}, {"$set": {"logged_as": sequence}})
        await self._open_bucket(sequence)
        try:
            await self._bucket(sequence).insert_one(
                {"_id": sequence, "event_id": change["_id"], **_fields(change)}
            )
        except DuplicateKeyError:
            if await self._is_event_of(change, sequence):
                return False
            raise  # the sequence is taken: our lease lapsed and another relay took over
        return True

    async def _is_event_of(self, change: Mapping[str, Any], sequence: int) -> bool:
        found = await self._bucket(sequence).find_one({"_id": sequence}, {"event_id": 1})
        return found is not None and found["event_id"] == change["_id"]

    async def _mark_logged(self, change: Mapping[str, Any]) -> None:
        """Clears ``pending`` and drops the older versions the log now holds.

        Only relays update a change document, all to the same end, so FerretDB's
        non-atomic updates cannot lose a writer's change here.
        """
        await self._changes.update_one({"_id": change["_id"]}, {"$unset": {"pending": ""}})
        await self._changes.delete_many(
            {
                "user_id": change["user_id"],
                "film_id": change["film_id"],
                "version": {"$lt": change["version"]},
                "pending": {"$exists": False},
            }
        )

    async def acquire_lease(self, name: str, owner: str, seconds: float) -> bool:
        # Terms, not one updated document: a takeover is an insert of the next term,
        # which the unique index lets only one contender win.
        now_us = _now_us()
        expires_us = now_us + int(seconds * 1_000_000)
        held = await self._leases.find_one({"name": name}, sort=[("term", DESCENDING)])
        self._terms.pop((name, owner), None)
        if held is not None and held["owner"] == owner:
            renewed = {"$set": {"expires_us": expires_us}}
            await self._leases.update_one({"_id": held["_id"]}, renewed)
            self._terms[(name, owner)] = int(held["term"])
            return True
        if held is not None and held["expires_us"] >= now_us:
            return False
        term = held["term"] + 1 if held else 1
        try:
            await self._leases.insert_one(
                {"name": name, "term": term, "owner": owner, "expires_us": expires_us}
            )
        except DuplicateKeyError:
            return False
        await self._leases.delete_many({"name": name, "term": {"$lt": term}})
        self._terms[(name, owner)] = term
        return True

    async def get_cursor(self, name: str) -> int:
        found = await self._cursors.find_one({"_id": name})
        return int(found["sequence"]) if found else 0

    async def set_cursor(self, name: str, sequence: int) -> None:
        await self._cursors.update_one({"_id": name}, {"$set": {"sequence": sequence}}, upsert=True)

    async def close(self) -> None:
        await self._client.close()


def _state(doc: Mapping[str, Any]) -> FilmState:
    rating = doc.get("rating")
    return FilmState(
        None if rating is None else Rating(rating), doc.get("rated_us"), doc.get("excluded_us")
    )


def _fields(doc: Mapping[str, Any]) -> Doc:
    """What a logged event keeps of its change (or of a legacy log entry)."""
    return {f: doc[f] for f in ("user_id", "film_id", "kind", "time_us")}


def _event(doc: Mapping[str, Any]) -> Event:
    return Event(
        sequence=int(doc["_id"]),
        event_id=str(doc["event_id"]),
        user_id=doc["user_id"],
        film_id=doc["film_id"],
        kind=EventKind(doc["kind"]),
        time_us=int(doc["time_us"]),
    )
