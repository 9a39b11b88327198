"""The web page at `/`: the package's own files, under a CSP that runs no inline code."""

from __future__ import annotations

import re

import httpx

from gateway.headers import WEB_POLICY


async def test_root_serves_the_page_and_every_file_it_names(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    sources = re.findall(r'(?:src|href)="([^"#]+)"', page.text)
    assets = [source for source in sources if source.startswith("web/")]
    assert {"web/app.js", "web/style.css", "web/icon.svg"} <= set(assets), sources
    assert not re.search(r"<script>|<style|\sstyle=|\son\w+=", page.text)  # nothing inline
    for source in assets:
        asset = await client.get(f"/{source}")
        assert asset.status_code == 200 and asset.content, source
    script = await client.get("/web/app.js")
    assert script.headers["content-type"].startswith("text/javascript")
    # Every module the page imports is served too (no build step: the files are the app).
    for module in re.findall(r'from "\./([\w.]+)"', script.text):
        assert (await client.get(f"/web/{module}")).status_code == 200, module


async def test_the_page_allows_no_inline_code_and_no_other_origin(
    client: httpx.AsyncClient,
) -> None:
    policy = (await client.get("/")).headers["content-security-policy"]
    assert policy == WEB_POLICY
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert "unsafe" not in policy and "http" not in policy


async def test_an_unknown_page_file_is_404_in_the_error_body(client: httpx.AsyncClient) -> None:
    answer = await client.get("/web/missing.js")
    assert answer.status_code == 404
    assert (await client.get("/index.html")).status_code == 404
