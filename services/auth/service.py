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
from services.auth.settings import AuthSettings
from services.auth.signing import SYNC_EVERY, SigningKeys
from services.auth.store import AuthStore, open_store
from services.auth.throttle import LoginThrottle
from services.kit.config import MeshSettings
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


def token_policy(config: AuthSettings, mesh: MeshSettings) -> TokenPolicy:
    """Lifetimes are the auth service's; issuer and audience, what every verifier expects."""
    return TokenPolicy(
        access=AccessTokenRules(
            mesh.jwt_issuer,
            mesh.jwt_audience,
            timedelta(seconds=config.access_token_ttl_seconds),
        ),
        refresh_ttl=timedelta(seconds=config.refresh_token_ttl_seconds),
        service_ttl=timedelta(seconds=config.service_token_ttl_seconds),
    )


def key_policy(config: AuthSettings) -> KeyPolicy:
    longest = max(config.access_token_ttl_seconds, config.service_token_ttl_seconds)
    return KeyPolicy(
        rotate_every=timedelta(seconds=config.signing_key_rotation_seconds),
        longest_token_ttl=timedelta(seconds=longest),
    )


async def open_accounts(
    config: AuthSettings,
    mesh: MeshSettings,
    ring: KeyRing,
    clock: Callable[[], datetime],
    rotate: bool = True,
) -> tuple[Accounts, AuthStore]:
    """Opens the store (migrating it) and loads the signing keys into ``ring``."""
    store = await open_store(config.auth_dsn)
    keys = SigningKeys(store, ring, key_policy(config), clock)
    await keys.sync(rotate=rotate)
    window = config.login_failure_window_seconds

    def seconds() -> float:  # the service's clock, so that tests can move time on
        return clock().timestamp()

    throttle = LoginThrottle(
        per_login=SlidingWindow(config.login_failures_per_login, window, seconds),
        per_address=SlidingWindow(config.login_failures_per_address, window, seconds),
    )
    accounts = Accounts(store, keys, Passwords(), throttle, token_policy(config, mesh), clock)
    return accounts, store


async def open_service(runtime: Runtime, config: AuthSettings) -> ServiceSpec:
    """Opens the auth store (migrating it), loads the signing keys into ``runtime.keys``."""
    proxies = rules.trusted_networks(config.trusted_proxies)  # a typo fails before opening
    accounts, store = await open_accounts(config, runtime.mesh, runtime.keys, runtime.clock)
    return create(accounts, store, trusted_edge(runtime.mesh, proxies, accounts.keys))


def trusted_edge(
    mesh: MeshSettings, proxies: tuple[rules.IPNetwork, ...], keys: SigningKeys
) -> Edge:
    """Who may tell the auth service a client's address: the trusted ``proxies`` and the
    edge, whose ``service`` token is checked against this service's own keys."""

    async def own_jwks() -> dict[str, list[dict[str, str]]]:
        return (await keys.current()).jwks()

    # The keys are local, so an unknown key id is looked up again at once, no waiting.
    own_keys = JwksCache(own_jwks, SYNC_EVERY.total_seconds(), min_refetch_seconds=0.0)
    verifier = TokenVerifier(own_keys, mesh.jwt_issuer, mesh.jwt_audience)
    return Edge(proxies, verifier)


def create(accounts: Accounts, store: AuthStore, edge: Edge) -> ServiceSpec:
    servicer = AuthServicer(accounts, edge)
    return ServiceSpec(
        name=NAME,
        register=lambda server: auth_pb2_grpc.add_AuthServiceServicer_to_server(servicer, server),
        access=ACCESS,
        on_stop=store.close,
    )
