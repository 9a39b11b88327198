"""Refresh tokens: opaque, stored only as a hash, rotated on use, revoked by family.

A family is every refresh token descended from one login. Each Refresh spends the
presented token and issues its successor in the same family; a spent token presented
again means two parties hold the family (one of them stole it), so the whole family is
revoked and both must log in again.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

#: 256 random bits: guessing is hopeless, so a fast hash is enough to store them.
TOKEN_BYTES = 32


@dataclass(frozen=True)
class IssuedRefreshToken:
    """A new refresh token: the secret for the client, the record for the store."""

    secret: str
    token_hash: str
    family_id: str
    user_id: str
    issued_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class PresentedRefreshToken:
    """What the store knows about a presented refresh token."""

    token_hash: str
    family_id: str
    user_id: str
    expires_at: datetime
    used_at: datetime | None
    family_revoked: bool


class Verdict(Enum):
    """What to do with a presented refresh token."""

    ROTATE = "rotate"  # valid: spend it, issue its successor
    REUSED = "reused"  # already spent: revoke the family, log a security event
    REJECTED = "rejected"  # unknown, expired or revoked: refuse, nothing to change


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue(
    user_id: str, now: datetime, ttl: timedelta, family_id: str | None = None
) -> IssuedRefreshToken:
    """A fresh token; a new family unless ``family_id`` continues one."""
    secret = secrets.token_urlsafe(TOKEN_BYTES)
    return IssuedRefreshToken(
        secret=secret,
        token_hash=hash_token(secret),
        family_id=family_id or str(uuid.uuid4()),
        user_id=user_id,
        issued_at=now,
        expires_at=now + ttl,
    )


def judge(token: PresentedRefreshToken | None, now: datetime) -> Verdict:
    if token is None or token.family_revoked:
        return Verdict.REJECTED
    if token.used_at is not None:
        return Verdict.REUSED
    if token.expires_at <= now:
        return Verdict.REJECTED
    return Verdict.ROTATE
