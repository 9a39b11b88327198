"""Debian's chromium driven by Playwright, and what a page did wrong while it was driven.

Playwright never downloads a browser here: it launches /usr/bin/chromium, which
scripts/browser.sh installs with apt (`make test` runs it first).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import ConsoleMessage, Page, Request, Response

CHROMIUM = Path("/usr/bin/chromium")
# The flags this machine needs (its network is closed: no background fetches, no QUIC).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE_DIR = Path(__file__).with_name("axe")
AXE_SCRIPT = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
SCREENS = Path(__file__).resolve().parents[2] / ".artifacts" / "screens"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# Leaving the page (a reload, a log-out) aborts what is still loading: the watch stream,
# open for as long as the person is signed in, and the page's own files (the favicon's load
# can outlast a quick reload). Neither is a failure; any other abort is.
ABORTABLE = ("/v1/me/recommendations:watch", "/web/")
# "Is there a session?" The page asks on load by refreshing with its session cookie; a 401
# is the answer "no" (a visitor who is signed out, or whose session ended), not a failure.
NO_SESSION = ("POST", "/v1/auth/refresh", 401)


def require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/browser.sh (as root; make test does)")


def axe_source() -> str:
    """axe-core's script, from the npm package pinned in tests/web/axe/package-lock.json."""
    if not AXE_SCRIPT.exists():
        subprocess.run(
            ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
            cwd=AXE_DIR,
            check=True,
            capture_output=True,
        )
    return AXE_SCRIPT.read_text(encoding="utf-8")


@dataclass
class Problems:
    """Console errors, failed requests and error answers a page met; none is expected."""

    expected_statuses: set[int] = field(default_factory=set)
    found: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.found.append(f"page error: {error}"))
        page.on("requestfailed", self._failed)
        page.on("response", self._response)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and not self._expected_console(message):
            self.found.append(f"console error: {message.text} at {message.location}")

    def _expected_console(self, message: ConsoleMessage) -> bool:
        # Chromium logs each error answer as "Failed to load resource": those are judged by
        # their status in _response.
        text = message.text
        if "Failed to load resource" not in text:
            return False
        _, path, status = NO_SESSION
        if f"status of {status}" in text and message.location.get("url", "").endswith(path):
            return True
        return any(f"status of {status}" in text for status in self.expected_statuses)

    def _failed(self, request: Request) -> None:
        aborted = request.failure == "net::ERR_ABORTED"
        if aborted and request.method == "GET" and any(path in request.url for path in ABORTABLE):
            return
        self.found.append(f"request failed: {request.method} {request.url}: {request.failure}")

    def _response(self, response: Response) -> None:
        method, path, status = NO_SESSION
        request = response.request
        if (request.method, response.url.endswith(path), response.status) == (method, True, status):
            return
        if response.status >= 400 and response.status not in self.expected_statuses:
            self.found.append(f"answer {response.status}: {response.request.method} {response.url}")


async def check_accessibility(page: Page, name: str) -> None:
    """axe-core over the page as it is now: no serious or critical violation."""
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        # Evaluated by the DevTools protocol: the page's CSP (no inline script) does not apply.
        await page.evaluate(axe_source())
    result = await page.evaluate(
        "async () => { const r = await axe.run(document, {resultTypes: ['violations']});"
        " return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))})); }"
    )
    serious = [v for v in result if v["impact"] in ("serious", "critical")]
    assert not serious, f"{name}: {json.dumps(serious, ensure_ascii=False, indent=1)}"


async def screenshot(page: Page, name: str) -> Path:
    """The page's top as a person first sees it (passing messages cleared, nothing focused)."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    path = SCREENS / f"{name}.png"
    await page.mouse.move(0, 0)
    await page.evaluate(
        "() => { document.getElementById('toasts').replaceChildren();"
        " document.activeElement?.blur(); window.scrollTo(0, 0); }"
    )
    await page.screenshot(path=str(path))
    return path
