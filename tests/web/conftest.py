"""The embedded stack with the demo catalog, and a headless chromium to open its page with."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, BrowserContext, async_playwright

from services.stack import SERVICES, Stack
from tests.fixtures.stack import embedded_settings
from tests.web.browser import CHROMIUM, CHROMIUM_ARGS, DESKTOP, require_chromium


@pytest.fixture(scope="module")
async def web_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    """`cinema up` in this process, on free ports, with the demo films."""
    data = tmp_path_factory.mktemp("web") / "data"
    running = Stack(embedded_settings(data, demo_catalog=True), SERVICES, gateway=True)
    await running.start()
    yield running
    await running.stop()


@pytest.fixture(scope="module")
def base_url(web_stack: Stack) -> str:
    return f"http://{web_stack.http_address}/"


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    require_chromium()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        await launched.close()


@pytest.fixture
async def context(browser: Browser, base_url: str) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile at desktop size: no tokens, nothing cached."""
    opened = await browser.new_context(base_url=base_url, viewport=DESKTOP, locale="ru-RU")
    yield opened
    await opened.close()
