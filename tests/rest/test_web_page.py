"""The web page comes from both edges alike: the gateway serves it, Envoy passes it on."""

from __future__ import annotations

import httpx

from gateway.headers import WEB_POLICY


async def test_the_page_and_its_files_come_with_the_pages_own_policy(
    http: httpx.AsyncClient,
) -> None:
    page = await http.get("/")
    assert page.status_code == 200, page.text[:300]
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == WEB_POLICY  # not the API's
    assert page.headers["x-content-type-options"] == "nosniff"
    assert '<html lang="ru">' in page.text and 'src="web/app.js"' in page.text
    script = await http.get("/web/app.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    missing = await http.get("/web/no-such-file.js")
    assert missing.status_code == 404


async def test_swagger_ui_and_the_openapi_document_come_through_both(
    http: httpx.AsyncClient,
) -> None:
    ui = await http.get("/docs")
    assert ui.status_code == 200 and "swagger-ui" in ui.text
    assert (await http.get("/docs/static/swagger-ui-bundle.js")).status_code == 200
    document = (await http.get("/openapi.json")).json()
    assert "/v1/films/{film_id}" in document["paths"]
