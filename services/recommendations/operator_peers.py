"""The other services' Prometheus metrics, for the operator page's errors by RPC.

In the production topology each service is a process of its own with its own registry,
served on its metrics port (``CINEMA_METRICS_PORT``); the recommender reads those
endpoints (``CINEMA_RECOMMENDATIONS_OPERATOR_PEERS``) at each sample, all at once, each
within a short timeout. A peer that does not answer (refused, timed out, not 200, not
Prometheus text) is left out of that sample: it is named as unreachable, and logged once
when it stops answering and once when it answers again, not at every sample.

A service this process hosts itself is read from its own registry only: its samples in a
peer's answer are dropped, so that an endpoint of this very process among the peers (the
embedded stack) counts nothing twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import httpx
import structlog
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

log = structlog.get_logger(__name__)

#: How long one peer may take to answer a sample's read.
PEER_TIMEOUT_SECONDS = 2.0

Sample = tuple[str, Mapping[str, str], float]


def family_samples(families: Iterable[Metric]) -> Iterator[Sample]:
    """The samples (name, labels, value) of metric families: a registry's, or a page's."""
    for family in families:
        for sample in family.samples:
            yield sample.name, sample.labels, sample.value


def exposition_samples(text: str) -> Iterator[Sample]:
    """The samples of a Prometheus text exposition; ValueError if ``text`` is not one."""
    return family_samples(text_string_to_metric_families(text))


@dataclass(frozen=True)
class PeerSamples:
    """One read of every peer: the samples of those that answered, by endpoint, and the
    endpoints that did not, in the order configured."""

    answered: Mapping[str, Sequence[Sample]]
    unreachable: tuple[str, ...]


class PeerReader:
    """Reads the peers' endpoints; ``hosted`` are the services of this process (``catalog``,
    …), whose RPCs (gRPC service ``cinema.<service>.<version>.<Name>``) it counts itself."""

    def __init__(
        self,
        endpoints: Sequence[str],
        hosted: Collection[str],
        timeout_seconds: float = PEER_TIMEOUT_SECONDS,
    ) -> None:
        self.endpoints = tuple(endpoints)
        self._hosted_prefixes = tuple(f"cinema.{service}." for service in hosted)
        # Peers are the mesh's own hosts: never through a proxy from the environment.
        self._http = httpx.AsyncClient(timeout=timeout_seconds, trust_env=False)
        self._down: set[str] = set()

    async def read(self) -> PeerSamples:
        answers = await asyncio.gather(*(self._read(endpoint) for endpoint in self.endpoints))
        read = dict(zip(self.endpoints, answers, strict=True))
        answered = {peer: samples for peer, samples in read.items() if samples is not None}
        return PeerSamples(answered, tuple(peer for peer in read if peer not in answered))

    async def _read(self, endpoint: str) -> list[Sample] | None:
        try:
            response = await self._http.get(endpoint)
            response.raise_for_status()
            # Tens of milliseconds for a busy process's page: not on the event loop.
            samples = await asyncio.to_thread(self._samples, response.text)
        except (httpx.HTTPError, ValueError) as error:
            if endpoint not in self._down:
                self._down.add(endpoint)
                log.warning(
                    "operator_peer_unreachable",
                    peer=endpoint,
                    error=str(error) or type(error).__name__,
                    consequence="its failed RPCs get no new points on the operator page",
                )
            return None
        if endpoint in self._down:
            self._down.discard(endpoint)
            log.info("operator_peer_reachable", peer=endpoint)
        return samples

    def _samples(self, text: str) -> list[Sample]:
        """The samples of a peer's page, but those of the services hosted here."""
        hosted = self._hosted_prefixes
        return [
            sample
            for sample in exposition_samples(text)
            if not sample[1].get("grpc_service", "").startswith(hosted)
        ]

    async def aclose(self) -> None:
        await self._http.aclose()
