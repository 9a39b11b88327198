"""What the operator page draws: this process's own Prometheus metrics, sampled into a ring.

A :class:`Reading` is the handful of metrics an operator of the recommender asks about,
read at one moment from the registry (counters as they stand, cumulative). The sampler
(:meth:`OperatorStats.run`, a supervised worker) keeps one reading per interval for the
window; a report turns consecutive readings into series: rates per minute from counter
deltas, latency quantiles from histogram bucket deltas, gauges as they were read.

Embedded (`cinema up`, one process) the registry holds every service's RPC metrics; one
process per service, it holds the recommender's own, and the other services' failed RPCs
are read from their Prometheus endpoints at each sample (``operator_peers``): a reading
keeps each peer's as a reading of its own, and a peer's series are rates between the
readings in which it answered, so that one that stops answering only gets no new points.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeVar

from prometheus_client import REGISTRY, CollectorRegistry

from services.recommendations.operator_peers import PeerReader, Sample, family_samples

#: The like-to-new-list latency: refreshes of this trigger, at these quantiles.
LATENCY_TRIGGER = "event"
QUANTILES = (("p50", 0.5), ("p95", 0.95))
#: RPC endings that are no failure of the server: OK, and a caller that gave up (a watch
#: stream closed by leaving the page ends CANCELLED, each time).
NOT_ERRORS = frozenset({"OK", "CANCELLED"})


@dataclass(frozen=True)
class Reading:
    """The operator's metrics at one moment (wall-clock ``time``, seconds)."""

    time: float
    events: Mapping[str, float] = field(default_factory=dict)  # by kind, cumulative
    refreshes: Mapping[str, float] = field(default_factory=dict)  # by trigger
    latency_buckets: Mapping[float, float] = field(default_factory=dict)  # le -> count
    fit_seconds: Mapping[str, float] = field(default_factory=dict)  # by kind, latest fit
    fitted_at: float | None = None  # wall clock of the latest fit
    llm_calls: Mapping[str, float] = field(default_factory=dict)  # by outcome
    budget_remaining: float | None = None
    budget_per_hour: float | None = None
    breaker_state: float | None = None
    suggested: float = 0.0
    grounded: float = 0.0
    rpc_errors: Mapping[str, float] = field(default_factory=dict)  # by service/method
    #: The peers that answered at this sample, each one's failed RPCs as a reading.
    peers: Mapping[str, Reading] = field(default_factory=dict)
    #: The peers that did not answer at the latest sample.
    unreachable: tuple[str, ...] = ()

    @classmethod
    def of_samples(cls, moment: float, samples: Iterable[Sample]) -> Reading:
        """The reading in Prometheus samples (name, labels, value), e.g. a registry's."""
        events: dict[str, float] = {}
        refreshes: dict[str, float] = {}
        buckets: dict[float, float] = {}
        fits: dict[str, float] = {}
        calls: dict[str, float] = {}
        errors: dict[str, float] = {}
        gauges: dict[str, float] = {}
        totals = {"suggested": 0.0, "grounded": 0.0}
        for name, labels, value in samples:
            if name == "cinema_recommendation_events_total":
                _add(events, labels.get("kind", ""), value)
            elif name == "cinema_recommendation_refreshes_total":
                _add(refreshes, labels.get("trigger", ""), value)
            elif name == "cinema_recommendation_refresh_seconds_bucket":
                if labels.get("trigger") == LATENCY_TRIGGER:
                    _add(buckets, float(labels["le"]), value)
            elif name == "cinema_recommendation_model_fit_seconds":
                fits[labels.get("kind", "")] = value
            elif name == "cinema_llm_requests_total":
                _add(calls, labels.get("outcome", ""), value)
            elif name == "cinema_llm_suggested_films_total":
                totals["suggested"] += value
            elif name == "cinema_llm_grounded_films_total":
                totals["grounded"] += value
            elif name == "grpc_server_handled_total":
                if labels.get("grpc_code", "OK") not in NOT_ERRORS:
                    method = f"{labels.get('grpc_service', '')}/{labels.get('grpc_method', '')}"
                    _add(errors, method, value)
            elif name in _GAUGES:
                gauges[name] = value
        fitted_at = gauges.get("cinema_recommendation_model_fitted_timestamp_seconds")
        return cls(
            time=moment,
            events=events,
            refreshes=refreshes,
            latency_buckets=buckets,
            fit_seconds=fits,
            fitted_at=fitted_at or None,  # 0: never fitted yet
            llm_calls=calls,
            budget_remaining=gauges.get("cinema_llm_budget_remaining"),
            budget_per_hour=gauges.get("cinema_llm_budget_calls_per_hour"),
            breaker_state=gauges.get("cinema_llm_breaker_state"),
            suggested=totals["suggested"],
            grounded=totals["grounded"],
            rpc_errors=errors,
        )


