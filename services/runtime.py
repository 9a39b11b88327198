"""What the services hosted by one process share, handed to each service as it opens."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from services.kit.config import MeshSettings, ProcessSettings
from services.kit.keyring import KeyRing


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    """Each service receives this and its own settings section (``open_service``)."""

    process: ProcessSettings
    mesh: MeshSettings
    #: The auth service's signing keys: filled when the auth store opens, so a process
    #: that hosts auth (the embedded stack) can sign its own service credentials.
    keys: KeyRing = field(default_factory=KeyRing)
    clock: Callable[[], datetime] = utc_now
    #: The services this process hosts (one in production, all four embedded).
    hosted: frozenset[str] = frozenset()

    @property
    def signing_keys(self) -> KeyRing | None:
        """The auth keys to sign our own service credentials with, when this process
        hosts auth (embedded); otherwise None: the credential comes from the mesh settings."""
        return self.keys if "auth" in self.hosted else None
