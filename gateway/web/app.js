// The cinema's page: a hash router over the views, the session and the live list.

import * as api from "./api.js";
import { announce, toast } from "./cards.js";
import { resetState, state } from "./state.js";
import { readEvents } from "./stream.js";
import * as views from "./views.js";
import { isAdmin, operatorView } from "./operator.js";

const PUBLIC = new Set(["login", "register"]);
const WATCH_PATH = "v1/me/recommendations:watch?pageSize=24";
// The google.rpc code of an `event: error` frame, as the HTTP status the REST edge uses.
const CODE_STATUS = { 3: 400, 4: 504, 5: 404, 7: 403, 8: 429, 14: 503, 16: 401 };

let watching = null;
let pendingRoute = "";
let signOutNotice = "";
let renderCount = 0;

function route() {
  const hash = location.hash.startsWith("#/") ? location.hash.slice(1) : "/";
  const [path, search = ""] = hash.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(search);
  if (!parts.length) return { name: "home" };
  const [name, id] = parts;
  if (name === "search") return { name, text: (params.get("q") || "").trim() };
  if ((name === "film" || name === "person") && id) return { name, id };
  if (["login", "register", "ratings", "operator"].includes(name)) return { name };
  return { name: "notfound" };
}

/** Why the person was signed out, said once on the sign-in page; else `otherwise`. */
function takeNotice(otherwise) {
  const notice = signOutNotice || otherwise;
  signOutNotice = "";
  return notice;
}

function go(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

function render() {
  const current = route();
  const count = ++renderCount;
  const isCurrent = () => count === renderCount;
  if (!api.signedIn() && !PUBLIC.has(current.name)) {
    if (current.name !== "home" || location.hash) pendingRoute = location.hash;
    const notice = takeNotice("Войдите, чтобы увидеть рекомендации.");
    if (location.hash !== "#/login") history.replaceState(null, "", "#/login");
    return show("login", () => views.authView("login", notice, signedIn));
  }
  if (api.signedIn() && PUBLIC.has(current.name)) {
    history.replaceState(null, "", "#/");
    return render();
  }
  const draw = {
    login: () => views.authView("login", takeNotice(""), signedIn),
    register: () => views.authView("register", "", signedIn),
    home: () => views.homeView(),
    search: () => views.searchView(current.text, isCurrent),
    film: () => views.filmView(current.id, isCurrent),
    person: () => views.personView(current.id, isCurrent),
    ratings: () => views.ratingsView(),
    operator: () => operatorView(isCurrent),
    notfound: () => views.notFoundView(),
  }[current.name];
  show(current.name, draw);
}

function show(name, draw) {
  const main = views.main();
  if (name !== "search") document.getElementById("search-query").value = "";
  main.dataset.view = name;
  document.getElementById("nav").hidden = !api.signedIn();
  document.getElementById("search-form").hidden = !api.signedIn();
  document.getElementById("account").hidden = !api.signedIn();
  document.getElementById("nav-operator").hidden = !isAdmin();
  for (const link of document.querySelectorAll("[data-nav]")) {
    if (link.dataset.nav === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  draw();
  if (name !== "login" && name !== "register") main.querySelector("h1")?.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

// --- the session ---------------------------------------------------------------------------

/** The session began: by logging in (or registering), or on load from the session cookie. */
function signedIn(registered, resumedAt = "") {
  resetState();
  const user = api.currentUser();
  document.getElementById("who").textContent = user ? user.login : "";
  startWatching();
  if (registered) toast("Добро пожаловать! Отметьте несколько фильмов — и подборка станет вашей.");
  const target = resumedAt || (pendingRoute && pendingRoute !== "#/login" ? pendingRoute : "#/");
  pendingRoute = "";
  go(target);
}

api.onSignedOut((reason) => {
  stopWatching();
  resetState();
  document.getElementById("who").textContent = "";
  signOutNotice = reason === "logout" ? "Вы вышли из аккаунта." : "Сеанс закончился: войдите снова.";
  go("#/login");
});

// --- the live list -------------------------------------------------------------------------

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

function setStream(value) {
  state.stream = value;
  if (views.main().dataset.view === "home") views.updateHome();
}

function receive(frame) {
  const renewed = Boolean(state.recommendations);
  state.recommendations = {
    items: frame.items || [],
    fallback: Boolean(frame.fallback),
    generateTime: frame.generateTime || "",
  };
  state.recommendationsError = null;
  state.stream = "live";
  if (views.main().dataset.view !== "home") return;
  views.updateHome();
  if (renewed) announce("Рекомендации обновились.");
}

async function watch(controller) {
  let delay = 1000;
  while (!controller.signal.aborted && api.signedIn()) {
    try {
      await readEvents(WATCH_PATH, api.accessToken(), (name, data) => {
        const body = JSON.parse(data);
        if (name === "error") throw new api.ApiError(CODE_STATUS[body.code] || 500, body);
        if (name === "message") {
          delay = 1000;
          receive(body);
        }
      }, controller.signal);
    } catch (error) {
      if (controller.signal.aborted || error.name === "AbortError") return;
      if (error instanceof api.ApiError && error.status === 401) {
        const renewed = await api.refreshTokens().catch(() => null);
        if (renewed) continue;
        if (renewed === false) return;
      }
      if (!state.recommendations && error instanceof api.ApiError && !error.offline) {
        state.recommendationsError = error;
      }
    }
    if (controller.signal.aborted) return;
    setStream("reconnecting");
    await sleep(delay, controller.signal);
    delay = Math.min(delay * 2, 15000);
  }
}

function startWatching() {
  stopWatching();
  watching = new AbortController();
  watch(watching);
}

function stopWatching() {
  watching?.abort();
  watching = null;
}

// --- the page's frame ----------------------------------------------------------------------

function showConnectivity() {
  document.getElementById("offline").hidden = navigator.onLine;
}

function boot() {
  document.getElementById("skip").addEventListener("click", (event) => {
    event.preventDefault();
    views.main().focus();
  });
  document.getElementById("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = document.getElementById("search-query").value.trim();
    go(`#/search?q=${encodeURIComponent(text)}`);
  });
  document.getElementById("logout").addEventListener("click", () => api.logout());
  window.addEventListener("hashchange", render);
  window.addEventListener("offline", showConnectivity);
  window.addEventListener("online", () => {
    showConnectivity();
    if (api.signedIn() && state.stream !== "live") startWatching();
  });
  document.addEventListener("cinema:watch-again", () => {
    state.recommendationsError = null;
    views.updateHome();
    startWatching();
  });
  document.addEventListener("cinema:lists-changed", () => {
    if (views.main().dataset.view === "home") views.updateHome();
  });
  showConnectivity();
  // A reload keeps the person signed in: the session cookie, if there is one, is tried once.
  views.main().replaceChildren(views.loading());
  api.resume().then((resumed) => {
    if (!resumed) return render();
    const here = route().name;
    signedIn(false, PUBLIC.has(here) || !location.hash ? "#/" : location.hash);
  });
}

window.addEventListener("unhandledrejection", (event) => {
  toast("Что-то пошло не так. Обновите страницу, если ошибка повторится.", "error");
});

boot();
