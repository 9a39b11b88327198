// The pages: sign-in, the main page, search, a film, a person, the person's ratings.
// Each view renders into <main> and says honestly what it is doing: loading, empty, error.

import * as api from "./api.js";
import { actions, announce, card, filmLink, learnRatings, toast } from "./cards.js";
import { append, clear, h } from "./dom.js";
import { poster } from "./poster.js";
import { DISLIKE, LIKE, filmKind, formatRating, genreName, state } from "./state.js";

export function main() {
  return document.getElementById("main");
}

/** A fresh page: a heading that takes focus after navigation, so readers land on it. */
export function page(title, ...children) {
  document.title = `${title} — Кино`;
  const heading = h("h1", { tabindex: "-1" }, title);
  append(clear(main()), [heading, children]);
  return heading;
}

export function loading(text = "Загрузка…") {
  return h("p", { class: "state state-loading", role: "status" }, h("span", { class: "spinner", "aria-hidden": "true" }), text);
}

export function failure(error, retry) {
  return h(
    "div",
    { class: "state state-error", role: "alert" },
    h("p", {}, api.explain(error)),
    retry ? h("button", { type: "button", onclick: retry }, "Повторить") : null,
  );
}

function empty(text) {
  return h("p", { class: "state state-empty" }, text);
}

function visible(films) {
  return films.filter((film) => film && !state.excluded.has(film.id));
}

// --- sign-in -------------------------------------------------------------------------------

const VIOLATIONS = {
  login: "Логин: от 3 до 64 символов — латинские буквы, цифры, «.», «_» и «-».",
  password: "Пароль: от 8 до 128 символов.",
};

function violationText(violation) {
  const said = violation.description || "";
  if (violation.field === "password" && said.includes("same as the login")) {
    return "Пароль не должен совпадать с логином.";
  }
  return VIOLATIONS[violation.field] || `${violation.field}: ${said}`;
}

function field(id, label, attrs, hint) {
  const error = h("p", { class: "field-error", id: `${id}-error`, hidden: true });
  const hintLine = hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null;
  const input = h("input", {
    id,
    name: id,
    required: true,
    "aria-describedby": [hint ? `${id}-hint` : "", `${id}-error`].filter(Boolean).join(" "),
    ...attrs,
  });
  return { input, error, element: h("div", { class: "field" }, h("label", { for: id }, label), input, hintLine, error) };
}

