// A film card and what a person can do on it: like, dislike, more like this, never show.
// Each action shows at once and is undone, with a message, when the server says no.

import * as api from "./api.js";
import { h } from "./dom.js";
import { poster } from "./poster.js";
import { DISLIKE, LIKE, filmKind, formatRating, genreName, state } from "./state.js";

const TOAST_SECONDS = 5;
const RATINGS_PER_CALL = 100; // BatchGetMyRatings takes at most 100 ids

/** A short message in the corner, read out by screen readers; errors stay a little longer. */
export function toast(message, kind = "info") {
  const region = document.getElementById("toasts");
  const item = h("div", { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : null }, message);
  region.append(item);
  setTimeout(() => item.remove(), (kind === "error" ? 2 : 1) * TOAST_SECONDS * 1000);
}

export function announce(message) {
  const region = document.getElementById("announcer");
  region.textContent = "";
  setTimeout(() => {
    region.textContent = message;
  }, 30);
}

export function filmLink(film) {
  return `#/film/${encodeURIComponent(film.id)}`;
}

function metaLine(film) {
  const parts = [];
  if (film.year) parts.push(String(film.year));
  parts.push(filmKind(film.type));
  const rating = formatRating(film.rating);
  return h(
    "p",
    { class: "meta" },
    parts.join(" · "),
    rating ? h("span", { class: "rating" }, h("span", { "aria-hidden": "true" }, " ★ "), h("span", { class: "vh" }, ", рейтинг "), rating) : null,
  );
}

function actionButton(action, label, film, extra = {}) {
  return h(
    "button",
    { type: "button", class: `act act-${action}`, dataset: { action }, "aria-label": `${label}: ${film.title}`, ...extra },
    label,
  );
}

/** Every action button for `film`: the same four on cards and on the film page. */
export function actions(film) {
  const rating = state.ratings.get(film.id);
  const group = h(
    "div",
    { class: "actions", role: "group", "aria-label": `Оценить «${film.title}»` },
    actionButton("like", "Нравится", film, { "aria-pressed": String(rating === LIKE) }),
    actionButton("dislike", "Не нравится", film, { "aria-pressed": String(rating === DISLIKE) }),
    actionButton("more", "Рекомендовать подобное", film),
    actionButton("hide", "Не показывать", film, { "aria-pressed": String(state.excluded.has(film.id)) }),
  );
  group.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button || button.disabled) return;
    const act = button.dataset.action;
    if (act === "like") rate(film, LIKE);
    else if (act === "dislike") rate(film, DISLIKE);
    else if (act === "more") moreLikeThis(film, button);
    else if (act === "hide") exclude(film);
  });
  return group;
}

/**
 * A film as a card. `reason` is the recommendation's reason; `badge` marks, say, the top-rated
 * list. The card carries the film's id so that an action changes every card of the film.
 */
export function card(film, { reason = "", badge = "", fresh = false } = {}) {
  const genres = (film.genres || []).slice(0, 3).map(genreName).join(", ");
  const rating = state.ratings.get(film.id);
  return h(
    "article",
    {
      class: `card${fresh ? " fresh" : ""}${rating ? " rated" : ""}`,
      dataset: { filmId: film.id },
      "aria-labelledby": `title-${film.id}`,
    },
    h("a", { class: "poster-link", href: filmLink(film), tabindex: "-1", "aria-hidden": "true" }, poster(film)),
    h(
      "div",
      { class: "card-body" },
      h("h3", { class: "card-title", id: `title-${film.id}` }, h("a", { href: filmLink(film) }, film.title)),
      metaLine(film),
      genres ? h("p", { class: "genres" }, genres) : null,
      badge ? h("p", { class: "badge" }, badge) : null,
      reason ? h("p", { class: "reason" }, reason) : null,
      actions(film),
    ),
  );
}

/**
 * What the person said of `films` (likes, dislikes, "never show"), read before they are shown.
 * A change the person makes while the read is on its way wins over the read's answer.
 * On an error the films show no rating; the actions still work.
 */
export async function learnRatings(films) {
  const ids = [...new Set(films.filter(Boolean).map((film) => film.id))];
  const asked = state.edits;
  try {
    const replies = [];
    for (let start = 0; start < ids.length; start += RATINGS_PER_CALL) {
      replies.push(api.me.ratingsOf(ids.slice(start, start + RATINGS_PER_CALL)));
    }
    const ratings = new Map();
    const excluded = new Set();
    for (const reply of await Promise.all(replies)) {
      for (const entry of reply.ratings || []) ratings.set(entry.filmId, entry.rating);
      for (const id of reply.excludedFilmIds || []) excluded.add(id);
    }
    for (const id of ids) {
      if ((state.editedAt.get(id) || 0) > asked) continue;
      if (ratings.has(id)) state.ratings.set(id, ratings.get(id));
      else state.ratings.delete(id);
      if (excluded.has(id)) state.excluded.add(id);
      else state.excluded.delete(id);
    }
  } catch (error) {
    if (error?.name === "AbortError") throw error;
  }
}

