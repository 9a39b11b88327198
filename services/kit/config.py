"""Configuration from ``CINEMA_*`` environment variables.

Every default gives the embedded stack: SQLite files under ``CINEMA_DATA_DIR``, the
in-process search index and cache, all services on one gRPC port. Production points
the DSNs at PostgreSQL, MongoDB, Elasticsearch, Redis and Kafka; the scheme of each
DSN chooses the store backend.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """All settings of all services; each service reads the ones it needs."""

    model_config = SettingsConfigDict(env_prefix="CINEMA_", extra="ignore")

    data_dir: Path = Field(Path(".cinema"), description="Where the embedded stores keep files.")
    grpc_host: str = Field("127.0.0.1", description="Interface the gRPC server binds.")
    grpc_port: int = Field(50051, ge=0, le=65535, description="gRPC port (0 picks a free one).")
    http_host: str = Field("127.0.0.1", description="Interface the REST gateway binds.")
    http_port: int = Field(8000, ge=0, le=65535, description="REST gateway port.")
    metrics_port: int = Field(
        0, ge=0, le=65535, description="Prometheus port for `cinema serve` (0: no listener)."
    )

    auth_dsn: str = Field("", description="Auth store; default sqlite under data_dir.")
    catalog_dsn: str = Field("", description="Catalog source of truth; default sqlite.")
    search_dsn: str = Field("", description="Search index: http(s):// for Elasticsearch.")
    likes_dsn: str = Field("", description="Likes store: sqlite:/// or mongodb://.")
    recommendations_dsn: str = Field("", description="Recommendations store.")
    cache_url: str = Field("memory://", description="Cache: memory:// (LRU) or redis://.")
    events_url: str = Field("", description="Event bus: empty (StreamEvents only) or kafka://.")

    auth_target: str = Field("", description="gRPC target of the auth service (JWKS).")
    catalog_target: str = Field("", description="gRPC target of the catalog service.")
    likes_target: str = Field("", description="gRPC target of the likes service.")
    recommendations_target: str = Field("", description="gRPC target of recommendations.")

    service_token: str = Field(
        "", description="Bearer token (role `service`) this process presents to other services."
    )
    jwt_issuer: str = Field("cinema-auth", description="`iss` of access tokens.")
    jwt_audience: str = Field("cinema", description="`aud` of access tokens.")
    access_token_ttl_seconds: int = Field(900, gt=0, description="Access token lifetime.")
    refresh_token_ttl_seconds: int = Field(30 * 24 * 3600, gt=0, description="Refresh lifetime.")
    jwks_refresh_seconds: float = Field(
        300.0, gt=0, description="How long a fetched JWKS is trusted before it is fetched again."
    )

    log_level: str = Field("INFO", description="Log level.")
    log_format: str = Field("json", pattern="^(json|console)$", description="json or console.")
    shutdown_grace_seconds: float = Field(5.0, ge=0, description="Grace for in-flight RPCs.")

    @model_validator(mode="after")
    def _embedded_defaults(self) -> Settings:
        """Fill empty DSNs and targets with the embedded setup."""
        sqlite = f"sqlite:///{self.data_dir}"
        self.auth_dsn = self.auth_dsn or f"{sqlite}/auth.db"
        self.catalog_dsn = self.catalog_dsn or f"{sqlite}/catalog.db"
        self.search_dsn = self.search_dsn or self.catalog_dsn
        self.likes_dsn = self.likes_dsn or f"{sqlite}/likes.db"
        self.recommendations_dsn = self.recommendations_dsn or f"{sqlite}/recommendations.db"
        own = f"{self.grpc_host}:{self.grpc_port}"
        self.auth_target = self.auth_target or own
        self.catalog_target = self.catalog_target or own
        self.likes_target = self.likes_target or own
        self.recommendations_target = self.recommendations_target or own
        return self


def dsn_scheme(dsn: str) -> str:
    """The backend-choosing part of a DSN: ``postgresql+asyncpg://x`` -> ``postgresql``."""
    scheme, sep, _ = dsn.partition("://")
    if not sep:
        raise ValueError(f"not a DSN (no scheme): {dsn!r}")
    return scheme.split("+", 1)[0].lower()
