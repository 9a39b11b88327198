"""The likes service's settings (``CINEMA_*``): its store, relays and film checks."""

from __future__ import annotations

from pydantic import Field

from services.kit.config import Section


class LikesSettings(Section):
    """What the likes service alone reads; the event bus is the mesh's."""

    likes_dsn: str = Field("", description="Likes store: sqlite:/// or mongodb://.")
    likes_poll_seconds: float = Field(
        0.5, gt=0, description="How often likes streams and relays poll for other replicas' events."
    )
    likes_relay_lease_seconds: float = Field(
        10.0, gt=0, description="Lease of the one active outbox (and Kafka) relay per database."
    )
    likes_film_cache_seconds: float = Field(
        300.0, gt=0, description="How long the likes service trusts that a film exists."
    )
    likes_missing_film_cache_seconds: float = Field(
        10.0, ge=0, description="How long the likes service trusts that a film does not exist."
    )
