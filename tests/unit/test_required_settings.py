"""A service running alone names the settings it lacks, instead of asking itself."""

from __future__ import annotations

import pytest

from services.kit.requirements import SERVICES, missing_settings
from services.settings import Settings


@pytest.fixture(autouse=True)
def no_cinema_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("events_url", "service_token", *(f"{s}_target" for s in SERVICES)):
        monkeypatch.delenv(f"CINEMA_{name.upper()}", raising=False)


def test_auth_needs_no_other_service() -> None:
    assert missing_settings(Settings().mesh, "auth") == []


def test_a_defaulted_target_counts_as_missing_even_though_it_has_a_value() -> None:
    mesh = Settings().mesh
    assert mesh.auth_target  # the embedded default: this process's own port
    assert missing_settings(mesh, "catalog") == ["CINEMA_AUTH_TARGET"]
    assert missing_settings(Settings(auth_target="auth:50051").mesh, "catalog") == []


def test_the_recommender_needs_likes_and_a_service_token_unless_events_come_from_kafka() -> None:
    alone = Settings(auth_target="auth:1", catalog_target="catalog:1").mesh
    assert missing_settings(alone, "recommendations") == [
        "CINEMA_LIKES_TARGET",
        "CINEMA_SERVICE_TOKEN",
    ]
    on_kafka = alone.model_copy(update={"events_url": "kafka://127.0.0.1:9092"})
    assert missing_settings(on_kafka, "recommendations") == []


def test_the_gateway_needs_all_four_targets() -> None:
    assert missing_settings(Settings(likes_target="likes:1").mesh, "gateway") == [
        "CINEMA_AUTH_TARGET",
        "CINEMA_CATALOG_TARGET",
        "CINEMA_RECOMMENDATIONS_TARGET",
    ]
