"""The periodic sweep renews every stale list in one pass, and advances even when GigaChat
says no."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

import structlog

from tests.fakes.gigachat import FakeGigaChat
from tests.recommendations.service.conftest import Client, StartStack, gigachat_settings
from tests.recommendations.service.films import IDS

Connect = Callable[..., Client]
USERS = 6


async def test_sweep_visits_every_stale_user_before_anyone_again_while_gigachat_refuses(
    start_stack: StartStack, connect: Connect, fake_gigachat: FakeGigaChat
) -> None:
    # No GigaChat budget: every swept list is kept as it was, never re-generated.
    stack = await start_stack(
        **gigachat_settings(
            fake_gigachat,
            llm_calls_per_hour=0,
            recommendations_llm_on_events=True,
            recommendations_max_age_seconds=0.01,
            recommendations_sweep_seconds=0.05,
            recommendations_sweep_batch=2,
        )
    )
    fans = [connect(stack) for _ in range(USERS)]
    with structlog.testing.capture_logs() as logged:
        for fan in fans:
            await fan.rate(IDS["Heat"])
            await fan.list_until(lambda r: not r.fallback)
        # From here every fan's like is folded. (A sweep before that may find a fan's
        # first list made before the like arrived: no likes, no GigaChat, UNCHANGED.)
        ready = len(logged)
        ours = {fan.user_id for fan in fans}
        async with asyncio.timeout(20):
            after_all = _after_everyone_was_visited(logged[ready:], ours)
            while len(after_all) < 3 * USERS:
                await asyncio.sleep(0.05)
                after_all = _after_everyone_was_visited(logged[ready:], ours)
    swept = [entry for entry in logged[ready:] if entry["event"] == "list_swept"]
    assert {entry["status"] for entry in swept} == {"SKIPPED_BUDGET"}
    # The sweep cycles through all six: any six visits in a row are six different users.
    for start in range(len(after_all) - USERS + 1):
        assert len(set(after_all[start : start + USERS])) == USERS, after_all
    assert fake_gigachat.calls["chat"] == 0


async def test_one_pass_renews_every_stale_list_not_one_batch_per_period(
    start_stack: StartStack, connect: Connect
) -> None:
    # Batches of 2 and a long period: a batch per period would take three periods.
    stack = await start_stack(
        recommendations_max_age_seconds=0.01,
        recommendations_sweep_seconds=2.0,
        recommendations_sweep_batch=2,
    )
    fans = [connect(stack) for _ in range(USERS)]
    with structlog.testing.capture_logs() as logged:
        for fan in fans:
            await fan.rate(IDS["Heat"])
            await fan.list_until(lambda r: not r.fallback)
        ready = len(logged)
        async with asyncio.timeout(20):
            while not (passes := _passes(logged[ready:])):  # noqa: ASYNC110 (polls the log)
                await asyncio.sleep(0.05)
    swept, finished = passes[0]
    assert finished["lists"] == len(swept) == USERS
    assert set(swept) == {fan.user_id for fan in fans}
    assert {e["status"] for e in logged[ready:] if e["event"] == "list_swept"} <= {
        "REFRESHED",
        "UNCHANGED",
    }


def _passes(logged: list[dict[str, Any]]) -> list[tuple[list[str], dict[str, Any]]]:
    """Each whole pass in ``logged`` (between two ``sweep_finished`` lines: the one before
    the first may have started earlier): the users it swept, and its ``sweep_finished``."""
    ends = [number for number, entry in enumerate(logged) if entry["event"] == "sweep_finished"]
    return [
        (
            [e["user_id"] for e in logged[start + 1 : end] if e["event"] == "list_swept"],
            logged[end],
        )
        for start, end in itertools.pairwise(ends)
    ]


def _after_everyone_was_visited(logged: list[dict[str, Any]], users: set[str]) -> list[str]:
    """The users swept (in order) since the visit that completed the set ``users``."""
    visits = [e["user_id"] for e in logged if e["event"] == "list_swept" and e["user_id"] in users]
    seen: set[str] = set()
    for number, user in enumerate(visits):
        seen.add(user)
        if seen == users:
            return visits[number + 1 :]
    return []
