"""/docs: Swagger UI served by the gateway itself, from the pinned `fastapi-offline` package.

Nothing comes from a CDN, so the page works offline and runs only the scripts we ship;
there is no inline script, so the page's CSP (gateway.headers.PAGE_POLICY) forbids them.
"""

from __future__ import annotations

import json
from html import escape
from importlib import resources

import fastapi_offline
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from gateway.static import Files

DOCS_PATH = "/docs"
ASSETS_PATH = f"{DOCS_PATH}/static"
_ASSETS = resources.files(fastapi_offline) / "static"

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="icon" href="{root}{assets}/favicon.png">
<link rel="stylesheet" href="{root}{assets}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{root}{assets}/swagger-ui-bundle.js"></script>
<script src="{root}{docs}/init.js"></script>
</body>
</html>
"""

_INIT = """window.ui = SwaggerUIBundle({{
  url: {openapi},
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
}});
"""


def install_docs(app: FastAPI) -> None:
    """Serve the page, its start-up script and Swagger UI's files under /docs."""
    # Swagger UI's files change only with the package: browsers may keep them.
    app.mount(ASSETS_PATH, Files(str(_ASSETS), "public, max-age=3600"), name="docs-assets")

    async def page(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        html = _PAGE.format(title=escape(app.title), root=root, assets=ASSETS_PATH, docs=DOCS_PATH)
        return HTMLResponse(html)

    async def init(request: Request) -> Response:
        openapi = json.dumps(f"{request.scope.get('root_path', '')}{app.openapi_url}")
        return Response(_INIT.format(openapi=openapi), media_type="text/javascript")

    app.add_route(DOCS_PATH, page, include_in_schema=False)
    app.add_route(f"{DOCS_PATH}/init.js", init, include_in_schema=False)
