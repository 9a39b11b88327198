"""Store writes that a cancellation cannot cut in half.

A client's deadline or a dropped connection cancels the RPC's task at whatever await it
is in. Inside a write that await may be the BEGIN, a statement, or the COMMIT of a
transaction on a shared connection, or the rollback of one on a pooled connection;
cut there, the transaction is left open (the next write on that connection fails) or
the connection is handed back mid-transaction. So a write runs to its end in a task of
its own: the cancelled caller waits for the commit or rollback, then sees its
cancellation. A write's few milliseconds are a small price for never wedging a store.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


async def run_to_completion(work: Coroutine[Any, Any, T]) -> T:
    """``await work``, except that cancelling the caller lets ``work`` finish first."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        if task.cancelled():
            raise  # the write itself was cancelled (the loop is closing), not just its caller
        while not task.done():
            try:
                await asyncio.wait({task})
            except asyncio.CancelledError:
                continue  # cancelled again: the write still has to finish
        if not task.cancelled():
            task.exception()  # nobody waits for a failed write's error (it rolled back)
        raise


def completes(method: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    """A store method that runs to completion (see :func:`run_to_completion`)."""

    @functools.wraps(method)
    async def whole(*args: P.args, **kwargs: P.kwargs) -> T:
        return await run_to_completion(method(*args, **kwargs))

    return whole