/** The sign-in page (mode "login") or the registration page ("register"). */
export function authView(mode, notice, onSignedIn) {
  const registering = mode === "register";
  const loginField = field("login", "Логин", { autocomplete: "username", autocapitalize: "none", spellcheck: "false", maxlength: 64 }, registering ? "3–64 символа: латинские буквы, цифры, «.», «_», «-»." : "");
  const passwordField = field("password", "Пароль", { type: "password", autocomplete: registering ? "new-password" : "current-password", maxlength: 128 }, registering ? "От 8 до 128 символов, не совпадает с логином." : "");
  const formError = h("p", { class: "form-error", role: "alert", hidden: true });
  const submit = h("button", { type: "submit", class: "primary" }, registering ? "Зарегистрироваться" : "Войти");
  const fields = { login: loginField, password: passwordField };

  function show(errors, general) {
    for (const [name, item] of Object.entries(fields)) {
      const text = errors[name];
      item.error.hidden = !text;
      item.error.textContent = text || "";
      item.input.setAttribute("aria-invalid", String(Boolean(text)));
    }
    formError.hidden = !general;
    formError.textContent = general || "";
    const first = Object.keys(errors)[0];
    if (first) fields[first].input.focus();
  }

  function hold(seconds) {
    submit.disabled = true;
    setTimeout(() => {
      submit.disabled = false;
    }, Math.min(seconds, 120) * 1000);
  }

  const form = h("form", { class: "auth-form", novalidate: true }, loginField.element, passwordField.element, formError, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const login = loginField.input.value.trim();
    const password = passwordField.input.value;
    const missing = {};
    if (!login) missing.login = "Введите логин.";
    if (!password) missing.password = "Введите пароль.";
    if (Object.keys(missing).length) return show(missing, "");
    show({}, "");
    submit.disabled = true;
    form.setAttribute("aria-busy", "true");
    let holdFor = 0;
    try {
      if (registering) await api.register(login, password);
      await api.login(login, password);
      onSignedIn(registering);
    } catch (error) {
      if (!(error instanceof api.ApiError)) throw error;
      if (error.status === 409) {
        show({ login: `Логин «${login}» уже занят. Выберите другой или войдите.` }, "");
      } else if (error.status === 400 && error.violations.length) {
        const errors = {};
        for (const violation of error.violations) errors[violation.field] ??= violationText(violation);
        show(errors, "");
      } else if (error.status === 401) {
        show({}, "Неверный логин или пароль.");
      } else if (error.status === 429) {
        holdFor = error.retryAfter || 30;
        show({}, `Слишком много попыток входа. Попробуйте снова через ${holdFor} с.`);
      } else {
        show({}, api.explain(error));
      }
    } finally {
      form.removeAttribute("aria-busy");
      submit.disabled = false;
      if (holdFor) hold(holdFor);
    }
  });

  page(
    registering ? "Регистрация" : "Вход",
    notice ? h("p", { class: "notice", role: "status" }, notice) : null,
    h("p", { class: "lead" }, "Кино подбирает фильмы по вашим оценкам: отмечайте, что нравится, и рекомендации меняются сразу."),
    form,
    h(
      "p",
      { class: "switch" },
      registering ? "Уже есть аккаунт? " : "Нет аккаунта? ",
      h("a", { href: registering ? "#/login" : "#/register" }, registering ? "Войти" : "Зарегистрироваться"),
    ),
  );
  loginField.input.focus();
}

// --- the main page -------------------------------------------------------------------------

const STREAM_TEXT = {
  connecting: "Подключаемся…",
  live: "Обновляется сама",
  reconnecting: "Нет связи, переподключаемся…",
};

let shownOnHome = null;

/** The reasons of a recommendation in one line: «Похоже на «A», «B»» rather than twice. */
function reasonText(reasons) {
  const texts = [...new Set((reasons || []).map((reason) => reason.text).filter(Boolean))];
  const merged = [];
  for (const text of texts) {
    const cut = text.indexOf("«");
    const prefix = cut > 0 ? text.slice(0, cut) : "";
    const same = prefix && merged.find((line) => line.prefix === prefix);
    if (same) same.rest.push(text.slice(cut));
    else merged.push({ prefix, rest: [prefix ? text.slice(cut) : text] });
  }
  return merged.slice(0, 2).map((line) => line.prefix + line.rest.slice(0, 3).join(", ")).join(" · ");
}

/** The main page: the list from the watch stream, re-rendered as each new list arrives. */
export function homeView() {
  shownOnHome = null;
  page("Рекомендации", h("p", { class: "stream", id: "stream-state", role: "status" }), h("div", { id: "home-note" }), h("div", { id: "home-list" }));
  updateHome();
}

