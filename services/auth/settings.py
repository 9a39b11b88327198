"""The auth service's settings (``CINEMA_*``): its store, token lifetimes, login throttle."""

from __future__ import annotations

from pydantic import Field, field_validator

from services.auth import rules
from services.kit.config import Section


class AuthSettings(Section):
    """What the auth service alone reads; issuer and audience are the mesh's."""

    auth_dsn: str = Field("", description="Auth store; default sqlite under data_dir.")
    trusted_proxies: str = Field(
        "",
        description="Comma-separated addresses or networks (CIDR) of proxies, e.g. Envoy, "
        "whose x-forwarded-for the auth service believes; the gateway proves itself instead.",
    )
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

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: str) -> str:
        # Named at start like every invalid setting (exit 2), not as a traceback on opening.
        try:
            rules.trusted_networks(value)
        except ValueError as error:
            raise ValueError(str(error).removeprefix("CINEMA_TRUSTED_PROXIES: ")) from None
        return value
