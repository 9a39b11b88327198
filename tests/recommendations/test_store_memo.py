"""The store's memo of lists and tastes never keeps a value older than the last write."""

from __future__ import annotations

import asyncio

from services.recommendations.store_sql import Memo


async def test_a_read_racing_a_write_never_keeps_the_older_value() -> None:
    memo: Memo[str] = Memo(size=10, trust_seconds=60.0)
    row = "old"
    read_started, write_done = asyncio.Event(), asyncio.Event()

    async def slow_read() -> str:
        seen = row
        read_started.set()
        await write_done.wait()  # the write commits while this read is on its way
        return seen

    async def write() -> None:
        nonlocal row
        row = "new"

    async def read() -> str:
        return row

    racing = asyncio.create_task(memo.get("u", slow_read))
    await read_started.wait()
    await memo.writing(["u"], write())
    write_done.set()
    assert await racing == "old"  # that read answered with what it saw...
    assert await memo.get("u", read) == "new"  # ...but did not keep it


async def test_values_are_kept_between_writes_and_only_for_a_while() -> None:
    now = [0.0]
    memo: Memo[int] = Memo(size=2, trust_seconds=1.0, clock=lambda: now[0])
    reads = [0]

    async def read() -> int:
        reads[0] += 1
        return reads[0]

    assert await memo.get("u", read) == 1
    assert await memo.get("u", read) == 1  # kept
    now[0] = 1.5
    assert await memo.get("u", read) == 2  # another process may have written: read again

    async def nothing() -> None:
        return None

    await memo.writing(["u"], nothing())
    assert await memo.get("u", read) == 3  # this process wrote: read again
    await memo.get("v", read)
    await memo.get("w", read)
    assert await memo.get("u", read) == 6  # only ``size`` users are kept
