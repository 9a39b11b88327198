// The REST API (the same public one partner teams use) and the session's tokens.
//
// Both tokens live in this module's memory only: no localStorage, no cookie. A script
// injected into the page could not read them back after a reload, and a reload asks the
// person to log in again (README, "Web page"). A 401 is answered by one refresh (shared by
// every call that got it) and a single retry.

const session = { access: "", refresh: "", user: null };
const signedOutListeners = [];
let refreshing = null;

/** An answer that was not a success: the google.rpc.Status body and the HTTP status. */
export class ApiError extends Error {
  constructor(status, body, retryAfter) {
    super(body?.message || `HTTP ${status}`);
    this.status = status;
    this.code = body?.code ?? null;
    this.details = Array.isArray(body?.details) ? body.details : [];
    this.retryAfter = retryAfter;
  }

  /** The BadRequest field violations: [{field, description}]. */
  get violations() {
    return this.details
      .filter((detail) => String(detail["@type"] || "").endsWith("google.rpc.BadRequest"))
      .flatMap((detail) => detail.fieldViolations || []);
  }

  get offline() {
    return this.status === 0;
  }
}

export function signedIn() {
  return Boolean(session.access);
}

export function currentUser() {
  return session.user;
}

export function accessToken() {
  return session.access;
}

export function onSignedOut(listener) {
  signedOutListeners.push(listener);
}

function keep(tokens, user) {
  session.access = tokens.accessToken;
  session.refresh = tokens.refreshToken;
  if (user) session.user = user;
}

function forget(reason) {
  const was = signedIn();
  session.access = "";
  session.refresh = "";
  session.user = null;
  if (was) for (const listener of signedOutListeners) listener(reason);
}

async function send(method, path, { body, token, signal } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let reply;
  try {
    reply = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: "no-store",
      credentials: "omit",
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, { message: "network" });
  }
  const text = await reply.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    parsed = { message: text };
  }
  if (!reply.ok) {
    const retryAfter = Number(reply.headers.get("retry-after")) || null;
    throw new ApiError(reply.status, parsed, retryAfter);
  }
  return parsed;
}

/** A new access token from the refresh token, once at a time; false when the session ended. */
export function refreshTokens() {
  if (!session.refresh) return Promise.resolve(false);
  refreshing ??= (async () => {
    try {
      const reply = await send("POST", "v1/auth/refresh", {
        body: { refreshToken: session.refresh },
      });
      keep(reply.tokens);
      return true;
    } catch (error) {
      if (error instanceof ApiError && (error.status === 401 || error.status === 400)) {
        forget("expired");
        return false;
      }
      throw error;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/** A call with the session's token (when there is one); a 401 refreshes and retries once. */
export async function call(method, path, options = {}) {
  const token = session.access;
  try {
    return await send(method, path, { ...options, token });
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401 || !token) throw error;
    if (session.access === token && !(await refreshTokens())) throw error;
    return send(method, path, { ...options, token: session.access });
  }
}

export async function register(login, password) {
  await send("POST", "v1/auth/register", { body: { login, password } });
}

export async function login(loginName, password) {
  const reply = await send("POST", "v1/auth/login", {
    body: { login: loginName, password },
  });
  keep(reply.tokens, reply.user);
  return reply.user;
}

export async function logout() {
  const refreshToken = session.refresh;
  forget("logout");
  if (refreshToken) {
    try {
      await send("POST", "v1/auth/logout", { body: { refreshToken } });
    } catch {
      // The tokens are gone from the page either way; the family expires on its own.
    }
  }
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

export const films = {
  get: (id) => call("GET", `v1/films/${encodeURIComponent(id)}`),
  search: (text, pageToken) =>
    call("GET", `v1/films:search${query({ query: text, pageSize: 20, pageToken })}`),
  similar: (id) => call("GET", `v1/films/${encodeURIComponent(id)}/similar${query({ pageSize: 12 })}`),
  person: (id) => call("GET", `v1/persons/${encodeURIComponent(id)}`),
};

export const me = {
  rate: (id, rating) =>
    call("PUT", `v1/me/ratings/${encodeURIComponent(id)}`, { body: { rating } }),
  clearRating: (id) => call("DELETE", `v1/me/ratings/${encodeURIComponent(id)}`),
  exclude: (id) => call("PUT", `v1/me/exclusions/${encodeURIComponent(id)}`),
  include: (id) => call("DELETE", `v1/me/exclusions/${encodeURIComponent(id)}`),
  moreLikeThis: (id) => call("POST", "v1/me/more-like-this", { body: { filmId: id } }),
  ratings: (rating, pageToken, pageSize = 20) =>
    call("GET", `v1/me/ratings${query({ rating, pageSize, pageToken })}`),
  exclusions: (pageToken, pageSize = 20) =>
    call("GET", `v1/me/exclusions${query({ pageSize, pageToken })}`),
};

/** What to tell a person about a failed call, in Russian. */
export function explain(error) {
  if (!(error instanceof ApiError)) return "Что-то пошло не так. Попробуйте ещё раз.";
  if (error.offline) return "Нет связи с сервером. Проверьте подключение и попробуйте ещё раз.";
  switch (error.status) {
    case 400:
      return "Запрос не принят: проверьте введённые данные.";
    case 401:
      return "Сеанс закончился: войдите снова.";
    case 403:
      return "Недостаточно прав.";
    case 404:
      return "Не найдено.";
    case 409:
      return "Уже существует.";
    case 429:
      return error.retryAfter
        ? `Слишком много запросов. Попробуйте через ${error.retryAfter} с.`
        : "Слишком много запросов. Попробуйте чуть позже.";
    case 503:
    case 504:
      return "Сервис временно недоступен. Попробуйте через минуту.";
    default:
      return "Ошибка на сервере. Попробуйте ещё раз.";
  }
}
