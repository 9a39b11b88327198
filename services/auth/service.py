"""The auth service as a server hosts it, and how it is assembled from the settings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from cinema.auth.v1 import auth_pb2, auth_pb2_grpc
from services.auth.accounts import Accounts, TokenPolicy
from services.auth.keys import AccessTokenRules, KeyPolicy, KeyRing
from services.auth.passwords import Passwords
from services.auth.servicer import AuthServicer
from services.auth.signing import SigningKeys
from services.auth.store import AuthStore
from services.auth.store_sql import open_store
from services.auth.throttle import LoginThrottle, SlidingWindow
from services.kit.config import Settings
from services.kit.interceptors import AccessPolicy
from services.kit.server import ServiceSpec
from services.runtime import Runtime

NAME = auth_pb2.DESCRIPTOR.services_by_name["AuthService"].full_name

ACCESS = AccessPolicy(
    public=frozenset(
        f"/{NAME}/{method}" for method in ("Register", "Login", "Refresh", "Logout", "GetJwks")
    ),
    service_only=frozenset(),
)


def token_policy(settings: Settings) -> TokenPolicy:
    return TokenPolicy(
        access=AccessTokenRules(
            settings.jwt_issuer,
            settings.jwt_audience,
            timedelta(seconds=settings.access_token_ttl_seconds),
        ),
        refresh_ttl=timedelta(seconds=settings.refresh_token_ttl_seconds),
        service_ttl=timedelta(seconds=settings.service_token_ttl_seconds),
    )


def key_policy(settings: Settings) -> KeyPolicy:
    longest = max(settings.access_token_ttl_seconds, settings.service_token_ttl_seconds)
    return KeyPolicy(
        rotate_every=timedelta(seconds=settings.signing_key_rotation_seconds),
        longest_token_ttl=timedelta(seconds=longest),
    )


async def open_accounts(
    settings: Settings, ring: KeyRing, clock: Callable[[], datetime], rotate: bool = True
) -> tuple[Accounts, AuthStore]:
    """Opens the store (migrating it) and loads the signing keys into ``ring``."""
    store = await open_store(settings.auth_dsn)
    keys = SigningKeys(store, ring, key_policy(settings), clock)
    await keys.sync(rotate=rotate)
    window = settings.login_failure_window_seconds

    def seconds() -> float:  # the service's clock, so that tests can move time on
        return clock().timestamp()

    throttle = LoginThrottle(
        per_login=SlidingWindow(settings.login_failures_per_login, window, seconds),
        per_address=SlidingWindow(settings.login_failures_per_address, window, seconds),
    )
    accounts = Accounts(store, keys, Passwords(), throttle, token_policy(settings), clock)
    return accounts, store


async def open_service(runtime: Runtime) -> ServiceSpec:
    """Opens the auth store (migrating it), loads the signing keys into ``runtime.keys``."""
    accounts, store = await open_accounts(runtime.settings, runtime.keys, runtime.clock)
    return create(accounts, store)


def create(accounts: Accounts, store: AuthStore) -> ServiceSpec:
    servicer = AuthServicer(accounts)
    return ServiceSpec(
        name=NAME,
        register=lambda server: auth_pb2_grpc.add_AuthServiceServicer_to_server(servicer, server),
        access=ACCESS,
        on_stop=store.close,
    )
