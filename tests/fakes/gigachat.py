"""A fake GigaChat: the REST protocol the ``gigachat`` SDK speaks, on a real socket.

Endpoints (as the SDK 0.2 calls them): ``POST /api/v2/oauth`` (Basic authorization
key, ``RqUID`` header, form ``scope=...`` -> ``{"access_token", "expires_at"}`` in
ms), ``POST /api/v1/chat/completions`` (Bearer token; a request offering
``functions`` is answered with ``finish_reason: "function_call"`` and
``message.function_call = {"name", "arguments": {...}}``), ``GET /api/v1/models``
and ``POST /api/v1/token`` (user/password). Point the real SDK at ``base_url`` and
``auth_url``; switch ``behaviour`` at any time.
"""

from __future__ import annotations

import asyncio
import base64
import enum
import json
import math
import re
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

CREDENTIALS = base64.b64encode(b"fake-client-id:fake-client-secret").decode()
SCOPES = frozenset({"GIGACHAT_API_PERS", "GIGACHAT_API_B2B", "GIGACHAT_API_CORP"})
MODELS = ("GigaChat", "GigaChat-Pro", "GigaChat-Max")
_CANDIDATE_LINE = re.compile(r"^- (c\d+) \|", re.MULTILINE)
CHARS_PER_TOKEN = 4


class Behaviour(enum.StrEnum):
    GOOD = "good"
    SLOW = "slow"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    INVALID_JSON = "invalid_json"
    HALLUCINATED = "hallucinated"
    TYPOS = "typos"


class Invalid(enum.StrEnum):
    """The ways INVALID_JSON goes wrong."""

    PROSE = "prose"  # plain text instead of a function call
    BROKEN_JSON = "broken_json"  # JSON-looking text that does not parse
    WRONG_SHAPE = "wrong_shape"  # {"films": "..."}
    MISSING_FIELDS = "missing_fields"  # films without title/reason
    EMPTY = "empty"  # {"films": []}
    ARGUMENTS_STRING = "arguments_string"  # arguments as a string: the SDK cannot read it


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    at: float = field(default_factory=time.monotonic)


@dataclass
class FakeGigaChat:
    """State of a running fake; tests read and switch it."""

    base_url: str = ""
    auth_url: str = ""
    behaviour: Behaviour = Behaviour.GOOD
    invalid: Invalid = Invalid.WRONG_SHAPE
    catalog: list[tuple[str, int | None]] = field(default_factory=list)
    answer_size: int = 5
    slow_seconds: float = 0.3
    retry_after: str | None = None
    script: list[Behaviour] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    in_flight: int = 0
    max_in_flight: int = 0
    tokens: set[str] = field(default_factory=set)

    def reset(self) -> None:
        self.behaviour = Behaviour.GOOD
        self.invalid = Invalid.WRONG_SHAPE
        self.catalog = []
        self.answer_size = 5
        self.slow_seconds = 0.3
        self.retry_after = None
        self.script.clear()
        self.requests.clear()
        self.calls.clear()
        self.in_flight = self.max_in_flight = 0
        self.tokens.clear()

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        return [r.body for r in self.requests if r.path.endswith("/chat/completions")]

    def next_behaviour(self) -> Behaviour:
        return self.script.pop(0) if self.script else self.behaviour


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"status": status, "message": message}, status_code=status, headers=headers)


def _typo(title: str) -> str:
    """One swapped letter pair in the longest word, "The" moved to the end."""
    words = title.split()
    if len(words) > 1 and words[0].lower() == "the":
        words = [*words[1:-1], words[-1] + ",", "The"]
    longest = max(range(len(words)), key=lambda i: len(words[i]))
    word = words[longest]
    if len(word) >= 5:
        middle = len(word) // 2
        words[longest] = word[: middle - 1] + word[middle] + word[middle - 1] + word[middle + 1 :]
    return " ".join(words)


