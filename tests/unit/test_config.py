"""Configuration defaults give the embedded stack; DSN schemes choose backends."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.kit.config import Settings, dsn_scheme


def test_defaults_are_the_embedded_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CINEMA_DATA_DIR", "CINEMA_LIKES_DSN", "CINEMA_GRPC_PORT", "CINEMA_AUTH_TARGET"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.data_dir == Path(".cinema")
    assert settings.likes_dsn == "sqlite:///.cinema/likes.db"
    assert settings.auth_target == "127.0.0.1:50051"
    assert (settings.grpc_port, settings.http_port) == (50051, 8000)


def test_environment_overrides_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CINEMA_LIKES_DSN", "mongodb://127.0.0.1:27017/cinema")
    monkeypatch.setenv("CINEMA_GRPC_PORT", "6000")
    settings = Settings()
    assert dsn_scheme(settings.likes_dsn) == "mongodb"
    assert settings.catalog_target == "127.0.0.1:6000"


@pytest.mark.parametrize(
    ("dsn", "scheme"),
    [
        ("sqlite:///x.db", "sqlite"),
        ("postgresql+asyncpg://u@h/db", "postgresql"),
        ("https://es:9200", "https"),
        ("kafka://127.0.0.1:9092", "kafka"),
    ],
)
def test_dsn_scheme_chooses_the_backend(dsn: str, scheme: str) -> None:
    assert dsn_scheme(dsn) == scheme


def test_a_dsn_without_scheme_is_an_error() -> None:
    with pytest.raises(ValueError, match="no scheme"):
        dsn_scheme("/var/lib/cinema.db")
