"""Making signing keys, loading them from the store's form, and key rotation.

Plain functions and dataclasses, no I/O: the auth store persists keys, the key ring
(``services.kit.keyring``) signs with them and publishes their public halves, and this
module decides when a new key takes over and when an old one may stop being published.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.kit.keyring import SigningKey


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