def _user_text(body: dict[str, Any]) -> str:
    return "\n".join(
        str(m.get("content", "")) for m in body.get("messages", []) if m.get("role") == "user"
    )


def _is_rerank(body: dict[str, Any]) -> bool:
    """The offered function takes films by ``id`` (rerank), not by title (generate)."""
    try:
        films = body["functions"][0]["parameters"]["properties"]["films"]
        return "id" in films["items"]["properties"]
    except (KeyError, IndexError, TypeError):
        return False


def _candidate_ids(body: dict[str, Any]) -> list[str]:
    """From the function's ``id`` enum, else from the prompt's ``- c1 | ...`` lines."""
    try:
        films = body["functions"][0]["parameters"]["properties"]["films"]
        return [str(i) for i in films["items"]["properties"]["id"]["enum"]]
    except (KeyError, IndexError, TypeError):
        return _CANDIDATE_LINE.findall(_user_text(body))


def _arguments(fake: FakeGigaChat, behaviour: Behaviour, body: dict[str, Any]) -> Any:
    reason = "Похожее настроение и динамичный сюжет, как в ваших любимых фильмах."
    if _is_rerank(body):
        ids = _candidate_ids(body)
        if behaviour is Behaviour.HALLUCINATED:
            ids = ["no-such-film-1", *ids[:1], "no-such-film-2"]
        return {"films": [{"id": film_id, "reason": reason} for film_id in ids[: fake.answer_size]]}
    text = _user_text(body)
    if behaviour is Behaviour.HALLUCINATED:
        films = [(f"Несуществующий фильм номер {n}", 2031) for n in range(fake.answer_size)]
    else:
        films = [(t, y) for t, y in fake.catalog if t not in text][: fake.answer_size]
        if behaviour is Behaviour.TYPOS:
            films = [(f"{_typo(t)} ({y})" if y else _typo(t), None) for t, y in films]
    return {"films": [{"title": t, "year": y, "reason": reason} for t, y in films]}


def _invalid_message(kind: Invalid, function: str | None) -> dict[str, Any]:
    if kind is Invalid.PROSE:
        return {"role": "assistant", "content": "Конечно! Посмотрите «Матрицу» и «Начало»."}
    if kind is Invalid.BROKEN_JSON:
        return {"role": "assistant", "content": '{"films": [{"title": "Матрица", "year": 19'}
    arguments: Any = {
        Invalid.WRONG_SHAPE: {"films": "Матрица, Начало"},
        Invalid.MISSING_FIELDS: {"films": [{"name": "Матрица"}, {"year": 2010}]},
        Invalid.EMPTY: {"films": []},
        Invalid.ARGUMENTS_STRING: '{"films": [{"title": "Матрица"',
    }[kind]
    return {
        "role": "assistant",
        "content": "",
        "function_call": {"name": function or "recommend_films", "arguments": arguments},
    }


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def estimate_tokens(text: str) -> int:
    """One token per ``CHARS_PER_TOKEN`` characters, rounded up (GigaChat's own tokenizer
    is not public; the rule only has to be the same for every prompt compared)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def prompt_text(body: dict[str, Any]) -> str:
    """What a chat request makes the model read: each message's text, then the functions."""
    text = "".join(str(m.get("content", "")) for m in body.get("messages", []))
    functions = body.get("functions")
    return text + _json(functions) if functions else text


def answer_text(message: dict[str, Any]) -> str:
    """What the answer says: its text, then the function call (name and arguments)."""
    text = str(message.get("content") or "")
    call = message.get("function_call")
    return text + _json(call) if call else text


def _completion(body: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    prompt_tokens = estimate_tokens(prompt_text(body))
    completion_tokens = max(1, estimate_tokens(answer_text(message)))
    return {
        "choices": [
            {
                "message": message,
                "index": 0,
                "finish_reason": "function_call" if "function_call" in message else "stop",
            }
        ],
        "created": int(time.time()),
        "model": f"{body.get('model', 'GigaChat')}:1.0.26.20",
        "object": "chat.completion",
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "precached_prompt_tokens": 0,
        },
    }


