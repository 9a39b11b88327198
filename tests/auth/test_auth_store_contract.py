"""The auth store contract: every backend behaves the same (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from services.auth import refresh
from services.auth.keys import new_signing_key
from services.auth.records import LoginRecord, UserAccount
from services.auth.store import AuthStore, LoginTaken, open_store
from tests.reliability.storm import cancellation_storm

NOW = datetime(2030, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
STORM_WRITES = 300


@pytest.fixture
async def store(auth_dsn: str) -> AsyncIterator[AuthStore]:
    opened = await open_store(auth_dsn)
    yield opened
    await opened.close()


def _user(login: str = "alice", roles: tuple[str, ...] = ("user",)) -> UserAccount:
    return UserAccount(str(uuid.uuid4()), login, None, roles, NOW, "$argon2id$fake")


async def test_opening_twice_migrates_once(auth_dsn: str, store: AuthStore) -> None:
    await (await open_store(auth_dsn)).close()


async def test_user_is_found_by_login_case_insensitively_and_by_id(store: AuthStore) -> None:
    user = _user("Alice", ("user", "admin"))
    await store.create_user(user)
    assert await store.user_by_login("ALICE") == user
    assert await store.user_by_id(user.id) == user
    assert await store.user_by_login("bob") is None


async def test_taken_login_is_refused(store: AuthStore) -> None:
    await store.create_user(_user("alice"))
    with pytest.raises(LoginTaken):
        await store.create_user(_user("ALICE"))


async def test_roles_are_replaced_for_that_user_only(store: AuthStore) -> None:
    alice, bob = _user("alice"), _user("bob")
    await store.create_user(alice)
    await store.create_user(bob)
    await store.set_roles(alice.id, ("admin", "user"))
    found = await store.user_by_id(alice.id)
    other = await store.user_by_id(bob.id)
    assert found is not None and found.roles == ("admin", "user")
    assert other is not None and other.roles == ("user",)


async def test_login_history_pages_newest_first_per_user(store: AuthStore) -> None:
    alice, bob = _user("alice"), _user("bob")
    for user in (alice, bob):
        await store.create_user(user)
    for n in range(5):
        await store.record_login(alice.id, LoginRecord(NOW + n * DAY, f"agent-{n}", "10.0.0.1"))
    await store.record_login(bob.id, LoginRecord(NOW, "bob-agent", "10.0.0.2"))
    first = await store.login_history(alice.id, 2, None)
    assert [r.user_agent for r in first.logins] == ["agent-4", "agent-3"]
    assert first.logins[0].login_time == NOW + 4 * DAY
    second = await store.login_history(alice.id, 2, first.next_cursor)
    third = await store.login_history(alice.id, 2, second.next_cursor)
    assert [r.user_agent for r in second.logins + third.logins] == ["agent-2", "agent-1", "agent-0"]
    assert third.next_cursor is None


async def test_rotation_spends_a_token_exactly_once(store: AuthStore) -> None:
    user = _user()
    await store.create_user(user)
    first = refresh.issue(user.id, NOW, DAY)
    await store.start_token_family(first)
    successors = [refresh.issue(user.id, NOW, DAY, first.family_id) for _ in range(4)]
    won = await asyncio.gather(
        *(store.rotate_refresh_token(first.token_hash, s, NOW) for s in successors)
    )
    assert sorted(won) == [False, False, False, True]
    spent = await store.refresh_token(first.token_hash)
    assert spent is not None and spent.used_at == NOW and not spent.family_revoked
    winner = successors[won.index(True)]
    assert await store.refresh_token(winner.token_hash) is not None
    for loser in (s for s in successors if s is not winner):
        assert await store.refresh_token(loser.token_hash) is None


async def test_revoking_a_family_revokes_every_token_in_it(store: AuthStore) -> None:
    user = _user()
    await store.create_user(user)
    first = refresh.issue(user.id, NOW, DAY)
    await store.start_token_family(first)
    second = refresh.issue(user.id, NOW, DAY, first.family_id)
    assert await store.rotate_refresh_token(first.token_hash, second, NOW)
    await store.revoke_token_family(first.family_id, NOW)
    await store.revoke_token_family(first.family_id, NOW)
    for token in (first, second):
        found = await store.refresh_token(token.token_hash)
        assert found is not None and found.family_revoked
    third = refresh.issue(user.id, NOW, DAY, first.family_id)
    assert not await store.rotate_refresh_token(second.token_hash, third, NOW)


async def test_signing_keys_round_trip_and_are_removed(store: AuthStore) -> None:
    old, new = new_signing_key(NOW - DAY), new_signing_key(NOW)
    for key in (old, new):
        await store.add_signing_key(key)
    loaded = {key.kid: key for key in await store.signing_keys()}
    assert loaded[new.kid].public_jwk() == new.public_jwk()
    assert loaded[old.kid].created_at == old.created_at
    await store.remove_signing_keys([old.kid])
    assert [key.kid for key in await store.signing_keys()] == [new.kid]


async def test_cancelled_writes_never_wedge_the_store_or_half_rotate_a_token(
    store: AuthStore,
) -> None:
    user = _user()
    await store.create_user(user)
    spent = [refresh.issue(user.id, NOW, DAY) for _ in range(STORM_WRITES)]
    for token in spent:
        await store.start_token_family(token)
    successors = [refresh.issue(user.id, NOW, DAY, t.family_id) for t in spent]
    newcomers = [_user(f"storm-{n}") for n in range(STORM_WRITES)]

    async def write(number: int) -> None:
        if number % 2:
            await store.create_user(newcomers[number])
        else:
            assert await store.rotate_refresh_token(
                spent[number].token_hash, successors[number], NOW
            )

    acknowledged = await cancellation_storm(write, count=STORM_WRITES)

    await store.create_user(_user("after-the-storm"))
    assert await store.user_by_login("after-the-storm") is not None
    for number in range(STORM_WRITES):
        if number % 2:
            stored = await store.user_by_id(newcomers[number].id) is not None
        else:
            used = await store.refresh_token(spent[number].token_hash)
            assert used is not None
            stored = used.used_at is not None
            successor = await store.refresh_token(successors[number].token_hash)
            assert stored == (successor is not None), number
        if number in acknowledged:
            assert stored, number
