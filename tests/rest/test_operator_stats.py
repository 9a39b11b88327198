"""The operator's numbers over REST, the same on both edges: `GET /v1/admin/stats` answers an
admin with JSON, a user with 403 and a caller without a token with 401; its errors chart
covers every service of the production topology, each a process of its own."""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from google.rpc import code_pb2

from tests.fixtures.production import OPERATOR_SAMPLE_SECONDS
from tests.rest.test_errors import UNKNOWN_FILM, status
from topology.harness import Topology

PASSWORD = "a long passphrase"
GET_FILM = "cinema.catalog.v1.CatalogService/GetFilm"


async def grant_admin(topology: Topology, login: str) -> None:
    """`cinema auth grant-role` against the topology's auth store, as an operator runs it."""
    cinema = Path(sys.executable).parent / "cinema"
    process = await asyncio.create_subprocess_exec(
        str(cinema),
        "auth",
        "grant-role",
        "--login",
        login,
        "--role",
        "admin",
        env={**os.environ, **topology.env, "CINEMA_LOG_LEVEL": "WARNING"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    printed, errors = await process.communicate()
    assert process.returncode == 0, errors.decode()
    assert printed.decode().strip() == f"{login}: admin, user"


async def log_in(http: httpx.AsyncClient, login: str) -> dict[str, str]:
    reply = await http.post("/v1/auth/login", json={"login": login, "password": PASSWORD})
    assert reply.status_code == 200, reply.text
    return {"Authorization": f"Bearer {reply.json()['tokens']['accessToken']}"}


async def test_operator_stats_are_for_admins_only(
    http: httpx.AsyncClient, production_topology: Topology
) -> None:
    login = f"operator-{uuid.uuid4().hex[:10]}"
    registered = await http.post("/v1/auth/register", json={"login": login, "password": PASSWORD})
    assert registered.status_code == 200, registered.text
    status(await http.get("/v1/admin/stats"), 401, code_pb2.UNAUTHENTICATED)
    as_user = await http.get("/v1/admin/stats", headers=await log_in(http, login))
    body = status(as_user, 403, code_pb2.PERMISSION_DENIED)
    assert "`admin` role" in body["message"]

    await grant_admin(production_topology, login)
    reply = await http.get("/v1/admin/stats", headers=await log_in(http, login))
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("application/json")
    stats = reply.json()
    assert stats["sampleInterval"] == f"{OPERATOR_SAMPLE_SECONDS}s" and stats["window"] == "900s"
    assert stats["sampleTime"].endswith("Z")
    assert int(stats["llmBudgetPerHour"]) > 0
    (budget,) = stats["llmBudgetRemaining"]
    assert budget["points"] and all("time" in point for point in budget["points"])


async def an_admin(http: httpx.AsyncClient, topology: Topology) -> dict[str, str]:
    login = f"operator-{uuid.uuid4().hex[:10]}"
    registered = await http.post("/v1/auth/register", json={"login": login, "password": PASSWORD})
    assert registered.status_code == 200, registered.text
    await grant_admin(topology, login)
    return await log_in(http, login)


def _newer_failures(stats: dict[str, Any], method: str, since: float) -> list[float]:
    """The points of ``method``'s line in the errors chart sampled after ``since``."""
    lines = {line["label"]: line["points"] for line in stats["rpcErrorsPerMinute"]}
    return [
        point.get("value", 0.0)  # proto3 JSON leaves a zero out
        for point in lines.get(method, [])
        if datetime.fromisoformat(point["time"]).timestamp() > since
    ]


async def test_the_errors_chart_shows_a_failure_of_another_services_process(
    http: httpx.AsyncClient, production_topology: Topology
) -> None:
    """The catalog answers NOT_FOUND in its own process; the recommender's chart has it."""
    admin = await an_admin(http, production_topology)
    failed_at = time.time()
    status(await http.get(f"/v1/films/{UNKNOWN_FILM}"), 404, code_pb2.NOT_FOUND)
    deadline = time.monotonic() + 10 * OPERATOR_SAMPLE_SECONDS
    while True:
        reply = await http.get("/v1/admin/stats", headers=admin)
        assert reply.status_code == 200, reply.text
        stats = reply.json()
        if any(value > 0 for value in _newer_failures(stats, GET_FILM, failed_at)):
            break
        assert time.monotonic() < deadline, f"no new {GET_FILM} failures: {stats}"
        await asyncio.sleep(OPERATOR_SAMPLE_SECONDS / 4)
    assert stats.get("unreachablePeers", []) == [], stats  # every peer answered
