"""The web page at `/`: the cinema for people, plain HTML/CSS/JS shipped in gateway/web/.

No build step and nothing from a CDN: the files are the package's own (package data), served
as they are. The page calls the public REST API only, as partner teams do.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from gateway.headers import WEB_POLICY
from gateway.static import Files

PAGE_PATH = "/"
ASSETS_PATH = "/web"
_FILES = Path(str(resources.files("gateway") / "web"))
_INDEX = _FILES / "index.html"


def install_page(app: FastAPI) -> None:
    """Serve the page at `/` and its files under `/web/`."""
    # Revalidated on each load, so that an upgrade shows at once.
    app.mount(ASSETS_PATH, Files(str(_FILES), "no-cache"), name="web-assets")

    async def page(_: Request) -> Response:
        return FileResponse(
            _INDEX,
            media_type="text/html; charset=utf-8",
            headers={"content-security-policy": WEB_POLICY, "cache-control": "no-cache"},
        )

    app.add_route(PAGE_PATH, page, methods=["GET", "HEAD"], include_in_schema=False)
