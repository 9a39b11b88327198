"""The key ring: the Ed25519 keys in use, the newest signing access tokens, all of them
published as a JWK Set; and the rules every access token follows.

The token format lives here, beside its verifier (``services.kit.tokens``), because both
sides use it: the auth service fills a ring from its store and signs with it, and a process
that hosts auth (the embedded stack) signs its own service credentials with the same ring
(``services.kit.service_token``). Making, storing and rotating keys is the auth service's
(``services.auth.keys``, ``services.auth.signing``). Plain dataclasses, no I/O.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from services.kit.tokens import ALGORITHM


@dataclass(frozen=True)
class SigningKey:
    """One Ed25519 key pair; ``kid`` names it in token headers and in the JWKS."""

    kid: str
    private_key: Ed25519PrivateKey
    created_at: datetime

    def public_jwk(self) -> dict[str, str]:
        jwk: dict[str, str] = OKPAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "alg": ALGORITHM, "use": "sig"}

    def private_pem(self) -> str:
        """The private key as unencrypted PKCS#8 PEM, the form the store keeps."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()


@dataclass(frozen=True)
class AccessTokenRules:
    """What an access token says about where it comes from and how long it lives."""

    issuer: str
    audience: str
    ttl: timedelta


class KeyRing:
    """The keys in use: the newest signs, all of them are published.

    One ring lives as long as the process; :meth:`replace` swaps its keys when they
    rotate, so everything holding the ring sees the change.
    """

    def __init__(self, keys: Sequence[SigningKey] = ()) -> None:
        self._keys: list[SigningKey] = []
        self.replace(keys)

    def replace(self, keys: Iterable[SigningKey]) -> None:
        self._keys = sorted(keys, key=lambda key: key.created_at)

    @property
    def keys(self) -> tuple[SigningKey, ...]:
        return tuple(self._keys)

    @property
    def signing_key(self) -> SigningKey:
        if not self._keys:
            raise LookupError("the key ring is empty: keys are loaded when the auth store opens")
        return self._keys[-1]

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [key.public_jwk() for key in reversed(self._keys)]}

    def issue_access_token(
        self, user_id: str, roles: Iterable[str], rules: AccessTokenRules, now: datetime
    ) -> tuple[str, datetime]:
        """A signed access token for ``user_id`` and the moment it expires."""
        expires = now + rules.ttl
        claims: dict[str, Any] = {
            "iss": rules.issuer,
            "aud": rules.audience,
            "sub": user_id,
            "roles": sorted(roles),
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "jti": uuid.uuid4().hex,
        }
        key = self.signing_key
        token = jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})
        return token, expires
