"""What only Envoy does at the edge: its token check, its access log, the same JSON as the
gateway for the same read."""

from __future__ import annotations

import uuid

import httpx

from tests.rest.conftest import MATRIX, Edges


async def test_both_edges_answer_the_same_json_for_the_same_read(edges: Edges) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        for path in (f"/v1/films/{MATRIX}", "/v1/films:search?query=matrix&pageSize=3"):
            through_envoy = await http.get(edges.envoy + path)
            through_gateway = await http.get(edges.gateway + path)
            assert through_envoy.status_code == through_gateway.status_code == 200, path
            assert through_envoy.json() == through_gateway.json(), path
        film = (await http.get(f"{edges.envoy}/v1/films/{MATRIX}")).json()["film"]
        assert film["title"] == "The Matrix" and "creationDate" in film  # lowerCamelCase


async def test_envoy_refuses_a_missing_or_forged_token_itself(edges: Edges) -> None:
    marker = f"edge-refused-{uuid.uuid4().hex}"
    async with httpx.AsyncClient(base_url=edges.envoy, timeout=10) as http:
        missing = await http.get("/v1/me/ratings", headers={"x-request-id": marker})
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"].startswith("Bearer")  # jwt_authn's
        forged = await http.get("/v1/auth/me", headers={"Authorization": "Bearer not.a.token"})
        assert forged.status_code == 401
    entry = await edges.envoy_logged(marker)
    assert entry["details"].startswith("jwt_authn_access_denied"), entry


async def test_envoy_logs_each_request_with_its_id_and_route(edges: Edges) -> None:
    marker = f"edge-logged-{uuid.uuid4().hex}"
    async with httpx.AsyncClient(base_url=edges.envoy, timeout=10) as http:
        reply = await http.get(f"/v1/films/{MATRIX}", headers={"x-request-id": marker})
    assert reply.status_code == 200 and reply.headers["x-request-id"] == marker
    entry = await edges.envoy_logged(marker)
    assert entry["route"] == "cinema.catalog.v1.CatalogService.GetFilm"
    assert (entry["method"], entry["path"], entry["status"]) == ("GET", f"/v1/films/{MATRIX}", 200)
    assert entry["upstream"] == "catalog"
