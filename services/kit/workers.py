"""Background workers under supervision: restarted when they fail, and honest about it.

A service's workers (relays, the event pipeline, the sweep, model refits) run for as
long as the server does. A worker that raises is restarted after an exponential,
jittered, capped backoff; a worker that returns has nothing (more) to do and is left
alone. Each worker is *up* until it fails, and up again once a restart has run
``healthy_after_seconds`` without failing, so a worker that fails at once on every
start (a missing credential, a store that refuses) stays down instead of flapping.

A service is serving while all its *essential* workers are up: a listener (the gRPC
server's health service) hears every change. Prometheus: ``cinema_worker_up{worker}``
(1 up, 0 down) and ``cinema_worker_restarts_total{worker}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

import grpc
import structlog
from prometheus_client import Counter, Gauge

from services.kit.config import ProcessSettings

log = structlog.get_logger(__name__)

WORKER_UP = Gauge(
    "cinema_worker_up", "Whether a background worker is running healthily (1) or not.", ["worker"]
)
WORKER_RESTARTS = Counter(
    "cinema_worker_restarts_total", "Restarts of a background worker after it failed.", ["worker"]
)

FIRST_DELAY_SECONDS = 0.1
Listener = Callable[[bool], Awaitable[None]]


@dataclass(frozen=True)
class RestartPolicy:
    max_delay_seconds: float = 30.0
    healthy_after_seconds: float = 5.0

    @classmethod
    def configured(cls, process: ProcessSettings) -> RestartPolicy:
        return cls(process.worker_restart_max_seconds, process.worker_healthy_after_seconds)

    def delay(self, failures: int) -> float:
        """The wait before restart number ``failures`` of a streak: doubling, capped, and
        jittered down by up to half, so replicas that failed together do not retry
        together."""
        ceiling = min(self.max_delay_seconds, FIRST_DELAY_SECONDS * 2.0 ** min(failures - 1, 30))
        return ceiling * random.uniform(0.5, 1.0)


def describe(error: BaseException) -> str:
    """A one-line account of a worker's failure for the log."""
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]  # a TaskGroup's: say what its one task raised
    if isinstance(error, grpc.aio.AioRpcError):
        return f"{error.code().name}: {error.details()}"
    return f"{type(error).__name__}: {error}"


class SupervisedWorker:
    """One worker; calling it runs the worker under supervision until cancelled."""

    def __init__(
        self,
        label: str,
        run: Callable[[], Awaitable[None]],
        essential: bool,
        policy: RestartPolicy,
        changed: Callable[[], Awaitable[None]],
    ) -> None:
        self.label = label
        self.essential = essential
        self.up = True
        self._run = run
        self._policy = policy
        self._changed = changed
        self._failures = 0  # in the current streak: reset once a run proves healthy

    async def __call__(self) -> None:
        await self._mark(up=True)
        while True:
            try:
                await self._run_once()
            except Exception as error:
                await self._failed(error)
                continue
            log.info("worker_finished", worker=self.label)
            return

    async def _run_once(self) -> None:
        task = asyncio.ensure_future(self._run())
        try:
            done, _ = await asyncio.wait({task}, timeout=self._policy.healthy_after_seconds)
            if not done:
                if self._failures:
                    log.info("worker_recovered", worker=self.label, failures=self._failures)
                self._failures = 0
                await self._mark(up=True)
            await task
        finally:
            if not task.done():  # we were cancelled: stop the worker with us
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _failed(self, error: Exception) -> None:
        self._failures += 1
        delay = self._policy.delay(self._failures)
        # The first failure of a streak with its traceback; the retries in one line each.
        log.warning(
            "worker_failed",
            worker=self.label,
            error=describe(error),
            failures=self._failures,
            restart_in=round(delay, 3),
            exc_info=error if self._failures == 1 else None,
        )
        await self._mark(up=False)
        await asyncio.sleep(delay)
        WORKER_RESTARTS.labels(self.label).inc()

    async def _mark(self, up: bool) -> None:
        WORKER_UP.labels(self.label).set(1 if up else 0)
        if up != self.up:
            self.up = up
            await self._changed()


class Workers:
    """The supervised background workers of one service, and whether it is serving.

    Iterating gives the workers to run (each a callable that supervises its worker
    until cancelled); the process that hosts the service starts them.
    """

    def __init__(self, service: str = "", policy: RestartPolicy | None = None) -> None:
        self._service = service
        self._policy = policy or RestartPolicy()
        self._workers: list[SupervisedWorker] = []
        self._listeners: list[Listener] = []
        self._serving = True

    def add(self, name: str, run: Callable[[], Awaitable[None]], essential: bool = True) -> None:
        """Supervises ``run``; while an ``essential`` worker is down, the service is not
        serving. A worker whose failure only degrades the service is not essential."""
        label = f"{self._service}.{name}"
        self._workers.append(SupervisedWorker(label, run, essential, self._policy, self._changed))

    def __iter__(self) -> Iterator[SupervisedWorker]:
        return iter(self._workers)

    @property
    def serving(self) -> bool:
        return all(w.up for w in self._workers if w.essential)

    def down(self) -> list[str]:
        """The essential workers that are down, by label."""
        return [w.label for w in self._workers if w.essential and not w.up]

    def listen(self, listener: Listener) -> None:
        """Calls ``listener(serving)`` whenever the service starts or stops serving."""
        self._listeners.append(listener)

    async def _changed(self) -> None:
        serving = self.serving
        if serving == self._serving:
            return
        self._serving = serving
        if serving:
            log.info("service_serving", service=self._service)
        else:
            log.warning("service_not_serving", service=self._service, workers_down=self.down())
        for listener in self._listeners:
            await listener(serving)
