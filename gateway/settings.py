"""The gateway's own settings, from ``CINEMA_*`` environment variables like the rest."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    """What the REST edge accepts and from whom."""

    model_config = SettingsConfigDict(env_prefix="CINEMA_", extra="forbid")

    http_host: str = Field("127.0.0.1", description="Interface the REST gateway binds.")
    http_port: int = Field(8000, ge=0, le=65535, description="REST gateway port.")
    http_max_body_bytes: int = Field(
        1024 * 1024, gt=0, description="Largest request body; a larger one is 413."
    )
    http_max_header_bytes: int = Field(
        32 * 1024, gt=0, description="Largest request line and headers together; more is 431."
    )
    cors_origins: str = Field(
        "",
        description="Comma-separated origins (https://app.example) whose pages may call the "
        "API from a browser; empty: none.",
    )
    stream_ticket_seconds: float = Field(
        60.0, gt=0, le=600, description="How long a stream ticket (POST /v1/stream-tickets) lasts."
    )

    @property
    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]
