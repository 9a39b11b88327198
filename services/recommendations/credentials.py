"""The ``service``-role token the recommender presents to likes.StreamEvents: the kit's,
minted (embedded) under the recommender's own subject."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from services.auth.keys import KeyRing
from services.kit import service_token
from services.kit.config import Settings

SUBJECT = "svc-recommendations"


class ServiceToken(service_token.ServiceToken):
    def __init__(
        self, settings: Settings, keys: KeyRing | None, clock: Callable[[], datetime]
    ) -> None:
        super().__init__(settings, keys, clock, SUBJECT)
