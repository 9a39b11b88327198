"""Signing keys and access tokens (Ed25519 JWTs with a ``kid`` header).

Plain functions and dataclasses, no I/O: the auth store persists keys, this module
signs with them and publishes their public halves as a JWK Set.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
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


def new_signing_key(now: datetime) -> SigningKey:
    return SigningKey(
        kid=secrets.token_urlsafe(12), private_key=Ed25519PrivateKey.generate(), created_at=now
    )


@dataclass(frozen=True)
class AccessTokenRules:
    """What an access token says about where it comes from and how long it lives."""

    issuer: str
    audience: str
    ttl: timedelta


class KeyRing:
    """The keys in use: the newest signs, all of them are published."""

    def __init__(self, keys: Sequence[SigningKey]) -> None:
        if not keys:
            raise ValueError("a key ring needs at least one key")
        self._keys = sorted(keys, key=lambda key: key.created_at)

    @property
    def signing_key(self) -> SigningKey:
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
