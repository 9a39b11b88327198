"""scripts/backends.sh itself: what CI meets on a machine that ran the suite before."""

from __future__ import annotations

import asyncio
import os
import signal

from tests.fixtures.private_backends import PrivateBackends


async def _kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        await asyncio.sleep(0.05)


async def test_a_server_killed_without_stop_starts_again_over_its_stale_pid_file() -> None:
    """A reboot leaves the state with pid files of dead processes: `start` must not read them.

    CI met this: the start that followed looked at the old pid, found it dead and reported
    that the new server had exited, though it had not yet written its own pid.
    """
    backends = PrivateBackends()
    try:
        for _ in range(8):
            await backends.start("redis")
            pid_file = backends.state / "redis" / "redis.pid"
            await _kill(int(pid_file.read_text().split()[0]))
            backends.running.discard("redis")
        await backends.start("redis")
    finally:
        await backends.close()


async def test_postgres_starts_again_when_its_old_pid_now_belongs_to_another_process() -> None:
    """After a reboot the pid in postmaster.pid may be reused; postgres would refuse to start."""
    backends = PrivateBackends()
    squatter = None
    try:
        await backends.start("postgres")
        directory = backends.state / "postgres"
        locks = [
            directory / "data" / "postmaster.pid",
            directory / f".s.PGSQL.{backends.port('postgres')}.lock",
        ]
        await _kill(int(locks[0].read_text().split()[0]))
        backends.running.discard("postgres")
        # A live process of postgres's own user (one of another user would not count: kill(2)
        # answers EPERM, which postgres takes for a stale lock).
        user = ["setpriv", "--reuid=cinema-backends", "--regid=cinema-backends", "--clear-groups"]
        squatter = await asyncio.create_subprocess_exec(
            *(user if os.getuid() == 0 else []), "sleep", "600"
        )
        for lock in locks:
            lock.write_text(f"{squatter.pid}\n" + lock.read_text().split("\n", 1)[1])
        await backends.start("postgres")
    finally:
        if squatter is not None and squatter.returncode is None:
            squatter.kill()
        await backends.close()
