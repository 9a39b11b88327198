"""The auth service through the REST gateway: JSON in, JSON out, the proper HTTP codes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from google.rpc import code_pb2

from services.stack import Stack
from tests.auth.conftest import StartStack

PASSWORD = "correct horse battery"


@pytest.fixture
async def http(auth_stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://{auth_stack.http_address}") as client:
        yield client


async def _login(http: httpx.AsyncClient, login: str = "alice") -> dict[str, str]:
    await http.post("/v1/auth/register", json={"login": login, "password": PASSWORD})
    reply = await http.post("/v1/auth/login", json={"login": login, "password": PASSWORD})
    assert reply.status_code == 200, reply.text
    tokens: dict[str, str] = reply.json()["tokens"]
    return tokens


async def test_register_answers_200_and_409_for_a_taken_login(http: httpx.AsyncClient) -> None:
    body = {"login": "alice", "password": PASSWORD, "email": "a@example.com"}
    created = await http.post("/v1/auth/register", json=body)
    assert created.status_code == 200, created.text
    assert created.json()["user"]["login"] == "alice"
    assert "password" not in created.text
    taken = await http.post("/v1/auth/register", json=body)
    assert taken.status_code == 409 and taken.json()["code"] == code_pb2.ALREADY_EXISTS


async def test_invalid_registration_answers_400_naming_the_field(http: httpx.AsyncClient) -> None:
    reply = await http.post("/v1/auth/register", json={"login": "alice", "password": "short"})
    assert reply.status_code == 400
    fields = [v["field"] for d in reply.json()["details"] for v in d.get("fieldViolations", [])]
    assert fields == ["password"], reply.json()


async def test_login_answers_200_and_401_for_wrong_credentials(http: httpx.AsyncClient) -> None:
    tokens = await _login(http)
    assert tokens["tokenType"] == "Bearer" and tokens["accessToken"] and tokens["refreshToken"]
    wrong = await http.post("/v1/auth/login", json={"login": "alice", "password": "nope nope"})
    assert wrong.status_code == 401 and wrong.json()["code"] == code_pb2.UNAUTHENTICATED


async def test_me_needs_a_token(http: httpx.AsyncClient) -> None:
    tokens = await _login(http)
    me = await http.get("/v1/auth/me", headers={"Authorization": f"Bearer {tokens['accessToken']}"})
    assert me.status_code == 200 and me.json()["user"]["login"] == "alice"
    assert (await http.get("/v1/auth/me")).status_code == 401


async def test_refresh_then_logout_through_the_gateway(http: httpx.AsyncClient) -> None:
    tokens = await _login(http)
    refreshed = await http.post("/v1/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert refreshed.status_code == 200, refreshed.text
    new_refresh = refreshed.json()["tokens"]["refreshToken"]
    reused = await http.post("/v1/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert reused.status_code == 401
    assert (
        await http.post("/v1/auth/logout", json={"refreshToken": new_refresh})
    ).status_code == 200
    after = await http.post("/v1/auth/refresh", json={"refreshToken": new_refresh})
    assert after.status_code == 401


async def test_login_history_records_the_browser(http: httpx.AsyncClient) -> None:
    tokens = await _login(http)
    history = await http.get(
        "/v1/auth/me/logins",
        headers={"Authorization": f"Bearer {tokens['accessToken']}", "User-Agent": "probe/1"},
    )
    assert history.status_code == 200
    (event,) = history.json()["events"]
    assert event["peerAddress"] == "127.0.0.1"
    assert event["userAgent"].startswith("python-httpx")


async def test_throttled_login_answers_429_with_retry_after(start_stack: StartStack) -> None:
    stack = await start_stack(login_failures_per_login=2)
    async with httpx.AsyncClient(base_url=f"http://{stack.http_address}") as http:
        await http.post("/v1/auth/register", json={"login": "erin", "password": PASSWORD})
        wrong = {"login": "erin", "password": "guess guess"}
        for _ in range(2):
            assert (await http.post("/v1/auth/login", json=wrong)).status_code == 401
        throttled = await http.post("/v1/auth/login", json=wrong)
        assert throttled.status_code == 429, throttled.text
        assert 0 < int(throttled.headers["Retry-After"]) <= 300
