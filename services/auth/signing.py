"""Keeps the process's key ring in step with the keys in the store, rotating them on time.

Every replica of the auth service reads the same stored keys, so a key made by one
replica signs and is published by all of them after their next sync.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

import structlog

from services.auth.keys import KeyPolicy, new_signing_key, plan_rotation
from services.auth.store import AuthStore
from services.kit.keyring import KeyRing

Clock = Callable[[], datetime]

#: How long the ring is trusted before the store is read again.
SYNC_EVERY = timedelta(seconds=5)

log = structlog.get_logger(__name__)


class SigningKeys:
    """The key ring of this process, synced from the store and rotated by the policy."""

    def __init__(self, store: AuthStore, ring: KeyRing, policy: KeyPolicy, clock: Clock) -> None:
        self._store = store
        self.ring = ring
        self._policy = policy
        self._clock = clock
        self._synced_at: datetime | None = None
        self._lock = asyncio.Lock()

    async def current(self) -> KeyRing:
        """The ring, read again from the store when it may be stale or a rotation is due."""
        now = self._clock()
        if self._synced_at is None or now - self._synced_at >= SYNC_EVERY or self._due(now):
            await self.sync()
        return self.ring

    def _due(self, now: datetime) -> bool:
        keys = self.ring.keys
        return not keys or keys[-1].created_at + self._policy.rotate_every <= now

    async def sync(self, rotate: bool = True) -> KeyRing:
        """Reads the stored keys, adds a key when one is due, drops keys no token needs.

        ``rotate=False`` (the CLI) only makes a key when there is none: rotating is the
        running service's job.
        """
        async with self._lock:
            now = self._clock()
            keys = await self._store.signing_keys()
            plan = plan_rotation(keys, now, self._policy, rotate=rotate)
            if plan.new_key_due:
                key = new_signing_key(now)
                await self._store.add_signing_key(key)
                keys.append(key)
                log.info("signing_key_added", kid=key.kid)
            if plan.retired:
                await self._store.remove_signing_keys(plan.retired)
                keys = [key for key in keys if key.kid not in plan.retired]
                log.info("signing_keys_retired", kids=list(plan.retired))
            self.ring.replace(keys)
            self._synced_at = now
            return self.ring
