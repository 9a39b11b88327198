"""The auth service's use cases: register, log in, refresh, log out, who am I, history.

Orchestrates the rules (:mod:`rules`, :mod:`refresh`, :mod:`keys`), the password hasher,
the login throttle and the store. Raises only :mod:`services.kit.errors`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from services.auth import refresh, rules
from services.auth.passwords import Passwords
from services.auth.records import LoginHistoryPage, LoginRecord, UserAccount
from services.auth.refresh import IssuedRefreshToken
from services.auth.signing import SigningKeys
from services.auth.store import AuthStore, LoginTaken
from services.auth.throttle import LoginThrottle
from services.kit.errors import AlreadyExists, InvalidArgument, NotFound, Unauthenticated
from services.kit.keyring import AccessTokenRules

Clock = Callable[[], datetime]

#: One message for an unknown login and a wrong password: the answer must not tell which.
BAD_CREDENTIALS = "wrong login or password"
BAD_REFRESH_TOKEN = "refresh token is invalid, expired or revoked; log in again"

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class TokenPolicy:
    access: AccessTokenRules
    refresh_ttl: timedelta
    service_ttl: timedelta


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    access_expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime


@dataclass(frozen=True)
class Client:
    """Where a login comes from, for the history and the throttle."""

    address: str
    user_agent: str


class Accounts:
    def __init__(
        self,
        store: AuthStore,
        keys: SigningKeys,
        passwords: Passwords,
        throttle: LoginThrottle,
        tokens: TokenPolicy,
        clock: Clock,
    ) -> None:
        self._store = store
        self.keys = keys
        self._passwords = passwords
        self._throttle = throttle
        self._tokens = tokens
        self._clock = clock

    async def register(self, registration: rules.Registration) -> UserAccount:
        user = UserAccount(
            id=str(uuid.uuid4()),
            login=registration.login,
            email=registration.email,
            roles=(rules.ROLE_USER,),
            created_at=self._clock(),
            password_hash=await self._passwords.hash(registration.password),
        )
        try:
            await self._store.create_user(user)
        except LoginTaken as error:
            raise AlreadyExists(f"login {registration.login!r} is taken") from error
        log.info("user_registered", user_id=user.id)
        return user

    async def login(
        self, login: str, password: str, client: Client
    ) -> tuple[TokenPair, UserAccount]:
        key = rules.login_key(login)
        # Counted as a failure from here on, so concurrent guesses cannot all get past
        # the limit while their passwords are being checked.
        attempt = self._throttle.begin(key, client.address)
        try:
            user = await self._store.user_by_login(key)
        except BaseException:
            attempt.withdraw()  # no password was checked
            raise
        # Verify even when the login is unknown, so the time taken does not tell. A call
        # cancelled from here on keeps its count: the check runs on in its thread.
        matched = await self._passwords.verify(user.password_hash if user else None, password)
        if user is None or not matched:
            log.info("login_failed", address=client.address)
            raise Unauthenticated(BAD_CREDENTIALS)
        attempt.succeeded()
        now = self._clock()
        await self._store.record_login(user.id, LoginRecord(now, client.user_agent, client.address))
        issued = refresh.issue(user.id, now, self._tokens.refresh_ttl)
        await self._store.start_token_family(issued)
        return await self._pair(user, issued, now), user

    async def refresh(self, secret: str) -> TokenPair:
        token_hash = refresh.hash_token(secret)
        presented = await self._store.refresh_token(token_hash)
        now = self._clock()
        verdict = refresh.judge(presented, now)
        if presented is not None and verdict is refresh.Verdict.ROTATE:
            successor = refresh.issue(
                presented.user_id, now, self._tokens.refresh_ttl, presented.family_id
            )
            if await self._store.rotate_refresh_token(token_hash, successor, now):
                user = await self._store.user_by_id(presented.user_id)
                if user is not None:
                    return await self._pair(user, successor, now)
                raise Unauthenticated(BAD_REFRESH_TOKEN)
            # Someone spent it between our read and our write: the same as a reuse.
            verdict = refresh.Verdict.REUSED
        if presented is not None and verdict is refresh.Verdict.REUSED:
            await self._store.revoke_token_family(presented.family_id, now)
            log.warning(
                "refresh_token_reuse",
                security_event=True,
                user_id=presented.user_id,
                family_id=presented.family_id,
            )
        raise Unauthenticated(BAD_REFRESH_TOKEN)

    async def logout(self, secret: str) -> None:
        presented = await self._store.refresh_token(refresh.hash_token(secret))
        if presented is not None:
            await self._store.revoke_token_family(presented.family_id, self._clock())

    async def user(self, user_id: str) -> UserAccount:
        user = await self._store.user_by_id(user_id)
        if user is None:
            raise NotFound("the user of this token no longer exists")
        return user

    async def login_history(
        self, user_id: str, page_size: int, before: int | None
    ) -> LoginHistoryPage:
        return await self._store.login_history(user_id, page_size, before)

    async def issue_service_token(self, name: str) -> tuple[str, datetime]:
        """A long-lived access token with the ``service`` role for service ``name``.

        The service account is made on first use; it has no password, so it can never
        log in, and its login cannot collide with a user's (see rules.service_login).
        """
        login = rules.service_login(name)
        user = await self._store.user_by_login(login)
        if user is None:
            user = UserAccount(
                id=str(uuid.uuid4()),
                login=login,
                email=None,
                roles=(rules.ROLE_SERVICE,),
                created_at=self._clock(),
                password_hash=None,
            )
            try:
                await self._store.create_user(user)
            except LoginTaken:
                user = await self._store.user_by_login(login)
                if user is None:
                    raise
        ring = await self.keys.sync(rotate=False)
        access = self._tokens.access
        rules_ = AccessTokenRules(access.issuer, access.audience, self._tokens.service_ttl)
        token, expires = ring.issue_access_token(user.id, user.roles, rules_, self._clock())
        log.info("service_token_issued", user_id=user.id, service=name)
        return token, expires

    async def grant_role(self, login: str, role: str) -> tuple[str, ...]:
        """Gives the user ``login`` the ``role`` (e.g. ``admin``); returns their roles.

        Access tokens already issued keep their roles until they expire (15 minutes by
        default); the next login or refresh carries the new ones.
        """
        if role not in (rules.ROLE_USER, rules.ROLE_ADMIN):
            raise InvalidArgument({"role": f"must be {rules.ROLE_USER} or {rules.ROLE_ADMIN}"})
        user = await self._store.user_by_login(login)
        if user is None or user.password_hash is None:
            raise NotFound(f"no user with login {login!r}")
        roles = tuple(sorted({*user.roles, role}))
        await self._store.set_roles(user.id, roles)
        log.info("role_granted", user_id=user.id, role=role)
        return roles

    async def _pair(
        self, user: UserAccount, issued: IssuedRefreshToken, now: datetime
    ) -> TokenPair:
        ring = await self.keys.current()
        access, access_expires = ring.issue_access_token(
            user.id, user.roles, self._tokens.access, now
        )
        return TokenPair(access, access_expires, issued.secret, issued.expires_at)