export function updateHome() {
  const list = document.getElementById("home-list");
  if (!list) return;
  const status = document.getElementById("stream-state");
  status.textContent = STREAM_TEXT[state.stream] || "";
  status.dataset.state = state.stream;
  const recommendations = state.recommendations;
  if (!recommendations) {
    if (state.recommendationsError) {
      const retry = () => document.dispatchEvent(new CustomEvent("cinema:watch-again"));
      clear(list).append(failure(state.recommendationsError, retry));
    }
    else if (!list.querySelector(".state-loading")) clear(list).append(loading("Подбираем фильмы…"));
    return;
  }
  const heading = main().querySelector("h1");
  heading.textContent = recommendations.fallback ? "Лучшее по рейтингу" : "Рекомендации для вас";
  const note = document.getElementById("home-note");
  clear(note);
  if (recommendations.fallback) {
    note.append(h("p", { class: "notice fallback" }, "Вы ещё ничего не оценили, поэтому здесь фильмы с самым высоким рейтингом. Отметьте «Нравится» у нескольких фильмов — и подборка станет вашей."));
  }
  const items = recommendations.items.filter((item) => item.film && !state.excluded.has(item.film.id));
  const focused = document.activeElement?.closest?.("[data-film-id]") ? {
    id: document.activeElement.closest("[data-film-id]").dataset.filmId,
    action: document.activeElement.dataset.action,
  } : null;
  const before = shownOnHome;
  shownOnHome = new Set(items.map((item) => item.film.id));
  const grid = h(
    "div",
    { class: "grid", dataset: { generateTime: recommendations.generateTime || "", fallback: String(recommendations.fallback) } },
    items.map((item) =>
      card(item.film, {
        reason: reasonText(item.reasons),
        badge: recommendations.fallback ? "Топ по рейтингу" : "",
        fresh: Boolean(before) && !before.has(item.film.id),
      }),
    ),
  );
  clear(list).append(items.length ? grid : empty("Пока нечего предложить: вы скрыли или оценили всё, что мы нашли. Попробуйте поиск."));
  if (focused) {
    const selector = `[data-film-id="${CSS.escape(focused.id)}"] ${focused.action ? `[data-action="${focused.action}"]` : ".card-title a"}`;
    (grid.querySelector(selector) || heading).focus();
  }
}

// --- search, person, film ------------------------------------------------------------------

function cardsGrid(films, reasons = new Map()) {
  return h("div", { class: "grid" }, visible(films).map((film) => card(film, { reason: reasons.get(film.id) || "" })));
}

