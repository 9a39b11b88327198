"""Configuration defaults give the embedded stack; DSN schemes choose backends."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from services.cli import main
from services.kit import logs
from services.kit.config import dsn_scheme
from services.settings import SECTIONS, Settings


def test_defaults_are_the_embedded_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CINEMA_DATA_DIR", "CINEMA_LIKES_DSN", "CINEMA_GRPC_PORT", "CINEMA_AUTH_TARGET"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.process.data_dir == Path(".cinema")
    assert settings.likes.likes_dsn == "sqlite:///.cinema/likes.db"
    assert settings.mesh.auth_target == "127.0.0.1:50051"
    assert (settings.process.grpc_port, settings.gateway.http_port) == (50051, 8000)


def test_environment_overrides_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CINEMA_LIKES_DSN", "mongodb://127.0.0.1:27017/cinema")
    monkeypatch.setenv("CINEMA_GRPC_PORT", "6000")
    settings = Settings()
    assert dsn_scheme(settings.likes.likes_dsn) == "mongodb"
    assert settings.mesh.catalog_target == "127.0.0.1:6000"


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


def test_each_variable_belongs_to_one_section() -> None:
    fields = [name for section in SECTIONS for name in section.model_fields]
    assert len(fields) == len(set(fields)), "a field in two sections would be read twice"


def test_a_value_of_no_section_is_refused() -> None:
    with pytest.raises(TypeError, match="unknown settings: likes_dns"):
        Settings(likes_dns="sqlite:///typo.db")


def test_a_part_reads_only_its_own_section(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CINEMA_LLM_MODE", "sometimes")
    settings = Settings()
    settings.check("auth", "catalog", "likes", "gateway", "etl")
    with pytest.raises(ValidationError) as raised:
        settings.check("recommendations")
    assert [error["loc"] for error in raised.value.errors()] == [("llm_mode",)]


def test_cinema_serve_names_a_bad_variable_of_its_own_part_and_ignores_others(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(logs, "configure_logging", lambda level, fmt: None)
    monkeypatch.setenv("CINEMA_LLM_MODE", "sometimes")
    monkeypatch.setenv("CINEMA_CACHE_TTL_SECONDS", "-1")
    assert main(["serve", "catalog"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "cinema: CINEMA_CACHE_TTL_SECONDS: Input should be greater than 0"
    ]
    monkeypatch.delenv("CINEMA_CACHE_TTL_SECONDS")
    monkeypatch.delenv("CINEMA_AUTH_TARGET", raising=False)
    # GigaChat's section is the recommender's: the catalog gets past it, to what it lacks.
    assert main(["serve", "catalog"]) == 2
    assert "missing CINEMA_AUTH_TARGET" in capsys.readouterr().err
