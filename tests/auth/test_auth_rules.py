"""The auth service's rules, without I/O: registration, refresh verdicts, key rotation,
throttling, page tokens and client addresses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.auth import refresh, rules
from services.auth.keys import KeyPolicy, new_signing_key, plan_rotation
from services.auth.throttle import LoginThrottle
from services.kit.errors import InvalidArgument, ResourceExhausted
from services.kit.limits import SlidingWindow

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def test_valid_registration_passes_and_empty_email_means_none() -> None:
    assert rules.check_registration("a.b_c-1", "long enough", "").email is None


def test_every_broken_registration_rule_names_its_field() -> None:
    with pytest.raises(InvalidArgument) as raised:
        rules.check_registration("x", "short", "no-at-sign")
    assert [field for field, _ in raised.value.violations] == ["login", "password", "email"]


def test_password_equal_to_the_login_is_refused() -> None:
    with pytest.raises(InvalidArgument):
        rules.check_registration("frank1234", "FRANK1234", None)


def _presented(**changes: object) -> refresh.PresentedRefreshToken:
    fields: dict[str, object] = dict(
        token_hash="h",
        family_id="f",
        user_id="u",
        expires_at=NOW + timedelta(days=1),
        used_at=None,
        family_revoked=False,
    )
    fields.update(changes)
    return refresh.PresentedRefreshToken(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("token", "verdict"),
    [
        (_presented(), refresh.Verdict.ROTATE),
        (_presented(used_at=NOW), refresh.Verdict.REUSED),
        (_presented(family_revoked=True), refresh.Verdict.REJECTED),
        (_presented(expires_at=NOW), refresh.Verdict.REJECTED),
        (None, refresh.Verdict.REJECTED),
    ],
)
def test_refresh_verdicts(token: refresh.PresentedRefreshToken | None, verdict: object) -> None:
    assert refresh.judge(token, NOW) is verdict


def test_refresh_tokens_are_stored_as_hashes_of_256_random_bits() -> None:
    issued = refresh.issue("u", NOW, timedelta(days=30))
    assert len(issued.secret) >= 43 and issued.token_hash == refresh.hash_token(issued.secret)
    assert issued.secret not in issued.token_hash


POLICY = KeyPolicy(rotate_every=timedelta(days=7), longest_token_ttl=timedelta(days=30))


def test_first_key_is_made_when_there_is_none() -> None:
    assert plan_rotation([], NOW, POLICY).new_key_due


def test_new_key_is_due_after_the_rotation_interval_only_when_rotating() -> None:
    key = new_signing_key(NOW - timedelta(days=7))
    assert plan_rotation([key], NOW, POLICY).new_key_due
    assert not plan_rotation([key], NOW, POLICY, rotate=False).new_key_due
    assert not plan_rotation([key], NOW - timedelta(seconds=1), POLICY).new_key_due


def test_old_key_is_published_until_every_token_it_signed_has_expired() -> None:
    old = new_signing_key(NOW - timedelta(days=40))
    new = new_signing_key(NOW - timedelta(days=30))  # old stopped signing here
    keep_until = new.created_at + POLICY.longest_token_ttl + POLICY.grace
    assert plan_rotation([old, new], keep_until - timedelta(seconds=1), POLICY).retired == ()
    assert plan_rotation([old, new], keep_until, POLICY).retired == (old.kid,)


def test_throttle_allows_again_once_failures_leave_the_window() -> None:
    now = [0.0]
    window = SlidingWindow(limit=2, window_seconds=60, clock=lambda: now[0])
    throttle = LoginThrottle(per_login=window, per_address=SlidingWindow(100, 60))
    throttle.begin("erin", "10.0.0.1")
    now[0] = 10
    throttle.begin("erin", "10.0.0.1")
    with pytest.raises(ResourceExhausted) as raised:
        throttle.begin("erin", "10.0.0.1")
    assert raised.value.retry_after_seconds == pytest.approx(50)
    now[0] = 60.5
    throttle.begin("erin", "10.0.0.1")


def test_attempts_count_from_the_moment_they_are_let_in() -> None:
    throttle = LoginThrottle(per_login=SlidingWindow(2, 60), per_address=SlidingWindow(3, 60))
    first = throttle.begin("erin", "10.0.0.1")
    second = throttle.begin("erin", "10.0.0.1")
    with pytest.raises(ResourceExhausted):  # two still being checked fill the limit
        throttle.begin("erin", "10.0.0.1")
    first.withdraw()  # never checked: given back
    throttle.begin("erin", "10.0.0.1")
    second.succeeded()  # the login is forgiven and this attempt given back...
    throttle.begin("erin", "10.0.0.1")
    throttle.begin("frank", "10.0.0.1")
    with pytest.raises(ResourceExhausted):  # ...but the address keeps the others' failures
        throttle.begin("grace", "10.0.0.1")


def test_sliding_windows_drop_keys_once_their_events_leave_the_window() -> None:
    now = [0.0]

    def clock() -> float:
        return now[0]

    throttle = LoginThrottle(SlidingWindow(5, 60, clock), SlidingWindow(20, 60, clock))
    for i in range(1000):
        attempt = throttle.begin(f"user-{i}", f"10.0.{i // 250}.{i % 250}")
        if i % 2:
            attempt.succeeded()  # nothing left to hold for this login and address
    assert len(throttle.per_login) == len(throttle.per_address) == 500
    now[0] = 61
    throttle.begin("late", "10.9.9.9")
    assert len(throttle.per_login) == len(throttle.per_address) == 1


def test_page_tokens_round_trip_and_foreign_ones_are_invalid() -> None:
    assert rules.decode_page_token(rules.encode_page_token(42)) == 42
    assert rules.encode_page_token(None) == ""
    with pytest.raises(InvalidArgument):
        rules.decode_page_token("bm9wZQ")


@pytest.mark.parametrize(
    ("forwarded", "peer", "believed", "address"),
    [
        ("198.51.100.1, 203.0.113.7", "ipv4:127.0.0.1:5000", True, "203.0.113.7"),
        ("198.51.100.1, 203.0.113.7", "ipv4:127.0.0.1:5000", False, "127.0.0.1"),
        ("not-an-address", "ipv4:127.0.0.1:5000", True, "127.0.0.1"),
        (None, "ipv4:127.0.0.1:5000", True, "127.0.0.1"),
        (None, "ipv6:[::1]:5000", False, "::1"),
    ],
)
def test_client_address(forwarded: str | None, peer: str, believed: bool, address: str) -> None:
    assert rules.client_address(forwarded, peer, believed) == address


def test_trusted_proxies_are_addresses_or_networks_and_a_typo_is_named() -> None:
    networks = rules.trusted_networks(" 10.0.0.0/8, 127.0.0.1 ,, ::1")
    assert rules.is_within("10.1.2.3", networks) and rules.is_within("::1", networks)
    assert not rules.is_within("192.0.2.1", networks) and not rules.is_within("x", networks)
    assert rules.trusted_networks("") == ()
    with pytest.raises(ValueError, match="CINEMA_TRUSTED_PROXIES"):
        rules.trusted_networks("10.0.0.0/33")
