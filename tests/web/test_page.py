# The page speaks Russian: its words are Cyrillic on purpose.
# ruff: noqa: RUF001, RUF003
"""A person's journey through the web page at `/`, in a real browser (headless chromium).

Each step asserts what the person sees: the list changes live after their likes, an
excluded film is gone for good, a typo still finds the film, and so on. Nothing on the
way may log a console error, fail a request or get an error answer.
"""

from __future__ import annotations

import re

from playwright.async_api import Browser, BrowserContext, expect

from tests.web.browser import PHONE, Problems, check_accessibility, screenshot
from tests.web.steps import (
    action,
    card_of,
    card_titles,
    cards,
    log_in,
    open_page,
    sign_up,
    wait_for_new_list,
)

SESSION_COOKIE = "__Host-cinema_refresh"


async def test_a_person_finds_films_through_the_page(context: BrowserContext) -> None:
    problems = Problems()
    page = await open_page(context, problems)
    await expect(page.get_by_text("Войдите, чтобы увидеть рекомендации.")).to_be_visible()
    await check_accessibility(page, "login")
    await screenshot(page, "login-desktop")

    # A new person sees the top-rated films, marked as such.
    await sign_up(page, "journey")
    await expect(page.get_by_role("heading", name="Лучшее по рейтингу")).to_be_visible()
    await expect(page.get_by_text("Вы ещё ничего не оценили")).to_be_visible()
    await expect(cards(page).first).to_be_visible()
    await expect(cards(page).first.locator(".badge")).to_have_text("Топ по рейтингу")
    await check_accessibility(page, "main page, top rated")
    await page.evaluate("() => { window.sameDocument = true; }")

    # Three likes: each shows at once, and the list becomes the person's own, live.
    grid = page.locator("#home-list .grid")
    first_list = await grid.get_attribute("data-generate-time") or ""
    liked: list[str] = []
    for _ in range(3):
        # The list may change after each like: take the first film not liked yet.
        title = next(t for t in await card_titles(page) if t not in liked)
        like = action(page, title, "Нравится")
        await like.click()
        liked.append(title)
        await expect(like).to_have_attribute("aria-pressed", "true")  # at once
    await expect(page.get_by_role("heading", name="Рекомендации для вас")).to_be_visible()
    await wait_for_new_list(page, first_list)
    await expect(grid).to_have_attribute("data-fallback", "false")
    for title in liked:
        await expect(card_of(page, title)).to_have_count(0)
    await expect(page.locator("#home-list .reason").first).to_be_visible()
    assert await page.evaluate("() => window.sameDocument === true"), "the page reloaded"

    # A dislike takes the film off the list too.
    disliked = (await card_titles(page))[0]
    await action(page, disliked, "Не нравится").click()
    await expect(card_of(page, disliked)).to_have_count(0)

    # «Рекомендовать подобное» pulls films like the seed up the list.
    seed = (await card_titles(page))[-1]
    await action(page, seed, "Рекомендовать подобное").click()
    await expect(page.locator("#home-list .reason", has_text=f"«{seed}»").first).to_be_visible()
    await expect(
        page.locator("#home-list .card:nth-child(-n+5) .reason", has_text=seed)
    ).not_to_have_count(0)

    # «Не показывать»: the film leaves the page at once.
    excluded = (await card_titles(page))[0]
    await action(page, excluded, "Не показывать").click()
    await expect(card_of(page, excluded)).to_have_count(0)
    await screenshot(page, "main-desktop")

    # Search with a typo finds the film.
    await page.get_by_role("searchbox", name="Поиск фильмов").fill("matrx")
    await page.get_by_role("searchbox", name="Поиск фильмов").press("Enter")
    await expect(page.get_by_role("heading", name="Поиск: «matrx»")).to_be_visible()
    await expect(card_of(page, "The Matrix")).to_be_visible()
    await check_accessibility(page, "search")
    await screenshot(page, "search-desktop")

    # The film page: details, people, similar films; a person leads to their films.
    await card_of(page, "The Matrix").get_by_role("link", name="The Matrix").click()
    await expect(page.get_by_role("heading", name="The Matrix", exact=True)).to_be_visible()
    await expect(page.get_by_text("Вы ещё не оценили этот фильм.")).to_be_visible()
    await page.get_by_role("button", name="Нравится: The Matrix", exact=True).click()
    await expect(page.get_by_text("Вам нравится этот фильм.")).to_be_visible()
    await page.get_by_role("button", name="Нравится: The Matrix", exact=True).click()
    await expect(page.get_by_text("Вы ещё не оценили этот фильм.")).to_be_visible()
    similar = page.locator(".similar .card")
    await expect(similar.first).to_be_visible()
    await expect(card_of(page, "The Matrix Reloaded")).to_be_visible()
    await check_accessibility(page, "film page")
    await screenshot(page, "film-desktop")
    await page.get_by_role("link", name="Keanu Reeves").first.click()
    await expect(page.get_by_role("heading", name="Keanu Reeves")).to_be_visible()
    await expect(card_of(page, "John Wick")).to_be_visible()
    await check_accessibility(page, "person page")

    # Мои оценки: what the person did, each undoable.
    await page.get_by_role("link", name="Мои оценки").click()
    await expect(page.get_by_role("heading", name="Мои оценки")).to_be_visible()
    liked_rows = page.locator("#liked .row")
    await expect(liked_rows).to_have_count(3)
    await expect(page.locator("#disliked .row")).to_have_count(1)
    await expect(page.locator("#excluded .row", has_text=excluded)).to_have_count(1)
    await check_accessibility(page, "my ratings")
    await screenshot(page, "ratings-desktop")
    undone = liked[0]
    await page.get_by_role("button", name=f"Убрать оценку: {undone}", exact=True).click()
    await expect(liked_rows).to_have_count(2)
    await page.get_by_role("link", name="Главная", exact=True).click()
    await page.get_by_role("link", name="Мои оценки").click()
    await expect(liked_rows).to_have_count(2)
    await expect(page.locator("#liked .row", has_text=undone)).to_have_count(0)

    # A reload keeps the person signed in (the refresh token is in an HttpOnly cookie that
    # no script can read), on the page they were on; the excluded film is still gone.
    (session,) = [c for c in await context.cookies() if c["name"] == SESSION_COOKIE]
    assert session["httpOnly"] and session["secure"] and session["sameSite"] == "Strict"
    assert SESSION_COOKIE not in await page.evaluate("() => document.cookie")
    await page.reload()
    await expect(page.get_by_role("heading", name="Мои оценки")).to_be_visible()
    await expect(page.get_by_role("button", name="Выйти")).to_be_visible()
    await page.get_by_role("link", name="Главная", exact=True).click()
    await expect(page.get_by_role("heading", name="Рекомендации для вас")).to_be_visible()
    await expect(cards(page).first).to_be_visible()
    await expect(card_of(page, excluded)).to_have_count(0)

    # Log out: the tokens and the cookie are gone, and a reload asks to log in.
    async with page.expect_response("**/v1/auth/logout") as logged_out:
        await page.get_by_role("button", name="Выйти").click()
    assert (await logged_out.value).ok
    await expect(page.get_by_text("Вы вышли из аккаунта.")).to_be_visible()
    assert not [c for c in await context.cookies() if c["name"] == SESSION_COOKIE]
    await page.reload()
    await expect(page.get_by_role("heading", name="Вход")).to_be_visible()
    await expect(page.get_by_role("button", name="Выйти")).to_be_hidden()
    await page.goto("/")
    await expect(page.get_by_text("Войдите, чтобы увидеть рекомендации.")).to_be_visible()
    assert problems.found == []