export async function searchView(text, isCurrent) {
  const input = document.getElementById("search-query");
  if (input.value !== text) input.value = text;
  if (!text) {
    page("Поиск", empty("Введите название фильма в строке поиска. Опечатки не страшны: «матрица» или «matrx» тоже найдутся."));
    return;
  }
  const results = h("div", { class: "results" }, loading("Ищем…"));
  page(`Поиск: «${text}»`, results);
  const more = h("button", { type: "button", class: "more-button" }, "Показать ещё");
  let token = "";
  async function next(first) {
    more.disabled = true;
    try {
      const reply = await api.films.search(text, token);
      if (!isCurrent()) return;
      const films = reply.films || [];
      await learnRatings(films);
      if (!isCurrent()) return;
      token = reply.nextPageToken || "";
      if (first) {
        clear(results);
        if (!films.length) return results.append(empty(`По запросу «${text}» ничего не нашлось. Проверьте написание или попробуйте другое название.`));
        results.append(h("p", { class: "count" }, `Найдено: ${reply.totalSize ?? films.length}`), cardsGrid(films));
      } else {
        results.querySelector(".grid").append(...visible(films).map((film) => card(film)));
      }
      more.remove();
      if (token) results.append(more);
    } catch (error) {
      if (!isCurrent()) return;
      if (first) clear(results).append(failure(error, () => searchView(text, isCurrent)));
      else toast(api.explain(error), "error");
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener("click", () => next(false));
  await next(true);
}

const ROLES = { PERSON_ROLE_ACTOR: "актёр", PERSON_ROLE_DIRECTOR: "режиссёр", PERSON_ROLE_WRITER: "сценарист" };

export async function personView(id, isCurrent) {
  const body = h("div", {}, loading());
  page("Персона", body);
  try {
    const { person } = await api.films.person(id);
    if (!isCurrent()) return;
    page(person.fullName, body);
    const films = (person.films || []).map((entry) => entry.film);
    await learnRatings(films);
    if (!isCurrent()) return;
    const roles = new Map((person.films || []).map((entry) => [entry.film.id, (entry.roles || []).map((role) => ROLES[role] || role).join(", ")]));
    clear(body).append(h("h2", {}, "Фильмы"), films.length ? cardsGrid(films, roles) : empty("В каталоге нет фильмов с этим человеком."));
  } catch (error) {
    if (isCurrent()) clear(body).append(failure(error, () => personView(id, isCurrent)));
  }
}

function people(title, persons) {
  if (!persons?.length) return null;
  return h(
    "div",
    { class: "people" },
    h("h3", {}, title),
    h("ul", { class: "people-list" }, persons.map((person) => h("li", {}, h("a", { href: `#/person/${encodeURIComponent(person.id)}` }, person.fullName)))),
  );
}

export async function filmView(id, isCurrent) {
  const body = h("div", {}, loading());
  page("Фильм", body);
  let film;
  try {
    [{ film }] = await Promise.all([api.films.get(id), learnRatings([{ id }])]);
  } catch (error) {
    if (isCurrent()) clear(body).append(failure(error, () => filmView(id, isCurrent)));
    return;
  }
  if (!isCurrent()) return;
  const summary = { ...film, genres: (film.genres || []).map((genre) => genre.name) };
  const heading = page(film.title, body);
  heading.classList.add("film-title");
  const rating = formatRating(film.rating);
  const facts = [film.year ? String(film.year) : "", filmKind(film.type), film.certificate || ""].filter(Boolean).join(" · ");
  const similar = h("section", { class: "similar", "aria-labelledby": "similar-h" }, h("h2", { id: "similar-h" }, "Похожие фильмы"), loading("Ищем похожие…"));
  const details = h(
    "article",
    { class: "film", dataset: { filmId: film.id } },
    poster(summary, "large"),
    h(
      "div",
      { class: "film-info" },
      h("p", { class: "meta" }, facts, rating ? h("span", { class: "rating" }, h("span", { "aria-hidden": "true" }, " ★ "), h("span", { class: "vh" }, ", рейтинг "), rating) : null),
      h("ul", { class: "chips", "aria-label": "Жанры" }, summary.genres.map((genre) => h("li", {}, genreName(genre)))),
      film.description ? h("p", { class: "description" }, film.description) : h("p", { class: "description muted" }, "Описания пока нет."),
      h("p", { class: "my-rating", id: "my-rating" }),
      actions(summary),
      people("Режиссёры", film.directors),
      people("Сценаристы", film.writers),
      people("В ролях", film.actors),
    ),
  );
  clear(body).append(details, similar);
  showMyRating(film.id);
  try {
    const reply = await api.films.similar(film.id);
    if (!isCurrent()) return;
    const items = (reply.items || []).filter((item) => item.film);
    await learnRatings(items.map((item) => item.film));
    if (!isCurrent()) return;
    similar.querySelector(".state")?.remove();
    const reasons = new Map(items.map((item) => [item.film.id, (item.reasons || [])[0]?.text || ""]));
    similar.append(items.length ? cardsGrid(items.map((item) => item.film), reasons) : empty("Похожих фильмов пока не нашлось."));
  } catch (error) {
    if (isCurrent()) similar.querySelector(".state")?.replaceWith(failure(error));
  }
}

document.addEventListener("cinema:film-changed", (event) => showMyRating(event.detail));

/** The person's own rating of the film on its page, kept in step with its buttons. */
function showMyRating(filmId) {
  const line = document.getElementById("my-rating");
  if (!line || line.closest("[data-film-id]")?.dataset.filmId !== filmId) return;
  const rating = state.ratings.get(filmId);
  const hidden = state.excluded.has(filmId);
  line.textContent = hidden
    ? "Вы скрыли этот фильм из рекомендаций."
    : rating === LIKE
      ? "Вам нравится этот фильм."
      : rating === DISLIKE
        ? "Вам не нравится этот фильм."
        : "Вы ещё не оценили этот фильм.";
}

// --- my ratings ----------------------------------------------------------------------------

/** A row of «Мои оценки»: the film, when it was rated or hidden, and its undo button. */
function ratingRow(film, { when, verb, undoLabel, undoShort, undo }) {
  const date = when ? `${verb} ${new Date(when).toLocaleDateString("ru-RU")}` : "";
  const row = h(
    "li",
    { class: "row", dataset: { rowFilmId: film.id } },
    poster(film, "small"),
    h("div", { class: "row-text" }, h("a", { href: filmLink(film) }, film.title), h("span", { class: "muted" }, [film.year, date].filter(Boolean).join(" · "))),
  );
  const button = h("button", { type: "button", class: "quiet", "aria-label": `${undoLabel}: ${film.title}` }, undoShort);
  button.addEventListener("click", async () => {
    const list = row.parentNode;
    const next = row.nextSibling;
    const focusTarget = row.nextElementSibling?.querySelector("button") || row.previousElementSibling?.querySelector("button") || list.closest("section").querySelector("h2");
    row.remove();
    focusTarget?.focus();
    try {
      await undo();
      announce(`«${film.title}»: отменено.`);
      if (!list.children.length) list.replaceWith(empty("Здесь пусто."));
    } catch (error) {
      list.insertBefore(row, next?.parentNode === list ? next : null);
      toast(`Не получилось отменить для «${film.title}». ${api.explain(error)}`, "error");
    }
  });
  row.append(button);
  return row;
}

function pagedSection(id, title, fetchPage, toRow, emptyText) {
  const list = h("ul", { class: "rows", id: `${id}-list` });
  const more = h("button", { type: "button", class: "more-button" }, "Показать ещё");
  const section = h("section", { class: "ratings-section", id, "aria-labelledby": `${id}-h` }, h("h2", { id: `${id}-h`, tabindex: "-1" }, title), loading());
  let token = "";
  async function next(first) {
    more.disabled = true;
    try {
      const { entries, nextPageToken } = await fetchPage(token);
      token = nextPageToken || "";
      if (first) section.querySelector(".state")?.remove();
      if (first && !entries.length) {
        section.append(empty(emptyText));
        return;
      }
      if (first) section.append(list);
      list.append(...entries.map(toRow));
      more.remove();
      if (token) section.append(more);
    } catch (error) {
      if (first) section.querySelector(".state")?.replaceWith(failure(error, () => next(true)));
      else toast(api.explain(error), "error");
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener("click", () => next(false));
  next(true);
  return section;
}

export function ratingsView() {
  const ratingsPage = (rating) => async (token) => {
    const reply = await api.me.ratings(rating, token);
    return { entries: (reply.ratings || []).filter((entry) => entry.film), nextPageToken: reply.nextPageToken };
  };
  const clearRating = (entry) =>
    ratingRow(entry.film, {
      when: entry.updateTime,
      verb: "оценка от",
      undoLabel: "Убрать оценку",
      undoShort: "Убрать",
      undo: async () => {
        await api.me.clearRating(entry.filmId);
        state.ratings.delete(entry.filmId);
      },
    });
  page(
    "Мои оценки",
    h("div", { class: "ratings-columns" },
      pagedSection("liked", "Нравится", ratingsPage(LIKE), clearRating, "Вы ещё не отметили ни одного фильма «Нравится»."),
      pagedSection("disliked", "Не нравится", ratingsPage(DISLIKE), clearRating, "Здесь появятся фильмы, которые вам не понравились."),
      pagedSection(
        "excluded",
        "Скрытые",
        async (token) => {
          const reply = await api.me.exclusions(token);
          return { entries: (reply.exclusions || []).filter((entry) => entry.film), nextPageToken: reply.nextPageToken };
        },
        (entry) =>
          ratingRow(entry.film, {
            when: entry.createTime,
            verb: "скрыт",
            undoLabel: "Вернуть в рекомендации",
            undoShort: "Вернуть",
            undo: async () => {
              await api.me.include(entry.filmId);
              state.excluded.delete(entry.filmId);
            },
          }),
        "Вы ничего не скрывали.",
      ),
    ),
  );
}

export function notFoundView() {
  page("Страница не найдена", h("p", {}, "Такой страницы нет. ", h("a", { href: "#/" }, "На главную")));
}
