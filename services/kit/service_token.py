"""The ``service``-role token a service presents to another (or the gateway to auth).

``CINEMA_SERVICE_TOKEN`` when set (a deployed service, issued by ``cinema auth``);
otherwise, in a process that hosts the auth service too (the embedded stack), a
short-lived token signed with its current key under the caller's own subject, minted
again before it expires.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from services.kit.config import MeshSettings
from services.kit.keyring import AccessTokenRules, KeyRing

TTL = timedelta(hours=1)
RENEW_BEFORE = timedelta(minutes=5)


class ServiceToken:
    """The current token, or None when there is none to present.

    ``subject`` (``svc-recommendations``, ``svc-gateway``) names the caller in the tokens
    minted here, so logs and audits tell the services apart.
    """

    def __init__(
        self,
        mesh: MeshSettings,
        keys: KeyRing | None,
        clock: Callable[[], datetime],
        subject: str,
    ) -> None:
        self._configured = mesh.service_token
        self._rules = AccessTokenRules(mesh.jwt_issuer, mesh.jwt_audience, TTL)
        self._keys = keys
        self._clock = clock
        self._subject = subject
        self._token: str | None = None
        self._expires = datetime.min

    def __call__(self) -> str | None:
        if self._configured:
            return self._configured
        if self._keys is None or not self._keys.keys:
            return None
        now = self._clock()
        if self._token is None or now >= self._expires - RENEW_BEFORE:
            self._token, self._expires = self._keys.issue_access_token(
                self._subject, ("service",), self._rules, now
            )
        return self._token
