// The REST API (the same public one partner teams use) and the session's tokens.
//
// The access token lives in this module's memory only (no localStorage). The refresh token
// never reaches this script: the page logs in in session cookie mode, and the edge keeps
// the refresh token in an HttpOnly, Secure, SameSite=Strict cookie that only the auth
// calls send (README, "Web page"). So a reload resumes the session with one refresh, and a
// script injected into the page cannot take the session away with it. A 401 is answered by
// one refresh (shared by every call that got it) and a single retry.

const session = { access: "", user: null };
// Only the auth calls carry the session cookie; every other call omits the browser's cookies.
const WITH_COOKIE = { credentials: "same-origin" };
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
  if (user) session.user = user;
}

function forget(reason) {
  const was = signedIn();
  session.access = "";
  session.user = null;
  if (was) for (const listener of signedOutListeners) listener(reason);
}

async function send(method, path, { body, token, signal, credentials = "omit" } = {}) {
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
      credentials,
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

/** A new access token for the session cookie's refresh token (which rotates with it). */
function refreshWithCookie() {
  return send("POST", "v1/auth/refresh", { body: { sessionCookie: true }, ...WITH_COOKIE });
}

/** A new access token from the refresh token, once at a time; false when the session ended. */
export function refreshTokens() {
  if (!session.access) return Promise.resolve(false);
  refreshing ??= (async () => {
    try {
      const reply = await refreshWithCookie();
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

/**
 * On load: the session the cookie holds, if any (true), else false and the login form. "No
 * session" is a 401 from the refresh; it is the expected answer for a signed-out visitor.
 */
export async function resume() {
  try {
    const reply = await refreshWithCookie();
    const { user } = await send("GET", "v1/auth/me", { token: reply.tokens.accessToken });
    keep(reply.tokens, user);
    return true;
  } catch {
    return false;
  }
}

export async function register(login, password) {
  await send("POST", "v1/auth/register", { body: { login, password } });
}

export async function login(loginName, password) {
  const reply = await send("POST", "v1/auth/login", {
    body: { login: loginName, password, sessionCookie: true },
    ...WITH_COOKIE,
  });
  keep(reply.tokens, reply.user);
  return reply.user;
}

export async function logout() {
  forget("logout");
  try {
    // Revokes the cookie's refresh token and clears the cookie.
    await send("POST", "v1/auth/logout", { body: { sessionCookie: true }, ...WITH_COOKIE });
  } catch {
    // The access token is gone from the page either way; the family expires on its own.
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
  /** The person's ratings and exclusions of up to 100 films, in one call. */
  ratingsOf: (ids) =>
    call("GET", `v1/me/ratings:batchGet?${ids.map((id) => `filmIds=${encodeURIComponent(id)}`).join("&")}`),
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
