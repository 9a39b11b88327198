"""The topology's processes: servers that run until stopped, and one-shot steps.

Each writes its output to a log file of its own; when one fails, the error carries the
tail of that log, so the reason is on screen and not only in a file.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

TAIL_LINES = 40


class StartFailed(RuntimeError):
    """A process of the topology did not start (or a step failed): which, and why."""


def tail(path: Path, lines: int = TAIL_LINES) -> str:
    """The last ``lines`` lines of ``path``, or a note that it is empty or missing."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    kept = text.splitlines()[-lines:]
    return "\n".join(kept) if kept else f"({path} is empty)"


def failure(name: str, problem: str, log: Path) -> StartFailed:
    return StartFailed(f"{name} {problem}; the end of {log}:\n{tail(log)}")


class Server:
    """A long-running process, its stdout and stderr in ``log`` (stdout in ``stdout_log``
    when given: Envoy's access log)."""

    def __init__(
        self,
        name: str,
        command: Sequence[str | Path],
        env: Mapping[str, str],
        log: Path,
        cwd: Path,
        stdout_log: Path | None = None,
    ) -> None:
        self.name = name
        self.log = log
        self._command = [str(part) for part in command]
        self._env = dict(env)
        self._cwd = cwd
        self._stdout_log = stdout_log
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as stderr:
            stdout = self._stdout_log.open("ab") if self._stdout_log else stderr
            try:
                # A process group of its own: Ctrl-C reaches only the harness, which stops
                # the processes in order.
                self._process = subprocess.Popen(
                    self._command,
                    env=self._env,
                    cwd=self._cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=stdout,
                    stderr=stderr,
                    process_group=0,
                )
            finally:
                if stdout is not stderr:
                    stdout.close()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def exit_code(self) -> int | None:
        """None while it runs (or before it started)."""
        return self._process.poll() if self._process else None

    def check_running(self) -> None:
        """Raises StartFailed with the log's tail if the process has exited."""
        code = self.exit_code()
        if code is not None:
            raise failure(self.name, f"exited with status {code}", self.log)

    async def stop(self, seconds: float) -> int | None:
        """SIGTERM, then SIGKILL after ``seconds``; the exit status (None: it never ran)."""
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(asyncio.to_thread(process.wait), seconds)
            except TimeoutError:
                os.killpg(process.pid, signal.SIGKILL)
                await asyncio.to_thread(process.wait)
        return process.returncode


async def run_step(
    name: str,
    command: Sequence[str | Path],
    env: Mapping[str, str],
    log: Path,
    cwd: Path,
    limit: float,
) -> str:
    """Runs a one-shot command to its end; its stdout (stderr goes to ``log``).

    A non-zero exit, or running past ``limit`` seconds, raises StartFailed with the
    log's tail.
    """
    with log.open("ab") as stderr:
        process = await asyncio.create_subprocess_exec(
            *map(str, command),
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
        try:
            out, _ = await asyncio.wait_for(process.communicate(), limit)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise failure(name, f"did not finish within {limit:.0f} s", log) from None
        except BaseException:
            if process.returncode is None:
                process.kill()
                await process.wait()
            raise
    if process.returncode != 0:
        raise failure(name, f"exited with status {process.returncode}", log)
    return out.decode()
