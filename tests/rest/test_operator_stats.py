"""The operator's numbers over REST, the same on both edges: `GET /v1/admin/stats` answers an
admin with JSON, a user with 403 and a caller without a token with 401."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from pathlib import Path

import httpx
from google.rpc import code_pb2

from tests.rest.test_errors import status
from topology.harness import Topology

PASSWORD = "a long passphrase"


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
    assert stats["sampleInterval"] == "10s" and stats["window"] == "900s"
    assert stats["sampleTime"].endswith("Z")
    assert int(stats["llmBudgetPerHour"]) > 0
    (budget,) = stats["llmBudgetRemaining"]
    assert budget["points"] and all("time" in point for point in budget["points"])
