"""The operator's series from readings: rates survive a restart, quantiles read like PromQL's."""

from __future__ import annotations

import math

from services.recommendations.operator_stats import Reading, bucket_quantile, report


def test_a_counter_reset_counts_as_new_events_not_as_negative_ones() -> None:
    readings = [
        Reading(time=0.0, events={"liked": 10.0}),
        Reading(time=10.0, events={"liked": 16.0}),
        Reading(time=20.0, events={"liked": 2.0}),  # the process restarted
    ]
    assert report(readings).events_per_minute == {"liked": [(10.0, 36.0), (20.0, 12.0)]}


def test_a_label_that_never_moved_in_the_window_has_no_line() -> None:
    readings = [
        Reading(time=0.0, refreshes={"sweep": 3.0}),
        Reading(time=5.0, refreshes={"sweep": 3.0}),
    ]
    assert report(readings).refreshes_per_minute == {}


def test_quantiles_interpolate_within_their_bucket() -> None:
    buckets = {0.1: 50.0, 0.5: 90.0, 1.0: 100.0, math.inf: 100.0}
    assert bucket_quantile(0.5, buckets) == 0.1
    assert math.isclose(bucket_quantile(0.7, buckets) or 0, 0.3)
    assert math.isclose(bucket_quantile(0.95, buckets) or 0, 0.75)
    assert bucket_quantile(0.5, {0.1: 0.0, math.inf: 0.0}) is None
    assert bucket_quantile(0.99, {0.1: 0.0, 30.0: 0.0, math.inf: 4.0}) == 30.0


def test_the_models_age_grows_between_fits() -> None:
    readings = [Reading(time=100.0, fitted_at=90.0), Reading(time=110.0, fitted_at=90.0)]
    assert report(readings).model_age_seconds == {"": [(100.0, 10.0), (110.0, 20.0)]}


def test_a_counter_made_on_its_first_increase_counted_zero_before() -> None:
    readings = [
        Reading(time=0.0),
        Reading(time=30.0),
        Reading(time=60.0, llm_calls={"ok": 3.0}),
    ]
    assert report(readings).llm_calls_per_minute == {"ok": [(30.0, 0.0), (60.0, 6.0)]}
