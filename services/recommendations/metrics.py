"""Prometheus metrics of the refresh pipeline (GigaChat's own are in ``llm.metrics``)."""

from prometheus_client import Counter, Gauge, Histogram

REFRESHES = Counter(
    "cinema_recommendation_refreshes_total",
    "List refreshes, by what triggered them and how they ended.",
    ["trigger", "status"],
)
REFRESH_SECONDS = Histogram(
    "cinema_recommendation_refresh_seconds",
    "Wall time of one refresh, from request to stored list.",
    ["trigger"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
EVENTS = Counter(
    "cinema_recommendation_events_total", "Likes events folded into the projection.", ["kind"]
)
MODEL_FIT_SECONDS = Gauge(
    "cinema_recommendation_model_fit_seconds",
    "Seconds the latest fit of the engines took: kind fit (catalog and likes) or refit"
    " (new likes only).",
    ["kind"],
)
MODEL_FITTED = Gauge(
    "cinema_recommendation_model_fitted_timestamp_seconds",
    "When the engines answering now were fitted (their age: time() minus this).",
)
