"""Which films exist, asked of the catalog service over gRPC and cached in-process.

A film that exists is trusted for long (films are rarely deleted); a missing one only
briefly, so a film added to the catalog can be rated soon after.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

import grpc

from cinema.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from services.catalog.messages import film_summary
from services.kit import clients
from services.kit.errors import NotFound, Unavailable

CATALOG_TIMEOUT_SECONDS = 5.0
CAPACITY = 50_000


class FilmDirectory:
    """Film lookups through CatalogService.BatchGetFilms with a TTL cache of the answers."""

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
        self._channel = clients.LazyChannel(target)
        self._known: OrderedDict[str, tuple[float, catalog_pb2.FilmSummary | None]] = OrderedDict()

    async def require(self, film_id: str) -> None:
        """Returns when the film exists; NotFound when it does not."""
        try:
            films = await self.lookup([film_id])
        except grpc.aio.AioRpcError as error:
            raise Unavailable("the catalog is unavailable; try again") from error
        if films.get(film_id) is None:
            raise NotFound(f"film {film_id} not found")

    async def lookup(self, film_ids: Sequence[str]) -> dict[str, catalog_pb2.FilmSummary | None]:
        """Each film's summary, None for films the catalog does not have."""
        now = self._clock()
        answers: dict[str, catalog_pb2.FilmSummary | None] = {}
        for film_id in film_ids:
            cached = self._known.get(film_id)
            if cached is not None and cached[0] > now:
                answers[film_id] = cached[1]
        unknown = [i for i in dict.fromkeys(film_ids) if i not in answers]
        if unknown:
            response = await self._stub().BatchGetFilms(
                catalog_pb2.BatchGetFilmsRequest(film_ids=unknown), timeout=CATALOG_TIMEOUT_SECONDS
            )
            fetched: dict[str, catalog_pb2.FilmSummary | None] = dict.fromkeys(unknown)
            fetched.update({film.id: film_summary(film) for film in response.films})
            self._remember(fetched, now)
            answers.update(fetched)
        return answers

    def _remember(self, answers: dict[str, catalog_pb2.FilmSummary | None], now: float) -> None:
        for film_id, summary in answers.items():
            ttl = self._found_seconds if summary is not None else self._missing_seconds
            self._known[film_id] = (now + ttl, summary)
            self._known.move_to_end(film_id)
        while len(self._known) > CAPACITY:
            self._known.popitem(last=False)

    def _stub(self) -> catalog_pb2_grpc.CatalogServiceStub:
        return catalog_pb2_grpc.CatalogServiceStub(self._channel.get())

    async def close(self) -> None:
        await self._channel.close()
