"""Running a client's tools and programs from a test whose event loop serves the stack."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest


async def run(
    *command: str | Path, cwd: Path, env: dict[str, str], limit: float
) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``command``; the test fails if it outlives ``limit`` seconds.

    Not subprocess.run: the stack the program talks to serves from this event loop.
    """
    process = await asyncio.create_subprocess_exec(
        *map(str, command),
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), limit)
    except TimeoutError:
        process.kill()
        await process.wait()
        pytest.fail(f"timed out after {limit} s: {list(map(str, command))}")
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()
