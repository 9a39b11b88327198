"""Configuration from ``CINEMA_*`` environment variables.

Every default gives the embedded stack: SQLite files under ``CINEMA_DATA_DIR``, the
in-process search index and cache, all services on one gRPC port. Production points
the DSNs at PostgreSQL, MongoDB, Elasticsearch, Redis and Kafka; the scheme of each
DSN chooses the store backend.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, PrivateAttr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.kit.requirements import SERVICES


class Settings(BaseSettings):
    """All settings of all services; each service reads the ones it needs."""

    model_config = SettingsConfigDict(env_prefix="CINEMA_", extra="ignore")

    #: Targets given in the environment, not defaulted to this process's own address.
    _configured_targets: frozenset[str] = PrivateAttr(frozenset())

    data_dir: Path = Field(Path(".cinema"), description="Where the embedded stores keep files.")
    grpc_host: str = Field("127.0.0.1", description="Interface the gRPC server binds.")
    grpc_port: int = Field(50051, ge=0, le=65535, description="gRPC port (0 picks a free one).")
    http_host: str = Field("127.0.0.1", description="Interface the REST gateway binds.")
    http_port: int = Field(8000, ge=0, le=65535, description="REST gateway port.")
    metrics_port: int = Field(
        0, ge=0, le=65535, description="Prometheus port of `cinema up`, `cinema serve` (0: none)."
    )

    auth_dsn: str = Field("", description="Auth store; default sqlite under data_dir.")
    catalog_dsn: str = Field("", description="Catalog source of truth; default sqlite.")
    search_dsn: str = Field("", description="Search index: http(s):// for Elasticsearch.")
    likes_dsn: str = Field("", description="Likes store: sqlite:/// or mongodb://.")
    recommendations_dsn: str = Field("", description="Recommendations store.")
    cache_url: str = Field("memory://", description="Cache: memory:// (LRU) or redis://.")
    events_url: str = Field("", description="Event bus: empty (StreamEvents only) or kafka://.")
    events_topic: str = Field(
        "cinema.likes.events", description="Kafka topic the likes relay publishes events to."
    )
    recommendations_consumer_group: str = Field(
        "cinema-recommendations",
        min_length=1,
        description="Kafka consumer group in which recommender replicas share the likes topic.",
    )
    likes_poll_seconds: float = Field(
        0.5, gt=0, description="How often likes streams and relays poll for other replicas' events."
    )
    likes_relay_lease_seconds: float = Field(
        10.0, gt=0, description="Lease of the one active outbox (and Kafka) relay per database."
    )
    likes_film_cache_seconds: float = Field(
        300.0, gt=0, description="How long the likes service trusts that a film exists."
    )
    likes_missing_film_cache_seconds: float = Field(
        10.0, ge=0, description="How long the likes service trusts that a film does not exist."
    )
    search_index_prefix: str = Field(
        "cinema_", description="Prefix of the Elasticsearch index names (films, genres, persons)."
    )
    cache_ttl_seconds: float = Field(
        300.0, gt=0, description="How long a cached film is trusted (catalog read-through cache)."
    )
    demo_catalog: bool = Field(
        True, description="Load the bundled demo catalog on `cinema up` when the catalog is empty."
    )

    auth_target: str = Field("", description="gRPC target of the auth service (JWKS).")
    catalog_target: str = Field("", description="gRPC target of the catalog service.")
    likes_target: str = Field("", description="gRPC target of the likes service.")
    recommendations_target: str = Field("", description="gRPC target of recommendations.")

    service_token: str = Field(
        "", description="Bearer token (role `service`) this process presents to other services."
    )
    trusted_proxies: str = Field(
        "",
        description="Comma-separated addresses or networks (CIDR) of proxies, e.g. Envoy, "
        "whose x-forwarded-for the auth service believes; the gateway proves itself instead.",
    )
    jwt_issuer: str = Field("cinema-auth", description="`iss` of access tokens.")
    jwt_audience: str = Field("cinema", description="`aud` of access tokens.")
    access_token_ttl_seconds: int = Field(900, gt=0, description="Access token lifetime.")
    refresh_token_ttl_seconds: int = Field(30 * 24 * 3600, gt=0, description="Refresh lifetime.")
    service_token_ttl_seconds: int = Field(
        30 * 24 * 3600, gt=0, description="Lifetime of a service credential (`cinema auth`)."
    )
    signing_key_rotation_seconds: int = Field(
        7 * 24 * 3600, gt=0, description="How long a signing key signs before a new one does."
    )
    login_failures_per_login: int = Field(
        5, gt=0, description="Failed logins per login within the window before throttling."
    )
    login_failures_per_address: int = Field(
        20, gt=0, description="Failed logins per client address within the window."
    )
    login_failure_window_seconds: float = Field(
        300.0, gt=0, description="Sliding window over which failed logins are counted."
    )
    page_token_secret: str = Field(
        "",
        repr=False,
        pattern=r"^$|^.{16,}$",
        description="Key that signs page tokens (16+ characters); replicas must share it. "
        "Empty: a random key per process.",
    )
    jwks_refresh_seconds: float = Field(
        300.0, gt=0, description="How long a fetched JWKS is trusted before it is fetched again."
    )

    gigachat_credentials: str = Field(
        "",
        repr=False,
        description="GigaChat authorization key (base64 client_id:secret); empty: LLM off.",
    )
    gigachat_scope: str = Field(
        "GIGACHAT_API_PERS",
        pattern="^GIGACHAT_API_(PERS|B2B|CORP)$",
        description="GigaChat API scope of the authorization key.",
    )
    gigachat_model: str = Field("GigaChat", min_length=1, description="GigaChat model name.")
    gigachat_base_url: str = Field(
        "https://gigachat.devices.sberbank.ru/api/v1", description="GigaChat REST API base URL."
    )
    gigachat_auth_url: str = Field(
        "https://ngw.devices.sberbank.ru:9443/api/v2/oauth",
        description="GigaChat OAuth token endpoint.",
    )
    gigachat_verify_ssl: bool = Field(True, description="Verify GigaChat's TLS certificates.")
    gigachat_ca_bundle_file: str = Field(
        "", description="CA bundle for GigaChat's certificates (the Russian Trusted Root CA)."
    )
    gigachat_timeout_seconds: float = Field(
        30.0, gt=0, description="Timeout of one GigaChat HTTP request."
    )
    llm_mode: str = Field(
        "rerank",
        pattern="^(generate|rerank|off)$",
        description="How refreshes use GigaChat: generate titles, rerank local candidates, off.",
    )
    llm_max_concurrency: int = Field(2, gt=0, description="GigaChat calls in flight at once.")
    llm_calls_per_hour: int = Field(
        120, ge=0, description="GigaChat HTTP calls per hour (sliding window, per process)."
    )
    llm_cache_ttl_seconds: float = Field(
        86400.0, ge=0, description="How long a GigaChat answer for one taste profile is reused."
    )
    llm_breaker_failures: int = Field(
        5, gt=0, description="Consecutive GigaChat failures that open the circuit breaker."
    )
    llm_breaker_reset_seconds: float = Field(
        60.0, gt=0, description="How long the open breaker waits before one trial call."
    )
    llm_retry_attempts: int = Field(
        3, gt=0, description="Attempts per GigaChat call (retries on 429, 5xx, timeouts)."
    )
    llm_retry_backoff_seconds: float = Field(
        0.5, ge=0, description="First retry delay; doubles each retry, with jitter."
    )
    llm_retry_max_backoff_seconds: float = Field(
        8.0, ge=0, description="Longest delay between two GigaChat attempts."
    )
    recommendations_list_size: int = Field(
        100, gt=0, le=500, description="Films kept in each user's stored recommendation list."
    )
    recommendations_debounce_seconds: float = Field(
        0.3, ge=0, description="Quiet time after a user's last event before their list refreshes."
    )
    recommendations_refresh_concurrency: int = Field(
        4, gt=0, description="Refreshes computed at once (events, sweep, StreamRefreshes)."
    )
    recommendations_refreshes_per_minute: int = Field(
        10, gt=0, description="RefreshMyRecommendations calls one user may make per minute."
    )
    recommendations_llm_on_events: bool = Field(
        True, description="After an event's local refresh, refresh again with GigaChat (budgeted)."
    )
    recommendations_sweep_seconds: float = Field(
        300.0, gt=0, description="How often the sweep looks for stale lists."
    )
    recommendations_max_age_seconds: float = Field(
        6 * 3600.0, gt=0, description="Lists older than this are refreshed by the sweep."
    )
    recommendations_sweep_batch: int = Field(
        100, gt=0, description="Stale lists one sweep refreshes, the longest unswept first."
    )
    recommendations_model_rebuild_seconds: float = Field(
        300.0, gt=0, description="Longest time new likes wait before the models are refitted."
    )
    recommendations_model_rebuild_interactions: int = Field(
        500, gt=0, description="New likes/dislikes that trigger a refit at once."
    )
    recommendations_catalog_refresh_seconds: float = Field(
        900.0, gt=0, description="How often the catalog's films are fetched again for the models."
    )
    recommendations_blend_weights: dict[str, float] = Field(
        default_factory=dict,
        description='Blend weights by list (JSON, e.g. {"ease": 1, "content": 0.1}); '
        "unset ones keep their defaults: ease, knn, content, seed, llm, top_rated, most_liked.",
    )

    log_level: str = Field("INFO", description="Log level.")
    log_format: str = Field("json", pattern="^(json|console)$", description="json or console.")
    shutdown_grace_seconds: float = Field(5.0, ge=0, description="Grace for in-flight RPCs.")
    worker_restart_max_seconds: float = Field(
        30.0, gt=0, description="Longest wait before a failed background worker is restarted."
    )
    worker_healthy_after_seconds: float = Field(
        5.0, gt=0, description="A restarted worker counts as up once it ran this long unfailed."
    )

    @model_validator(mode="after")
    def _embedded_defaults(self) -> Settings:
        """Fill empty DSNs and targets with the embedded setup."""
        sqlite = f"sqlite:///{self.data_dir}"
        self.auth_dsn = self.auth_dsn or f"{sqlite}/auth.db"
        self.catalog_dsn = self.catalog_dsn or f"{sqlite}/catalog.db"
        self.search_dsn = self.search_dsn or self.catalog_dsn
        self.likes_dsn = self.likes_dsn or f"{sqlite}/likes.db"
        self.recommendations_dsn = self.recommendations_dsn or f"{sqlite}/recommendations.db"
        self._configured_targets = frozenset(
            f"{name}_target" for name in SERVICES if getattr(self, f"{name}_target")
        )
        own = f"{self.grpc_host}:{self.grpc_port}"
        self.auth_target = self.auth_target or own
        self.catalog_target = self.catalog_target or own
        self.likes_target = self.likes_target or own
        self.recommendations_target = self.recommendations_target or own
        return self

    def is_configured(self, name: str) -> bool:
        """Whether setting ``name`` was given, rather than left to the embedded default."""
        if name.endswith("_target"):
            return name in self._configured_targets
        return bool(getattr(self, name))


def dsn_scheme(dsn: str) -> str:
    """The backend-choosing part of a DSN: ``postgresql+asyncpg://x`` -> ``postgresql``."""
    scheme, sep, _ = dsn.partition("://")
    if not sep:
        raise ValueError(f"not a DSN (no scheme): {dsn!r}")
    return scheme.split("+", 1)[0].lower()


def sqlite_path(dsn: str) -> str:
    """``sqlite:///rel/x.db`` -> ``rel/x.db``; ``sqlite:////abs/x.db`` -> ``/abs/x.db``."""
    return dsn.split("://", 1)[1].removeprefix("/")


def kafka_bootstrap(events_url: str) -> str:
    """``kafka://h1:9092,h2:9092`` -> ``h1:9092,h2:9092`` (aiokafka's bootstrap_servers)."""
    if dsn_scheme(events_url) != "kafka":
        raise ValueError("CINEMA_EVENTS_URL: only kafka://host:port[,host:port] is supported")
    return events_url.split("://", 1)[1].strip("/")