function edited(filmId) {
  state.edits += 1;
  state.editedAt.set(filmId, state.edits);
}

function cardsOf(filmId) {
  return document.querySelectorAll(`[data-film-id="${CSS.escape(filmId)}"]`);
}

/** Shows `rating` on every card and button of the film. */
function showRating(filmId, rating) {
  edited(filmId);
  if (rating) state.ratings.set(filmId, rating);
  else state.ratings.delete(filmId);
  for (const element of cardsOf(filmId)) {
    element.classList.toggle("rated", Boolean(rating));
    element.querySelector('[data-action="like"]')?.setAttribute("aria-pressed", String(rating === LIKE));
    element.querySelector('[data-action="dislike"]')?.setAttribute("aria-pressed", String(rating === DISLIKE));
  }
  filmChanged(filmId);
}

/** Like or dislike; pressing the pressed button again clears the rating. */
export async function rate(film, wanted) {
  const before = state.ratings.get(film.id) || null;
  const next = before === wanted ? null : wanted;
  showRating(film.id, next);
  try {
    if (next) await api.me.rate(film.id, next);
    else await api.me.clearRating(film.id);
    if (next === LIKE) announce(`«${film.title}»: нравится. Рекомендации обновятся.`);
    else if (next === DISLIKE) announce(`«${film.title}»: не нравится. Рекомендации обновятся.`);
    else announce(`Оценка «${film.title}» снята.`);
  } catch (error) {
    showRating(film.id, before);
    toast(`Оценка «${film.title}» не сохранена. ${api.explain(error)}`, "error");
  }
}

export async function moreLikeThis(film, button) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    await api.me.moreLikeThis(film.id);
    toast(`Подбираем фильмы, похожие на «${film.title}»: они поднимутся в рекомендациях.`);
  } catch (error) {
    toast(`Не получилось попросить похожие на «${film.title}». ${api.explain(error)}`, "error");
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

/** Where focus goes when the card holding it leaves: the next card, else the list's heading. */
function focusAfterRemoval(element) {
  const next = element.nextElementSibling || element.previousElementSibling;
  const target = next?.querySelector(".card-title a, a") || document.querySelector("main h1");
  target?.focus();
}

function showExcluded(filmId, excluded) {
  edited(filmId);
  if (excluded) state.excluded.add(filmId);
  else state.excluded.delete(filmId);
  for (const element of cardsOf(filmId)) {
    element.querySelector('[data-action="hide"]')?.setAttribute("aria-pressed", String(excluded));
  }
  filmChanged(filmId);
}

function filmChanged(filmId) {
  document.dispatchEvent(new CustomEvent("cinema:film-changed", { detail: filmId }));
}

/** Pressed again where the film stays on screen (its own page): show it again after all. */
async function include(film) {
  showExcluded(film.id, false);
  try {
    await api.me.include(film.id);
    announce(`«${film.title}» снова может попасть в рекомендации.`);
  } catch (error) {
    showExcluded(film.id, true);
    toast(`Не получилось вернуть «${film.title}». ${api.explain(error)}`, "error");
  }
}

/** "Never show": the film leaves every list on the page at once and is filtered out of later ones. */
export async function exclude(film) {
  if (state.excluded.has(film.id)) return include(film);
  showExcluded(film.id, true);
  const removed = [];
  for (const element of cardsOf(film.id)) {
    if (!element.classList.contains("card")) continue;
    if (element.contains(document.activeElement)) focusAfterRemoval(element);
    removed.push({ element, parent: element.parentNode, next: element.nextSibling });
    element.remove();
  }
  document.dispatchEvent(new CustomEvent("cinema:lists-changed"));
  try {
    await api.me.exclude(film.id);
    announce(`«${film.title}» больше не будет показываться.`);
  } catch (error) {
    showExcluded(film.id, false);
    for (const { element, parent, next } of removed.reverse()) {
      if (parent?.isConnected) parent.insertBefore(element, next?.parentNode === parent ? next : null);
    }
    document.dispatchEvent(new CustomEvent("cinema:lists-changed"));
    toast(`Не получилось скрыть «${film.title}». ${api.explain(error)}`, "error");
  }
}