_GAUGES = frozenset(
    {
        "cinema_recommendation_model_fitted_timestamp_seconds",
        "cinema_llm_budget_remaining",
        "cinema_llm_budget_calls_per_hour",
        "cinema_llm_breaker_state",
    }
)


K = TypeVar("K", str, float)


def _add(totals: dict[K, float], key: K, value: float) -> None:
    totals[key] = totals.get(key, 0.0) + value


Point = tuple[float, float]  # (wall-clock time, value)
Series = dict[str, list[Point]]  # label -> points, oldest first


@dataclass(frozen=True)
class Report:
    """The operator's charts over the window; each chart is a set of labelled series."""

    sample_time: float
    events_per_minute: Series
    refresh_latency_seconds: Series
    refreshes_per_minute: Series
    model_fit_seconds: Series
    model_age_seconds: Series
    llm_calls_per_minute: Series
    llm_budget_remaining: Series
    llm_budget_per_hour: int
    llm_breaker_state: Series
    llm_grounding_rate: Series
    rpc_errors_per_minute: Series
    unreachable_peers: tuple[str, ...]


def report(readings: Sequence[Reading]) -> Report:
    """The charts of ``readings`` (oldest first; at least one)."""
    pairs = list(itertools.pairwise(readings))
    last = readings[-1]
    return Report(
        sample_time=last.time,
        events_per_minute=rates(pairs, lambda r: r.events),
        refresh_latency_seconds=latency(pairs),
        refreshes_per_minute=rates(pairs, lambda r: r.refreshes),
        model_fit_seconds=gauges(readings, lambda r: r.fit_seconds),
        model_age_seconds=gauges(
            readings, lambda r: {} if r.fitted_at is None else {"": max(0.0, r.time - r.fitted_at)}
        ),
        llm_calls_per_minute=rates(pairs, lambda r: r.llm_calls),
        llm_budget_remaining=gauges(readings, lambda r: _one(r.budget_remaining)),
        llm_budget_per_hour=int(last.budget_per_hour or 0),
        llm_breaker_state=gauges(readings, lambda r: _one(r.breaker_state)),
        llm_grounding_rate=grounding(pairs),
        rpc_errors_per_minute=merged(
            rates(pairs, lambda r: r.rpc_errors),
            *(peer_rpc_errors(readings, peer) for peer in sorted(_peers(readings))),
        ),
        unreachable_peers=last.unreachable,
    )


def _peers(readings: Sequence[Reading]) -> set[str]:
    return {peer for reading in readings for peer in reading.peers}


def peer_rpc_errors(readings: Sequence[Reading], peer: str) -> Series:
    """A peer's failed RPCs per minute, between the readings in which it answered: over
    an outage, one point at its end, the rate over the whole gap."""
    answered = [reading.peers[peer] for reading in readings if peer in reading.peers]
    return rates(list(itertools.pairwise(answered)), lambda r: r.rpc_errors)


def merged(*charts: Series) -> Series:
    """The lines of ``charts`` as one chart, the values of a label at one moment added up
    (two replicas of a service, or a method both this process and a peer serve: health)."""
    lines: dict[str, dict[float, float]] = {}
    for chart in charts:
        for label, points in chart.items():
            line = lines.setdefault(label, {})
            for moment, value in points:
                line[moment] = line.get(moment, 0.0) + value
    return {label: sorted(line.items()) for label, line in sorted(lines.items())}


def _one(value: float | None) -> dict[str, float]:
    return {} if value is None else {"": value}


def _delta(before: float, after: float) -> float:
    """A counter's increase; a counter that went down was reset (a restart): it restarted
    from zero, so all of its value is new."""
    return after - before if after >= before else after


def rates(
    pairs: Sequence[tuple[Reading, Reading]], counters: Callable[[Reading], Mapping[str, float]]
) -> Series:
    """Per-minute increases of each labelled counter between consecutive readings; a label
    that never increased in the window has no series. A label a reading lacks has counted
    nothing yet (Prometheus makes a labelled counter on its first increase): zero."""
    labels = {label for pair in pairs for reading in pair for label in counters(reading)}
    series: Series = {}
    for before, after in pairs:
        seconds = after.time - before.time
        if seconds <= 0:
            continue
        earlier, now = counters(before), counters(after)
        for label in labels:
            increase = _delta(earlier.get(label, 0.0), now.get(label, 0.0))
            series.setdefault(label, []).append((after.time, increase * 60.0 / seconds))
    return {label: points for label, points in sorted(series.items()) if any(v for _, v in points)}


