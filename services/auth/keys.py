"""Signing keys and access tokens (Ed25519 JWTs with a ``kid`` header), and key rotation.

Plain functions and dataclasses, no I/O: the auth store persists keys, this module
signs with them, publishes their public halves as a JWK Set and decides when a new key
takes over and when an old one may stop being published.
"""

from __future__ import annotations

import itertools
import secrets
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


def new_signing_key(now: datetime) -> SigningKey:
    return SigningKey(
        kid=secrets.token_urlsafe(12), private_key=Ed25519PrivateKey.generate(), created_at=now
    )


def signing_key_from_pem(kid: str, pem: str, created_at: datetime) -> SigningKey:
    private_key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(private_key, Ed25519PrivateKey):
        raise ValueError(f"signing key {kid} is not an Ed25519 key")
    return SigningKey(kid=kid, private_key=private_key, created_at=created_at)


@dataclass(frozen=True)
class AccessTokenRules:
    """What an access token says about where it comes from and how long it lives."""

    issuer: str
    audience: str
    ttl: timedelta


@dataclass(frozen=True)
class KeyPolicy:
    """When keys rotate, and how long a key that stopped signing stays published."""

    rotate_every: timedelta
    #: The longest lifetime of any token we sign (access or service credential).
    longest_token_ttl: timedelta
    #: Covers verifier leeway, clock skew and replicas that have not yet seen a new key.
    grace: timedelta = timedelta(minutes=2)


@dataclass(frozen=True)
class RotationPlan:
    """What to change in the stored keys now."""

    new_key_due: bool
    retired: tuple[str, ...]


def plan_rotation(
    keys: Sequence[SigningKey], now: datetime, policy: KeyPolicy, rotate: bool = True
) -> RotationPlan:
    """Which keys to add and remove so that no valid token loses its key.

    A key signs until a newer one exists; the tokens it signed live at most
    ``longest_token_ttl`` after that, so it is published until then (plus grace).
    The newest key is never retired. ``rotate=False`` only makes a key when there is none.
    """
    ordered = sorted(keys, key=lambda key: key.created_at)
    if not ordered:
        return RotationPlan(new_key_due=True, retired=())
    due = rotate and ordered[-1].created_at + policy.rotate_every <= now
    keep_for = policy.longest_token_ttl + policy.grace
    retired = tuple(
        key.kid
        for key, successor in itertools.pairwise(ordered)
        if successor.created_at + keep_for <= now
    )
    return RotationPlan(new_key_due=due, retired=retired)


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
