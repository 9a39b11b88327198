"""Configuration from ``CINEMA_*`` environment variables, in sections.

Each part of the system reads its own section (``services/<service>/settings.py``, the
gateway's ``gateway/settings.py``) besides the two every process reads, here: the
process's own (``ProcessSettings``) and how it reaches the others (``MeshSettings``).
``services.settings.Settings`` puts one process's sections together. A field's name is
its variable without the prefix (``auth_dsn`` is ``CINEMA_AUTH_DSN``).

Every default gives the embedded stack: SQLite files under ``CINEMA_DATA_DIR``, the
in-process search index and cache, all services on one gRPC port. Production points
the DSNs at PostgreSQL, MongoDB, Elasticsearch, Redis and Kafka; the scheme of each
DSN chooses the store backend.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, PrivateAttr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.kit.requirements import SERVICES


class Section(BaseSettings):
    """One part's settings, each field read from ``CINEMA_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="CINEMA_", extra="forbid")


class ProcessSettings(Section):
    """What one process is: where it keeps files, listens, logs, and how it runs workers."""

    data_dir: Path = Field(Path(".cinema"), description="Where the embedded stores keep files.")
    grpc_host: str = Field("127.0.0.1", description="Interface the gRPC server binds.")
    grpc_port: int = Field(50051, ge=0, le=65535, description="gRPC port (0 picks a free one).")
    metrics_port: int = Field(
        0, ge=0, le=65535, description="Prometheus port of `cinema up`, `cinema serve` (0: none)."
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
    page_token_secret: str = Field(
        "",
        repr=False,
        pattern=r"^$|^.{16,}$",
        description="Key that signs page tokens (16+ characters); replicas must share it. "
        "Empty: a random key per process.",
    )

    @property
    def own_target(self) -> str:
        """The gRPC address this process listens on, as other parts would dial it."""
        return f"{self.grpc_host}:{self.grpc_port}"

    def sqlite_dsn(self, file: str) -> str:
        """The embedded store ``file`` under the data directory."""
        return f"sqlite:///{self.data_dir}/{file}"


class MeshSettings(Section):
    """How a process reaches the other parts, and what they all agree on about tokens."""

    #: Targets given in the environment, not defaulted to this process's own address.
    _configured_targets: frozenset[str] = PrivateAttr(frozenset())

    auth_target: str = Field("", description="gRPC target of the auth service (JWKS).")
    catalog_target: str = Field("", description="gRPC target of the catalog service.")
    likes_target: str = Field("", description="gRPC target of the likes service.")
    recommendations_target: str = Field("", description="gRPC target of recommendations.")
    service_token: str = Field(
        "", description="Bearer token (role `service`) this process presents to other services."
    )
    jwt_issuer: str = Field("cinema-auth", description="`iss` of access tokens.")
    jwt_audience: str = Field("cinema", description="`aud` of access tokens.")
    jwks_refresh_seconds: float = Field(
        300.0, gt=0, description="How long a fetched JWKS is trusted before it is fetched again."
    )
    events_url: str = Field("", description="Event bus: empty (StreamEvents only) or kafka://.")
    events_topic: str = Field(
        "cinema.likes.events", description="Kafka topic the likes relay publishes events to."
    )

    def with_own_target(self, own: str) -> MeshSettings:
        """Every target left empty pointed at ``own``: embedded, each service is here."""
        targets = [f"{name}_target" for name in SERVICES]
        given = frozenset(name for name in targets if getattr(self, name))
        filled = self.model_copy(update={name: own for name in targets if name not in given})
        filled._configured_targets = given
        return filled

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
