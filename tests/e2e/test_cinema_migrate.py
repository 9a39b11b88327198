"""`cinema migrate`: the SQL stores' migrations as a one-shot step (docker-compose.yml's
`migrate` job), before any replica starts."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import asyncpg

from tests.e2e.processes import CINEMA, cinema_env


async def test_migrate_brings_both_sql_stores_to_their_newest_schema(
    postgres_dsn: str, tmp_path: Path
) -> None:
    env = cinema_env(
        tmp_path / "data",
        auth_dsn=postgres_dsn.replace("postgresql://", "postgresql+asyncpg://", 1),
        recommendations_dsn=postgres_dsn,
        log_level="WARNING",
    )
    for _ in range(2):  # and again: nothing left to do
        run = await asyncio.to_thread(
            subprocess.run,
            [CINEMA, "migrate"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr
        assert run.stdout.splitlines() == [
            "auth: schema up to date",
            "recommendations: schema up to date",
        ]
    connection = await asyncpg.connect(postgres_dsn)
    try:
        tables = {
            row["tablename"]
            for row in await connection.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            )
        }
    finally:
        await connection.close()
    assert {"users", "refresh_tokens", "recommendation_lists"} <= tables, tables


def test_a_store_that_cannot_be_migrated_is_named_and_the_step_fails(tmp_path: Path) -> None:
    env = cinema_env(tmp_path / "data", auth_dsn="ftp://nowhere")
    run = subprocess.run([CINEMA, "migrate"], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 1, (run.stdout, run.stderr)
    assert "CINEMA_AUTH_DSN" in run.stderr and "Traceback" not in run.stderr