async def test_the_page_reads_well_at_phone_width(browser: Browser, base_url: str) -> None:
    context = await browser.new_context(base_url=base_url, viewport=PHONE, locale="ru-RU")
    problems = Problems()
    page = await open_page(context, problems)
    await sign_up(page, "phone")
    await expect(cards(page).first).to_be_visible()
    first = (await card_titles(page))[0]
    await action(page, first, "Нравится").click()
    await expect(page.get_by_role("heading", name="Рекомендации для вас")).to_be_visible()
    await expect(cards(page).first).to_be_visible()
    width = await page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "the page scrolls sideways"
    await check_accessibility(page, "main page, phone")
    await screenshot(page, "main-phone")
    # A link to a film opened in a new tab: the session cookie signs it in, the film shows.
    page = await context.new_page()
    problems.watch(page)
    await page.goto("/#/film/84459d2b-93a9-5e6e-b438-8459be9c905f")
    await expect(page.get_by_role("heading", name="The Matrix", exact=True)).to_be_visible()
    await expect(page.locator(".similar .card").first).to_be_visible()
    await screenshot(page, "film-phone")
    await context.close()
    assert problems.found == []


async def test_sign_in_says_what_went_wrong(context: BrowserContext) -> None:
    problems = Problems(expected_statuses={400, 401, 409, 429})
    page = await open_page(context, problems)
    await sign_up(page, "taken")
    await expect(page.get_by_role("heading", name="Лучшее по рейтингу")).to_be_visible()
    await page.get_by_role("button", name="Выйти").click()

    await sign_up(page, "taken")
    await expect(page.get_by_text("Логин «taken» уже занят")).to_be_visible()

    await page.get_by_label("Логин").fill("weak")
    await page.get_by_label("Пароль").fill("short")
    await page.get_by_role("button", name="Зарегистрироваться").click()
    await expect(page.get_by_text("Пароль: от 8 до 128 символов.")).to_be_visible()
    await expect(page.get_by_label("Пароль")).to_have_attribute("aria-invalid", "true")

    await page.get_by_role("link", name="Войти").click()
    for _ in range(5):
        await log_in(page, "taken", "wrong-password")
        await expect(page.get_by_role("alert")).to_have_text("Неверный логин или пароль.")
    await log_in(page, "taken", "wrong-password")
    await expect(page.get_by_role("alert")).to_have_text(
        re.compile(r"Слишком много попыток входа\. Попробуйте снова через \d+ с\.")
    )
    await check_accessibility(page, "login errors")
    assert problems.found == []
