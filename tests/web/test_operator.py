"""The operator page (#/operator) in a real browser: an admin sees the recommender's charts,
a person without the `admin` role is told so (the API answered 403), not shown a broken page.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import BrowserContext, Response, expect

from services.auth.credentials import grant_role
from services.stack import SERVICES, Stack
from tests.fixtures.stack import embedded_settings
from tests.web.browser import PHONE, Problems, check_accessibility, screenshot
from tests.web.steps import action, card_titles, cards, log_in, open_page, sign_up

CHARTS = (
    "events",
    "latency",
    "refreshes",
    "fit",
    "age",
    "llm-calls",
    "budget",
    "breaker",
    "grounding",
    "errors",
)
#: Charts with a line once a person liked films (GigaChat is off here: no calls, no grounding).
DRAWN = ("events", "latency", "refreshes", "fit", "age", "budget", "breaker")
#: A plot's accessible name: its chart's title, then the latest value in words.
PLOT_LABEL = re.compile(r"^[^:]+: (Сейчас|Последн|Осталось)")


@pytest.fixture(scope="module")
async def web_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    """`cinema up` with the demo films, sampling the operator's metrics every second."""
    data = tmp_path_factory.mktemp("web-operator") / "data"
    settings = embedded_settings(
        data, demo_catalog=True, recommendations_operator_sample_seconds=1.0
    )
    running = Stack(settings, SERVICES, gateway=True)
    await running.start()
    yield running
    await running.stop()


async def test_an_admin_sees_the_recommenders_charts(
    context: BrowserContext, web_stack: Stack
) -> None:
    problems = Problems()
    page = await open_page(context, problems)
    await sign_up(page, "operator")
    await expect(cards(page).first).to_be_visible()
    for title in (await card_titles(page))[:2]:
        await action(page, title, "Нравится").click()
    await expect(page.get_by_role("heading", name="Рекомендации для вас")).to_be_visible()
    operator_link = page.get_by_role("link", name="Оператор")
    await expect(operator_link).to_have_count(0)  # the token has no `admin` role yet

    settings = web_stack.settings
    assert await grant_role(settings.auth, settings.mesh, "operator", "admin") == (
        "admin",
        "user",
    )
    await page.get_by_role("button", name="Выйти").click()
    await log_in(page, "operator")
    await operator_link.click()
    await expect(page.get_by_role("heading", name="Оператор", level=1)).to_be_visible()
    await expect(operator_link).to_have_attribute("aria-current", "page")
    for chart in CHARTS:
        await expect(page.locator(f'[data-chart="{chart}"] h2')).to_be_visible()
    for chart in DRAWN:
        plot = page.locator(f'[data-chart="{chart}"] svg[role="img"]')
        await expect(plot).to_be_visible(timeout=20_000)  # the next sample shows the likes
        await expect(plot).to_have_attribute("aria-label", PLOT_LABEL)
    await expect(page.locator('[data-chart="events"] .op-now')).to_contain_text("«нравится»")
    await expect(page.locator('[data-chart="budget"] .op-now')).to_contain_text("Осталось")
    await expect(page.locator('[data-chart="breaker"] .op-now')).to_have_text("Сейчас: закрыт.")
    await expect(page.locator('[data-chart="llm-calls"] .op-empty')).to_have_text(
        "Вызовов GigaChat не было."
    )
    # The page reads the numbers again every sample interval, on its own.
    meta = page.locator(".op-meta")
    for _ in range(3):
        await expect(meta).not_to_have_text(await meta.inner_text())
    await check_accessibility(page, "operator page")
    await screenshot(page, "operator-desktop")

    await page.set_viewport_size(PHONE)
    width = await page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "the operator page scrolls sideways"
    await check_accessibility(page, "operator page, phone")
    await screenshot(page, "operator-phone")
    assert problems.found == []


async def test_a_person_without_the_role_is_told_no_access(context: BrowserContext) -> None:
    problems = Problems(expected_statuses={403})
    page = await open_page(context, problems)
    refused: list[Response] = []
    page.on("response", lambda r: refused.append(r) if "/v1/admin/stats" in r.url else None)
    await sign_up(page, "not-an-operator")
    await expect(cards(page).first).to_be_visible()
    await expect(page.get_by_role("link", name="Оператор")).to_have_count(0)
    await page.evaluate("() => { location.hash = '#/operator'; }")
    await expect(page.get_by_role("heading", name="Нет доступа")).to_be_visible()
    await expect(page.get_by_role("alert")).to_contain_text("нужна роль admin")
    await check_accessibility(page, "operator page, refused")
    assert [r.status for r in refused] == [403]
    assert problems.found == []
