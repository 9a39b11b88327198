# The page speaks Russian: its words are Cyrillic on purpose.
# ruff: noqa: RUF001, RUF003
"""The page is honest when things go wrong: a refused action is rolled back with a message,
an expired access token is renewed without the person noticing, and going offline shows.
"""

from __future__ import annotations

from playwright.async_api import BrowserContext, Route, expect

from tests.web.browser import Problems
from tests.web.steps import action, card_of, card_titles, cards, open_page, sign_up

UNAVAILABLE = {"code": 14, "message": "a backend of this service is unavailable; retry later"}
EXPIRED = {"code": 16, "message": "token expired"}


async def test_a_refused_action_is_rolled_back_with_a_message(context: BrowserContext) -> None:
    problems = Problems(expected_statuses={503})
    page = await open_page(context, problems)
    await sign_up(page, "refused")
    await expect(cards(page).first).to_be_visible()

    async def unavailable(route: Route) -> None:
        await route.fulfill(status=503, json=UNAVAILABLE)

    await page.route("**/v1/me/ratings/*", unavailable)
    await page.route("**/v1/me/exclusions/*", unavailable)
    title = (await card_titles(page))[0]
    like = action(page, title, "Нравится")
    await like.click()
    await expect(page.get_by_role("alert")).to_contain_text(f"Оценка «{title}» не сохранена")
    await expect(like).to_have_attribute("aria-pressed", "false")

    await action(page, title, "Не показывать").click()
    await expect(page.get_by_role("alert").last).to_contain_text(f"Не получилось скрыть «{title}»")
    await expect(card_of(page, title)).to_have_count(1)
    assert problems.found == []


async def test_an_expired_access_token_is_renewed_and_the_call_retried(
    context: BrowserContext,
) -> None:
    problems = Problems(expected_statuses={401})
    page = await open_page(context, problems)
    await sign_up(page, "renewed")
    await expect(cards(page).first).to_be_visible()
    refreshes: list[str] = []
    page.on("request", lambda r: refreshes.append(r.url) if "/v1/auth/refresh" in r.url else None)

    async def expired(route: Route) -> None:
        await route.fulfill(status=401, json=EXPIRED)

    await page.route("**/v1/me/ratings?*", expired, times=1)
    await page.get_by_role("link", name="Мои оценки").click()
    nothing_liked = page.get_by_text("Вы ещё не отметили ни одного фильма «Нравится».")
    await expect(nothing_liked).to_be_visible()
    await expect(page.get_by_role("button", name="Выйти")).to_be_visible()
    assert len(refreshes) == 1
    assert problems.found == []


async def test_going_offline_shows_and_the_list_comes_back_live(context: BrowserContext) -> None:
    page = await open_page(context, Problems())  # offline, requests fail: that is the point
    await sign_up(page, "offline")
    status = page.locator("#stream-state")
    await expect(status).to_have_attribute("data-state", "live")

    await context.set_offline(True)
    await expect(page.get_by_text("Нет соединения с сетью.")).to_be_visible()
    await expect(cards(page).first).to_be_visible()  # what was shown stays

    await context.set_offline(False)
    await expect(page.get_by_text("Нет соединения с сетью.")).to_be_hidden()
    await expect(status).to_have_attribute("data-state", "live")


async def test_every_action_on_a_card_is_reachable_with_the_keyboard(
    context: BrowserContext,
) -> None:
    problems = Problems()
    page = await open_page(context, problems)
    await sign_up(page, "keyboard")
    await expect(cards(page).first).to_be_visible()
    focused = page.locator(":focus")

    # From the page's heading, Tab reaches the first card's title, then its buttons.
    await page.locator("main h1").focus()
    first = (await card_titles(page))[0]
    await page.keyboard.press("Tab")
    await expect(focused).to_have_text(first)
    await page.keyboard.press("Tab")
    await expect(focused).to_have_accessible_name(f"Нравится: {first}")
    outline = await focused.evaluate("e => getComputedStyle(e).outlineStyle")
    assert outline == "solid", "the focused button shows no focus ring"
    await page.keyboard.press("Space")
    await expect(action(page, first, "Нравится")).to_have_attribute("aria-pressed", "true")

    # «Не показывать» from the keyboard: the card goes, and focus stays on the page.
    second = (await card_titles(page))[1]
    await action(page, second, "Не показывать").focus()
    await page.keyboard.press("Enter")
    await expect(card_of(page, second)).to_have_count(0)
    assert await page.evaluate("() => document.activeElement !== document.body")

    # The skip link is the first stop, before the top bar, and takes focus to the content.
    await page.get_by_role("link", name="Кино: главная").focus()
    await page.keyboard.press("Shift+Tab")
    await expect(focused).to_have_text("Перейти к содержимому")
    await page.keyboard.press("Enter")
    await expect(page.locator("main")).to_be_focused()
    assert problems.found == []
