# The page speaks Russian: its words are Cyrillic on purpose.
# ruff: noqa: RUF002
"""What a person does on the page, as steps the tests share: sign up, log in, find a card."""

from __future__ import annotations

from playwright.async_api import BrowserContext, Locator, Page, expect

from tests.web.browser import Problems

PASSWORD = "correct-horse-battery"
# Playwright's waits: a new list arrives within the debounce (0.3 s) and a refresh.
expect.set_options(timeout=10_000)


async def open_page(context: BrowserContext, problems: Problems) -> Page:
    page = await context.new_page()
    page.set_default_timeout(10_000)
    problems.watch(page)
    await page.goto("/")
    return page


async def sign_up(page: Page, login: str) -> None:
    await page.get_by_role("link", name="Зарегистрироваться").click()
    await expect(page.get_by_role("heading", name="Регистрация")).to_be_visible()
    await page.get_by_label("Логин").fill(login)
    await page.get_by_label("Пароль").fill(PASSWORD)
    await page.get_by_role("button", name="Зарегистрироваться").click()


async def log_in(page: Page, login: str, password: str = PASSWORD) -> None:
    await expect(page.get_by_role("heading", name="Вход")).to_be_visible()
    await page.get_by_label("Логин").fill(login)
    await page.get_by_label("Пароль").fill(password)
    await page.get_by_role("button", name="Войти").click()


def cards(page: Page) -> Locator:
    return page.locator("#home-list .card")


async def card_titles(page: Page) -> list[str]:
    return await page.locator("#home-list .card .card-title").all_inner_texts()


def card_of(page: Page, title: str) -> Locator:
    return page.locator("main .card").filter(
        has=page.get_by_role("heading", name=title, exact=True)
    )


def action(page: Page, title: str, label: str) -> Locator:
    """The button `label` («Нравится», «Не показывать», …) on the card of `title`."""
    return card_of(page, title).get_by_role("button", name=f"{label}: {title}", exact=True)


async def wait_for_new_list(page: Page, before: str) -> str:
    """The main page's list once the watch stream has brought one newer than `before`."""
    grid = page.locator("#home-list .grid")
    await expect(grid).not_to_have_attribute("data-generate-time", before)
    return await grid.get_attribute("data-generate-time") or ""
