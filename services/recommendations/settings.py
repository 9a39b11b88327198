"""The recommender's settings (``CINEMA_*``): its lists, workers and models, and GigaChat."""

from __future__ import annotations

from pydantic import Field, HttpUrl, TypeAdapter, ValidationError, field_validator

from services.kit.config import Section

_URL = TypeAdapter(HttpUrl)


class RecommendationsSettings(Section):
    """The recommender's store, refresh pipeline, sweep and model refits."""

    recommendations_dsn: str = Field("", description="Recommendations store.")
    recommendations_consumer_group: str = Field(
        "cinema-recommendations",
        min_length=1,
        description="Kafka consumer group in which recommender replicas share the likes topic.",
    )
    recommendations_list_size: int = Field(
        100, gt=0, le=500, description="Films kept in each user's stored recommendation list."
    )
    recommendations_debounce_seconds: float = Field(
        0.3, ge=0, description="Quiet time after a user's last event before their list refreshes."
    )
    recommendations_refresh_concurrency: int = Field(
        4,
        gt=0,
        description="Refreshes computed at once (events, sweep, StreamRefreshes); as many"
        " again for those a person waits on (a first page, RefreshMyRecommendations).",
    )
    recommendations_refreshes_per_minute: int = Field(
        10, gt=0, description="RefreshMyRecommendations calls one user may make per minute."
    )
    recommendations_llm_on_events: bool = Field(
        True, description="After an event's local refresh, refresh again with GigaChat (budgeted)."
    )
    recommendations_sweep_seconds: float = Field(
        300.0, gt=0, description="How often the sweep renews every stale list, one pass."
    )
    recommendations_max_age_seconds: float = Field(
        6 * 3600.0, gt=0, description="Lists older than this are refreshed by the sweep."
    )
    recommendations_sweep_batch: int = Field(
        100, gt=0, description="Stale lists the sweep reads from the store at a time."
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
    recommendations_seed_half_life_seconds: float = Field(
        86_400.0,
        gt=0,
        description='How fast a "more like this" fades with time: its pull halves this often.',
    )
    recommendations_seed_fade_per_action: float = Field(
        0.8,
        gt=0,
        le=1,
        description='What each later like or dislike leaves of a "more like this" pull.',
    )
    recommendations_operator_sample_seconds: float = Field(
        10.0, gt=0, description="How often the operator page's metrics are sampled."
    )
    recommendations_operator_window_seconds: float = Field(
        900.0, gt=0, description="How far back the operator page's charts reach."
    )
    recommendations_operator_peers: str = Field(
        "",
        description="Comma-separated Prometheus endpoints (http://host:port/metrics) of the "
        "other services' processes, whose failed RPCs the operator page shows too; empty: "
        "this process's own (embedded, every service's).",
    )
    recommendations_blend_weights: dict[str, float] = Field(
        default_factory=dict,
        description='Blend weights by list (JSON, e.g. {"ease": 1, "content": 0.1}); '
        "unset ones keep their defaults: ease, knn, content, seed, llm, top_rated, most_liked.",
    )

    @field_validator("recommendations_operator_peers")
    @classmethod
    def _peers_are_urls(cls, value: str) -> str:
        for peer in _split(value):
            try:
                _URL.validate_python(peer)
            except ValidationError as error:
                reason = error.errors()[0]["msg"]
                raise ValueError(f"{peer!r} is not an http(s) URL: {reason}") from None
        return value

    @property
    def operator_peers(self) -> tuple[str, ...]:
        """The peers' endpoints, each once, in the order given."""
        return tuple(dict.fromkeys(_split(self.recommendations_operator_peers)))


def _split(peers: str) -> list[str]:
    return [peer.strip() for peer in peers.split(",") if peer.strip()]


class GigaChatSettings(Section):
    """How the recommender reaches GigaChat, and the budget it spends there."""

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
