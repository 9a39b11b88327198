"""The web page at `/`: the cinema for people, plain HTML/CSS/JS shipped in gateway/web/.

No build step and nothing from a CDN: the files are the package's own (package data), served
as they are. The page calls the public REST API only, as partner teams do.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from gateway.headers import WEB_POLICY

PAGE_PATH = "/"
ASSETS_PATH = "/web"
_FILES = Path(str(resources.files("gateway") / "web"))
_INDEX = _FILES / "index.html"


class _Assets(StaticFiles):
    """The page's scripts and styles; revalidated on each load, so an upgrade shows at once."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["cache-control"] = "no-cache"
        return response


def install_page(app: FastAPI) -> None:
    """Serve the page at `/` and its files under `/web/`."""
    app.mount(ASSETS_PATH, _Assets(directory=str(_FILES)), name="web-assets")

    async def page(_: Request) -> Response:
        return FileResponse(
            _INDEX,
            media_type="text/html; charset=utf-8",
            headers={"content-security-policy": WEB_POLICY, "cache-control": "no-cache"},
        )

    app.add_route(PAGE_PATH, page, methods=["GET", "HEAD"], include_in_schema=False)
