"""The auth service as a server hosts it, and how it is assembled from the settings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from cinema.auth.v1 import auth_pb2, auth_pb2_grpc
from services.auth import rules
from services.auth.accounts import Accounts, TokenPolicy
from services.auth.keys import KeyPolicy
from services.auth.passwords import Passwords
from services.auth.servicer import AuthServicer, Edge
from services.auth.signing import SYNC_EVERY, SigningKeys
from services.auth.store import AuthStore, open_store
from services.auth.throttle import LoginThrottle
from services.kit.config import Settings
from services.kit.interceptors import AccessPolicy
from services.kit.keyring import AccessTokenRules, KeyRing
from services.kit.limits import SlidingWindow
from services.kit.server import ServiceSpec
from services.kit.tokens import JwksCache, TokenVerifier
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
    settings = runtime.settings
    proxies = rules.trusted_networks(settings.trusted_proxies)  # a typo fails before opening
    accounts, store = await open_accounts(settings, runtime.keys, runtime.clock)
    return create(accounts, store, trusted_edge(settings, proxies, accounts.keys))


def trusted_edge(
    settings: Settings, proxies: tuple[rules.IPNetwork, ...], keys: SigningKeys
) -> Edge:
    """Who may tell the auth service a client's address: the trusted ``proxies`` and the
    edge, whose ``service`` token is checked against this service's own keys."""

    async def own_jwks() -> dict[str, list[dict[str, str]]]:
        return (await keys.current()).jwks()

    # The keys are local, so an unknown key id is looked up again at once, no waiting.
    own_keys = JwksCache(own_jwks, SYNC_EVERY.total_seconds(), min_refetch_seconds=0.0)
    verifier = TokenVerifier(own_keys, settings.jwt_issuer, settings.jwt_audience)
    return Edge(proxies, verifier)


def create(accounts: Accounts, store: AuthStore, edge: Edge) -> ServiceSpec:
    servicer = AuthServicer(accounts, edge)
    return ServiceSpec(
        name=NAME,
        register=lambda server: auth_pb2_grpc.add_AuthServiceServicer_to_server(servicer, server),
        access=ACCESS,
        on_stop=store.close,
    )