def create_app(fake: FakeGigaChat) -> FastAPI:
    app = FastAPI()

    def authorized(request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return scheme == "Bearer" and token in fake.tokens

    def issue() -> dict[str, Any]:
        token = f"fake-token-{uuid.uuid4()}"
        fake.tokens.add(token)
        return {"access_token": token, "expires_at": int((time.time() + 1800) * 1000)}

    @app.post("/api/v2/oauth")
    async def oauth(request: Request) -> Response:
        fake.calls["oauth"] += 1
        form = parse_qs((await request.body()).decode())
        fake.requests.append(Received("POST", request.url.path, dict(request.headers), form))
        try:
            uuid.UUID(request.headers.get("rquid", ""))
        except ValueError:
            return _error(400, "RqUID header is not a UUID")
        if request.headers.get("authorization") != f"Basic {CREDENTIALS}":
            return JSONResponse({"code": 6, "message": "credentials doesn't match"}, 401)
        if form.get("scope", [""])[0] not in SCOPES:
            return JSONResponse({"code": 7, "message": "scope from db not fully includes"}, 400)
        return JSONResponse(issue())

    @app.post("/api/v1/token")
    async def password_token(request: Request) -> Response:
        fake.calls["token"] += 1
        if not request.headers.get("authorization", "").startswith("Basic "):
            return _error(401, "Unauthorized")
        issued = issue()
        return JSONResponse({"tok": issued["access_token"], "exp": issued["expires_at"]})

    @app.get("/api/v1/models")
    async def models(request: Request) -> Response:
        fake.calls["models"] += 1
        if not authorized(request):
            return _error(401, "Unauthorized")
        data = [{"id": m, "object": "model", "owned_by": "salutedevices"} for m in MODELS]
        return JSONResponse({"object": "list", "data": data})

    @app.post("/api/v1/chat/completions")
    async def chat(request: Request) -> Response:
        fake.calls["chat"] += 1
        body = await request.json()
        fake.requests.append(Received("POST", request.url.path, dict(request.headers), body))
        if not authorized(request):
            return _error(401, "Unauthorized")
        fake.in_flight += 1
        fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
        try:
            return await answer(body)
        finally:
            fake.in_flight -= 1

    async def answer(body: dict[str, Any]) -> Response:
        behaviour = fake.next_behaviour()
        if behaviour is Behaviour.RATE_LIMITED:
            headers = {"Retry-After": fake.retry_after} if fake.retry_after else None
            return _error(429, "Too Many Requests", headers)
        if behaviour is Behaviour.SERVER_ERROR:
            return _error(500, "Internal Server Error")
        if behaviour is Behaviour.SLOW:
            await asyncio.sleep(fake.slow_seconds)
        functions = body.get("functions") or []
        function = functions[0]["name"] if functions else None
        if behaviour is Behaviour.INVALID_JSON:
            return JSONResponse(_completion(body, _invalid_message(fake.invalid, function)))
        if function is None:
            message = {"role": "assistant", "content": "Посмотрите «Матрицу»."}
        else:
            message = {
                "role": "assistant",
                "content": "",
                "function_call": {"name": function, "arguments": _arguments(fake, behaviour, body)},
                "functions_state_id": str(uuid.uuid4()),
            }
        return JSONResponse(_completion(body, message))

    return app


@asynccontextmanager
async def running_fake_gigachat() -> AsyncIterator[FakeGigaChat]:
    """Serve a fresh fake on 127.0.0.1:<free port> for the duration of the block."""
    fake = FakeGigaChat()
    config = uvicorn.Config(create_app(fake), host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:  # uvicorn offers no startup event
        if serving.done():
            serving.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    fake.base_url = f"http://127.0.0.1:{port}/api/v1"
    fake.auth_url = f"http://127.0.0.1:{port}/api/v2/oauth"
    try:
        yield fake
    finally:
        server.should_exit = True
        await serving
