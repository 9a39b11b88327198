"""A person's journey through the REST API, the same on both edges: register, log in, find
films, like, dislike, exclude, ask for more like one, and watch the list change live; then
rotate the refresh token and log out."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx

from tests.rest.conftest import MATRIX

Document = dict[str, Any]
WAIT_SECONDS = 15.0


class Person:
    """A registered, logged-in user of one edge."""

    def __init__(self, http: httpx.AsyncClient, tokens: Document) -> None:
        self.http = http
        self.tokens = tokens

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens['accessToken']}"}

    async def call(self, method: str, path: str, body: Document | None = None) -> Document:
        reply = await self.http.request(method, path, json=body, headers=self.headers)
        assert reply.status_code == 200, f"{method} {path}: {reply.status_code} {reply.text}"
        document: Document = reply.json()
        return document

    async def recommendations(self) -> Document:
        return await self.call("GET", "/v1/me/recommendations?pageSize=50")


async def register_and_log_in(http: httpx.AsyncClient) -> tuple[Person, Document]:
    account = {"login": f"journey-{uuid.uuid4().hex[:10]}", "password": "a long passphrase"}
    registered = await http.post("/v1/auth/register", json=account)
    assert registered.status_code == 200, registered.text
    assert registered.json()["user"]["login"] == account["login"]
    login = await http.post("/v1/auth/login", json=account)
    assert login.status_code == 200, login.text
    return Person(http, login.json()["tokens"]), account


def film_ids(page: Document) -> list[str]:
    return [item["film"]["id"] for item in page["items"]]


@asynccontextmanager
async def watching(person: Person) -> AsyncIterator[asyncio.Queue[Document]]:
    """The live list: each `data:` frame of the watch stream, parsed, as it comes."""
    frames: asyncio.Queue[Document] = asyncio.Queue()

    async def read() -> None:
        path = "/v1/me/recommendations:watch?pageSize=50"
        async with person.http.stream("GET", path, headers=person.headers, timeout=None) as reply:
            assert reply.status_code == 200, await reply.aread()
            assert reply.headers["content-type"].startswith("text/event-stream")
            async for line in reply.aiter_lines():
                if line.startswith("data:"):
                    await frames.put(json.loads(line.removeprefix("data:")))

    reader = asyncio.create_task(read())
    try:
        yield frames
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)


async def next_frame(
    frames: asyncio.Queue[Document], until: Callable[[Document], bool]
) -> Document:
    """The first frame for which `until` holds; fails after WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    while (left := deadline - time.monotonic()) > 0:
        try:
            frame = await asyncio.wait_for(frames.get(), left)
        except TimeoutError:
            break
        if until(frame):
            return frame
    raise AssertionError(f"no frame of the live list came in {WAIT_SECONDS} s as expected")


async def eventually(
    read: Callable[[], Awaitable[Document]], holds: Callable[[Document], bool]
) -> Document:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        document = await read()
        if holds(document) or time.monotonic() > deadline:
            assert holds(document), document
            return document
        await asyncio.sleep(0.1)


async def test_a_person_finds_rates_and_watches_their_list_change(
    http: httpx.AsyncClient,
) -> None:
    person, _ = await register_and_log_in(http)
    me = await person.call("GET", "/v1/auth/me")
    assert me["user"]["roles"] == ["ROLE_USER"]

    # A new person sees the top-rated list, marked as a fallback.
    first = await person.recommendations()
    assert first["fallback"] is True and first["items"], first

    # Search forgives a typo; a film page and its similar films.
    found = await http.get("/v1/films:search", params={"query": "matrx"})
    assert MATRIX in [film["id"] for film in found.json()["films"]], found.text
    film = await person.call("GET", f"/v1/films/{MATRIX}")
    assert film["film"]["title"] == "The Matrix"
    similar = film_ids(await person.call("GET", f"/v1/films/{MATRIX}/similar?pageSize=10"))
    assert similar and MATRIX not in similar

    async with watching(person) as frames:
        current = await next_frame(frames, lambda frame: True)
        assert current["fallback"] is True

        # Likes make the list personal, live; what was rated never shows.
        liked = [MATRIX, *similar[:2]]
        for film_id in liked:
            await person.call("PUT", f"/v1/me/ratings/{film_id}", {"rating": "RATING_LIKE"})
        personal = await next_frame(
            frames, lambda frame: not frame["fallback"] and not set(liked) & set(film_ids(frame))
        )
        shown = film_ids(personal)
        assert shown, personal

        # A dislike and an exclusion take their films off the list.
        disliked, excluded = shown[0], shown[1]
        await person.call("PUT", f"/v1/me/ratings/{disliked}", {"rating": "RATING_DISLIKE"})
        await person.call("PUT", f"/v1/me/exclusions/{excluded}")
        gone = {disliked, excluded}
        await next_frame(frames, lambda frame: frame["items"] and not gone & set(film_ids(frame)))

        # "More like this" pulls the film's neighbours up.
        seed = shown[2]
        neighbours = set(film_ids(await person.call("GET", f"/v1/films/{seed}/similar?pageSize=5")))
        pressed = await person.call("POST", "/v1/me/more-like-this", {"filmId": seed})
        assert pressed["requestTime"]
        pulled = await next_frame(
            frames,
            lambda frame: any(
                reason.get("seedFilmId") == seed
                for item in frame["items"][:10]
                for reason in item["reasons"]
            ),
        )
        assert neighbours & set(film_ids(pulled)[:20]), (neighbours, film_ids(pulled))

    # The excluded film never comes back, on a fresh read or a forced refresh.
    await person.call("POST", "/v1/me/recommendations:refresh", {})
    final = await eventually(person.recommendations, lambda page: bool(page["items"]))
    assert excluded not in film_ids(final) and disliked not in film_ids(final)
    exclusions = await person.call("GET", "/v1/me/exclusions")
    assert [item["filmId"] for item in exclusions["exclusions"]] == [excluded]
    ratings = await person.call("GET", "/v1/me/ratings?pageSize=10")
    assert {item["filmId"]: item["rating"] for item in ratings["ratings"]} == {
        **dict.fromkeys(liked, "RATING_LIKE"),
        disliked: "RATING_DISLIKE",
    }
    # What the person said of the films a page shows, in one call.
    unrated = next(film_id for film_id in similar if film_id not in {*liked, disliked, excluded})
    query = "&".join(f"filmIds={film_id}" for film_id in [disliked, excluded, unrated, *liked])
    mine = await person.call("GET", f"/v1/me/ratings:batchGet?{query}")
    assert [(item["filmId"], item["rating"]) for item in mine["ratings"]] == [
        (disliked, "RATING_DISLIKE"),
        *((film_id, "RATING_LIKE") for film_id in liked),
    ]
    assert mine["excludedFilmIds"] == [excluded]


