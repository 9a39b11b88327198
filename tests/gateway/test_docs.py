"""/docs works offline, lets a reader authorize, and says what the protos say."""

from __future__ import annotations

import re

import httpx


async def test_docs_page_loads_swagger_ui_from_the_gateway_itself(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(source.startswith("/docs/") for source in sources), sources
    assert "<script>" not in page.text  # no inline script: the CSP forbids it
    for source in sources:
        asset = await client.get(source)
        assert asset.status_code == 200 and asset.content, source
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-eval" not in policy
    assert "https:" not in policy


async def test_openapi_offers_bearer_authorization(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": schemes["bearer"]["description"],
    }
    assert {"bearer": []} in document["security"]


async def test_openapi_descriptions_come_from_the_proto_comments(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/openapi.json")).json()
    rate = document["paths"]["/v1/me/ratings/{film_id}"]["put"]
    assert rate["description"].startswith("RateFilm sets the caller's rating of a film")
    assert rate["parameters"][0]["description"] == "UUID of the film."
    schemas = document["components"]["schemas"]
    request = schemas["cinema.likes.v1.RateFilmRequest"]
    assert request["description"].startswith("RateFilmRequest is the input")
    assert request["properties"]["rating"]["description"].startswith("The rating;")
    tags = {tag["name"]: tag["description"] for tag in document["tags"]}
    assert tags["cinema.likes.v1.LikesService"].startswith("LikesService owns")
    assert "Sets `" not in str(document["paths"])
    tickets = document["paths"]["/v1/stream-tickets"]["post"]
    assert "200" in tickets["responses"]
