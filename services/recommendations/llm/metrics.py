"""Prometheus metrics of the GigaChat source (grounding rate = grounded / suggested)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

CALLS = Counter(
    "cinema_llm_requests_total",
    "Requests for LLM picks, by mode and how they ended (ok, cached, budget, breaker, ...).",
    ["mode", "outcome"],
)
FAILURES = Counter(
    "cinema_llm_failures_total",
    "GigaChat calls that failed, by kind (timeout, rate_limited, invalid_answer, ...).",
    ["mode", "kind"],
)
RETRIES = Counter("cinema_llm_retries_total", "GigaChat attempts that were retries.", ["mode"])
TOKENS = Counter(
    "cinema_llm_tokens_total", "Tokens GigaChat reported, by kind (prompt, completion).", ["kind"]
)
LATENCY = Histogram(
    "cinema_llm_latency_seconds",
    "Time of one GigaChat call including retries.",
    ["mode"],
    buckets=(0.25, 0.5, 1, 2, 4, 8, 15, 30, 60),
)
SUGGESTED = Counter(
    "cinema_llm_suggested_films_total", "Films GigaChat suggested (before grounding).", ["mode"]
)
GROUNDED = Counter(
    "cinema_llm_grounded_films_total",
    "Suggested films found in the catalog (generate) or among the candidates (rerank).",
    ["mode"],
)
BUDGET_REFUSALS = Counter(
    "cinema_llm_budget_refusals_total", "GigaChat calls refused by the hourly budget.", ["mode"]
)
BREAKER_STATE = Gauge(
    "cinema_llm_breaker_state", "GigaChat circuit breaker: 0 closed, 1 half-open, 2 open."
)
BUDGET_REMAINING = Gauge(
    "cinema_llm_budget_remaining", "GigaChat calls left in the sliding hour's budget."
)
BUDGET_PER_HOUR = Gauge(
    "cinema_llm_budget_calls_per_hour", "The size of GigaChat's hourly budget, in calls."
)