async def test_refresh_tokens_rotate_and_logout_ends_the_session(
    http: httpx.AsyncClient,
) -> None:
    person, _ = await register_and_log_in(http)
    old = person.tokens["refreshToken"]
    rotated = await http.post("/v1/auth/refresh", json={"refreshToken": old})
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["tokens"]
    assert new["refreshToken"] != old and new["accessToken"]
    person.tokens = new
    assert (await person.call("GET", "/v1/auth/me"))["user"]
    # A spent refresh token is refused.
    reused = await http.post("/v1/auth/refresh", json={"refreshToken": old})
    assert reused.status_code == 401, reused.text

    fresh, account = await register_and_log_in(http)
    logged_out = await http.post(
        "/v1/auth/logout", json={"refreshToken": fresh.tokens["refreshToken"]}
    )
    assert logged_out.status_code == 200, logged_out.text
    after = await http.post("/v1/auth/refresh", json={"refreshToken": fresh.tokens["refreshToken"]})
    assert after.status_code == 401, after.text
    # The password still opens a new session.
    again = await http.post("/v1/auth/login", json=account)
    assert again.status_code == 200, again.text


SESSION_COOKIE = "__Host-cinema_refresh"


def session_cookie(reply: httpx.Response) -> tuple[str, list[str]]:
    """The session cookie a reply sets: its value and its attributes (lower-cased)."""
    (set_cookie,) = reply.headers.get_list("set-cookie")
    first, *attributes = [part.strip() for part in set_cookie.split(";")]
    name, _, value = first.partition("=")
    assert name == SESSION_COOKIE, set_cookie
    return value, [attribute.lower() for attribute in attributes]


async def test_a_web_session_keeps_its_refresh_token_in_an_httponly_cookie(
    http: httpx.AsyncClient,
) -> None:
    account = {"login": f"cookie-{uuid.uuid4().hex[:10]}", "password": "a long passphrase"}
    assert (await http.post("/v1/auth/register", json=account)).status_code == 200

    # Cookie mode: the refresh token is in an HttpOnly, Secure, SameSite=Strict cookie only.
    login = await http.post("/v1/auth/login", json={**account, "sessionCookie": True})
    assert login.status_code == 200, login.text
    assert login.json()["tokens"]["accessToken"]
    assert not login.json()["tokens"].get("refreshToken"), login.text
    first, attributes = session_cookie(login)
    assert first and first not in login.text
    assert {"httponly", "secure", "samesite=strict", "path=/"} <= set(attributes), attributes
    assert not any(attribute.startswith("domain") for attribute in attributes)

    # The cookie alone refreshes, and rotates; the spent one is refused.
    refresh = {"sessionCookie": True}
    rotated = await http.post(
        "/v1/auth/refresh", json=refresh, headers={"cookie": f"{SESSION_COOKIE}={first}"}
    )
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["tokens"]["accessToken"]
    assert not rotated.json()["tokens"].get("refreshToken")
    second, _ = session_cookie(rotated)
    assert second and second != first
    spent = await http.post(
        "/v1/auth/refresh", json=refresh, headers={"cookie": f"{SESSION_COOKIE}={first}"}
    )
    assert spent.status_code == 401, spent.text
    # No cookie: a plain 401 (the page then shows its login form).
    none = await http.post("/v1/auth/refresh", json=refresh)
    assert none.status_code == 401 and SESSION_COOKIE in none.json()["message"], none.text

    # Log out: the cookie is cleared and its session is over.
    again = await http.post("/v1/auth/login", json={**account, "sessionCookie": True})
    token, _ = session_cookie(again)
    cookie = {"cookie": f"theme=dark; {SESSION_COOKIE}={token}"}
    logged_out = await http.post("/v1/auth/logout", json=refresh, headers=cookie)
    assert logged_out.status_code == 200, logged_out.text
    cleared, attributes = session_cookie(logged_out)
    assert cleared == "" and "max-age=0" in attributes
    after = await http.post("/v1/auth/refresh", json=refresh, headers=cookie)
    assert after.status_code == 401, after.text