def gauges(readings: Sequence[Reading], values: Callable[[Reading], Mapping[str, float]]) -> Series:
    series: Series = {}
    for reading in readings:
        for label, value in values(reading).items():
            series.setdefault(label, []).append((reading.time, value))
    return dict(sorted(series.items()))


def latency(pairs: Sequence[tuple[Reading, Reading]]) -> Series:
    """The like-to-new-list quantiles over each interval that had such refreshes."""
    series: Series = {name: [] for name, _ in QUANTILES}
    for before, after in pairs:
        counts = {
            le: _delta(before.latency_buckets.get(le, 0.0), count)
            for le, count in after.latency_buckets.items()
        }
        for name, q in QUANTILES:
            value = bucket_quantile(q, counts)
            if value is not None:
                series[name].append((after.time, value))
    return {name: points for name, points in series.items() if points}


def bucket_quantile(q: float, buckets: Mapping[float, float]) -> float | None:
    """PromQL's histogram_quantile over cumulative bucket counts (``le`` -> count): linear
    within the bucket the rank falls in; the highest finite bound when it falls in +Inf."""
    bounds = sorted(buckets)
    total = buckets.get(math.inf, 0.0)
    if total <= 0 or not bounds:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if math.isinf(bound):
                return lower
            share = (rank - below) / (count - below) if count > below else 1.0
            return lower + (bound - lower) * share
        lower, below = bound, count
    return lower


def grounding(pairs: Sequence[tuple[Reading, Reading]]) -> Series:
    """Grounded / suggested films over each interval in which GigaChat suggested any."""
    points: list[Point] = []
    for before, after in pairs:
        suggested = _delta(before.suggested, after.suggested)
        if suggested > 0:
            grounded = _delta(before.grounded, after.grounded)
            points.append((after.time, min(1.0, grounded / suggested)))
    return {"": points} if points else {}


def _peer(moment: float, samples: Iterable[Sample]) -> Reading:
    """A peer's failed RPCs (what else it measures is for its own operators)."""
    return Reading(moment, rpc_errors=Reading.of_samples(moment, samples).rpc_errors)


class OperatorStats:
    """The ring of readings and the worker that fills it: one reading per
    ``sample_seconds``, as many as fit in ``window_seconds``.

    ``before_reading`` brings gauges that change with time alone up to date (GigaChat's
    budget and breaker); it runs on the event loop, like everything that sets them.
    ``peers`` reads the other services' endpoints at each sample (none: embedded).
    """

    def __init__(
        self,
        sample_seconds: float,
        window_seconds: float,
        registry: CollectorRegistry = REGISTRY,
        before_reading: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.time,
        peers: PeerReader | None = None,
    ) -> None:
        self.sample_seconds = sample_seconds
        self.window_seconds = window_seconds
        self._registry = registry
        self._before_reading = before_reading
        self._clock = clock
        self._peers = peers
        self._readings: deque[Reading] = deque(maxlen=max(1, int(window_seconds // sample_seconds)))

    def read(self) -> Reading:
        self._before_reading()
        return Reading.of_samples(self._clock(), family_samples(self._registry.collect()))

    async def sample(self) -> Reading:
        """Adds a reading of this process's registry and of every peer, at one moment, to
        the ring; returns it."""
        reading = self.read()
        if self._peers is not None:
            read = await self._peers.read()
            peers = {peer: _peer(reading.time, got) for peer, got in read.answered.items()}
            reading = replace(reading, peers=peers, unreachable=read.unreachable)
        self._readings.append(reading)
        return reading

    async def run(self) -> None:
        """Samples every ``sample_seconds`` until cancelled."""
        while True:
            started = time.monotonic()
            await self.sample()
            # A peer's timeout is part of the interval, not added to it.
            await asyncio.sleep(max(0.0, self.sample_seconds - (time.monotonic() - started)))

    def report(self) -> Report:
        """The charts over the window, up to a reading taken now. A sample taken moments
        ago gives way to it: a rate over a sliver of time would be mostly noise. The peers
        are read at samples only (a call never waits for them): a reading taken now keeps
        what the last sample read of them."""
        readings, now = list(self._readings), self.read()
        if not readings:
            return report([now])
        last = readings[-1]
        if len(readings) > 1 and now.time - last.time < self.sample_seconds / 2:
            readings[-1] = replace(now, peers=last.peers, unreachable=last.unreachable)
        else:
            readings.append(replace(now, unreachable=last.unreachable))
        return report(readings)

    async def aclose(self) -> None:
        if self._peers is not None:
            await self._peers.aclose()
