"""Which films exist, asked of the catalog service over gRPC and cached in-process.

A film that exists is trusted for long (films are rarely deleted); a missing one only
briefly, so a film added to the catalog can be rated soon after. A film already known
costs a dictionary lookup, no round trip; the films asked for at once while not known
(a burst of first ratings) go to the catalog together, in one BatchGetFilms, and a film
already being asked for is not asked for again.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

import grpc

from cinema.catalog.v1 import catalog_pb2
from services.kit.catalog_client import MAX_BATCH_IDS, CatalogClient, film_summary
from services.kit.errors import NotFound, Unavailable

CAPACITY = 50_000

Summary = catalog_pb2.FilmSummary | None


class FilmDirectory:
    """Film lookups through the kit's catalog client (BatchGetFilms) with a TTL cache of
    the answers."""

    def __init__(
        self,
        target: Callable[[], str],
        found_seconds: float,
        missing_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._found_seconds = found_seconds
        self._missing_seconds = missing_seconds
        self._clock = clock
        self._catalog = CatalogClient(target)
        self._known: OrderedDict[str, tuple[float, Summary]] = OrderedDict()
        self._asked: dict[str, asyncio.Future[Summary]] = {}  # in flight or about to be
        self._to_ask: list[str] = []  # asked for since the last BatchGetFilms went out
        self._sender: asyncio.Task[None] | None = None

    async def require(self, film_id: str) -> None:
        """Returns when the film exists; NotFound when it does not."""
        cached = self._known.get(film_id)
        if cached is not None and cached[0] > self._clock():
            summary = cached[1]
        else:
            try:
                summary = (await self.lookup([film_id]))[film_id]
            except grpc.aio.AioRpcError as error:
                raise Unavailable("the catalog is unavailable; try again") from error
        if summary is None:
            raise NotFound(f"film {film_id} not found")

    async def lookup(self, film_ids: Sequence[str]) -> dict[str, Summary]:
        """Each film's summary, None for films the catalog does not have."""
        now = self._clock()
        answers: dict[str, Summary] = {}
        waiting: dict[str, asyncio.Future[Summary]] = {}
        for film_id in dict.fromkeys(film_ids):
            cached = self._known.get(film_id)
            if cached is not None and cached[0] > now:
                answers[film_id] = cached[1]
            else:
                waiting[film_id] = self._ask(film_id)
        for film_id, answer in waiting.items():
            # Shielded: a cancelled caller must not cancel the answer others wait for.
            answers[film_id] = await asyncio.shield(answer)
        return answers

    def _ask(self, film_id: str) -> asyncio.Future[Summary]:
        """The answer for one film, from the next BatchGetFilms (or the one under way)."""
        answer = self._asked.get(film_id)
        if answer is None:
            answer = asyncio.get_running_loop().create_future()
            # A failure nobody waits for any more (all askers cancelled) is not an error.
            answer.add_done_callback(lambda done: done.cancelled() or done.exception())
            self._asked[film_id] = answer
            self._to_ask.append(film_id)
            if self._sender is None or self._sender.done():
                # In a context of its own: the batch serves every asker, so it must not carry
                # the first one's deadline (a 5 ms RateFilm would fail the others' films).
                self._sender = asyncio.create_task(self._send(), context=contextvars.Context())
        return answer

    async def _send(self) -> None:
        """Sends what was asked for meanwhile, in batches, until nothing is left to ask."""
        await asyncio.sleep(0)  # the callers of this loop turn join the batch
        while self._to_ask:
            batch, self._to_ask = self._to_ask[:MAX_BATCH_IDS], self._to_ask[MAX_BATCH_IDS:]
            try:
                films = await self._catalog.films(batch)
            except BaseException as error:
                for film_id in batch:
                    answer = self._asked.pop(film_id)
                    if isinstance(error, asyncio.CancelledError):
                        answer.cancel()
                    else:
                        answer.set_exception(error)
                if isinstance(error, asyncio.CancelledError):
                    raise
                continue
            fetched: dict[str, Summary] = dict.fromkeys(batch)
            fetched.update({film.id: film_summary(film) for film in films})
            self._remember(fetched, self._clock())
            for film_id, summary in fetched.items():
                answer = self._asked.pop(film_id)
                if not answer.done():
                    answer.set_result(summary)

    def _remember(self, answers: dict[str, Summary], now: float) -> None:
        for film_id, summary in answers.items():
            ttl = self._found_seconds if summary is not None else self._missing_seconds
            self._known[film_id] = (now + ttl, summary)
            self._known.move_to_end(film_id)
        while len(self._known) > CAPACITY:
            self._known.popitem(last=False)

    async def close(self) -> None:
        if self._sender is not None and not self._sender.done():
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender
        await self._catalog.close()
