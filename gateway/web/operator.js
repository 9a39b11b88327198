// The operator page (#/operator): the recommender's metrics as small SVG charts, read from
// `GET /v1/admin/stats` (RecommendationService.GetOperatorStats, for the `admin` role only)
// and read again every sample interval while the page is open.

import * as api from "./api.js";
import { clear, h, svg } from "./dom.js";
import { failure, loading, main, page } from "./views.js";

const STATS_PATH = "v1/admin/stats";
const COLORS = ["#5fb3ff", "#ffb86b", "#3fb97f", "#ff8a8e", "#c792ea", "#ffd166", "#7fdbca", "#f78c6c"];
const WIDTH = 320;
const HEIGHT = 132;
const PAD = { left: 50, right: 10, top: 10, bottom: 22 };

const EVENT_KINDS = {
  liked: "нравится",
  disliked: "не нравится",
  cleared: "оценка снята",
  excluded: "скрыт",
  included: "возвращён",
  more_like_this: "«подобное»",
};
const TRIGGERS = {
  event: "события",
  more_like_this: "«подобное»",
  sweep: "обход",
  user: "по запросу",
  llm_follow_up: "GigaChat",
  first_read: "первое чтение",
  stream: "StreamRefreshes",
};
const FITS = { fit: "полное", refit: "дообучение" };
const LLM_OUTCOMES = {
  ok: "ответ",
  cached: "из кэша",
  disabled: "выключен",
  budget: "нет бюджета",
  breaker: "предохранитель",
  timeout: "таймаут",
  rate_limited: "лимит",
  server_error: "ошибка сервера",
  transport: "нет связи",
  invalid_answer: "плохой ответ",
  nothing_grounded: "ничего не найдено",
  grounding_error: "ошибка поиска",
  error: "ошибка",
};
const BREAKER = ["закрыт", "полуоткрыт", "открыт"];

let timer = 0;

/** Whether the session's access token carries the `admin` role (its `roles` claim). */
export function isAdmin() {
  const token = api.accessToken();
  if (!token) return false;
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(atob(payload.padEnd(Math.ceil(payload.length / 4) * 4, "=")));
    return Array.isArray(claims.roles) && claims.roles.includes("admin");
  } catch {
    return false;
  }
}

function number(value, digits = 1) {
  return value.toLocaleString("ru-RU", { maximumFractionDigits: digits });
}

function seconds(value) {
  if (value < 1) return `${number(value * 1000, value < 0.1 ? 1 : 0)} мс`;
  if (value < 120) return `${number(value, value < 10 ? 2 : 1)} с`;
  if (value < 7200) return `${Math.floor(value / 60)} мин ${Math.round(value % 60)} с`;
  return `${number(value / 3600, 1)} ч`;
}

function clock(ms) {
  return new Date(ms).toLocaleTimeString("ru-RU", { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/** `"10s"`, `"0.100s"` (a google.protobuf.Duration in JSON) in milliseconds. */
function durationMs(text) {
  const value = Number.parseFloat(String(text || "").replace(/s$/, ""));
  return Number.isFinite(value) ? value * 1000 : 0;
}

/** A chart's lines: [{label, name, points: [[ms, value]]}], named for people. */
function lines(series, names = {}) {
  return (series || []).map((line) => ({
    label: line.label || "",
    name: names[line.label] ?? (line.label || ""),
    points: (line.points || []).map((point) => [Date.parse(point.time), Number(point.value || 0)]),
  })).filter((line) => line.points.length);
}

function latest(line) {
  return line ? line.points[line.points.length - 1][1] : null;
}

function byLabel(chartLines, label) {
  return chartLines.find((line) => line.label === label);
}

function niceMax(value) {
  if (value <= 0) return 1;
  const step = 10 ** Math.floor(Math.log10(value));
  for (const factor of [1, 2, 2.5, 5, 10]) if (factor * step >= value) return factor * step;
  return 10 * step;
}

/** The SVG of a line chart over the shared time range [from, to]. */
function plot(chartLines, { from, to, max, ticks, step }, summary) {
  const x = (ms) => PAD.left + ((ms - from) / Math.max(1, to - from)) * (WIDTH - PAD.left - PAD.right);
  const y = (value) => HEIGHT - PAD.bottom - (Math.min(value, max) / max) * (HEIGHT - PAD.top - PAD.bottom);
  const parts = [];
  for (const [value, text] of ticks) {
    parts.push(svg("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(value), y2: y(value), class: "op-grid" }));
    parts.push(svg("text", { x: PAD.left - 4, y: y(value) + 3, "text-anchor": "end", class: "op-tick" }, document.createTextNode(text)));
  }
  parts.push(svg("text", { x: PAD.left, y: HEIGHT - 6, "text-anchor": "start", class: "op-tick" }, document.createTextNode(clock(from))));
  parts.push(svg("text", { x: WIDTH - PAD.right, y: HEIGHT - 6, "text-anchor": "end", class: "op-tick" }, document.createTextNode("сейчас")));
  chartLines.forEach((line, index) => {
    const color = COLORS[index % COLORS.length];
    const coords = line.points.map(([ms, value]) => [x(ms), y(value)]);
    let d = "";
    coords.forEach(([px, py], i) => {
      if (step && i) d += `H${px.toFixed(1)}V${py.toFixed(1)}`;
      else d += `${i ? "L" : "M"}${px.toFixed(1)} ${py.toFixed(1)}`;
    });
    // Every other line dashed: lines that coincide (two triggers in step) both show.
    const dash = index % 2 ? { "stroke-dasharray": "6 4" } : {};
    if (coords.length > 1) parts.push(svg("path", { d, fill: "none", stroke: color, "stroke-width": 2, "stroke-linejoin": "round", ...dash }));
    const shown = coords.length > 2 ? coords.slice(-1) : coords;
    for (const [px, py] of shown) parts.push(svg("circle", { cx: px, cy: py, r: 3, fill: color }));
  });
  return svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: "op-plot", role: "img", "aria-label": summary }, ...parts);
}

function scale(chartLines, range, kind, limit) {
  if (kind === "breaker") return { ...range, max: 2, ticks: [[0, "закрыт"], [1, "полуоткр."], [2, "открыт"]], step: true };
  if (kind === "share") return { ...range, max: 1, ticks: [[0, "0%"], [0.5, "50%"], [1, "100%"]] };
  const top = limit || niceMax(Math.max(0, ...chartLines.flatMap((line) => line.points.map(([, value]) => value))));
  const format = kind === "seconds" ? (value) => seconds(value) : (value) => number(value);
  return { ...range, max: top, ticks: [[0, "0"], [top / 2, format(top / 2)], [top, format(top)]] };
}

let chartCount = 0;

/** One chart: a heading, the latest value in words, the plot and its legend. */
function chart({ key, title, chartLines, summary, kind, limit, note, empty = "Данных пока нет." }, range) {
  const id = `op-chart-${++chartCount}`;
  const body = [];
  if (!chartLines.length) {
    body.push(h("p", { class: "op-empty" }, empty));
  } else {
    body.push(plot(chartLines, scale(chartLines, range, kind, limit), `${title}: ${summary}`));
    const named = chartLines.length > 1 || chartLines[0].name;
    if (named) body.push(h(
      "ul",
      { class: "op-legend", "aria-label": "Линии графика" },
      chartLines.map((line, index) => h(
        "li",
        {},
        h("span", { class: `op-swatch op-color-${index % COLORS.length}`, "aria-hidden": "true" }),
        line.name,
      )),
    ));
  }
  return h(
    "section",
    { class: "op-chart", "aria-labelledby": id, dataset: { chart: key } },
    h("h2", { id }, title),
    h("p", { class: "op-now" }, chartLines.length ? summary : `Сейчас: ${empty[0].toLowerCase()}${empty.slice(1)}`),
    body,
    note ? h("p", { class: "hint" }, note) : null,
  );
}

function perMinute(value) {
  return `${number(value)} в минуту`;
}

function charts(stats) {
  const events = lines(stats.eventsPerMinute, EVENT_KINDS);
  const latency = lines(stats.refreshLatencySeconds);
  const refreshes = lines(stats.refreshesPerMinute, TRIGGERS);
  const fits = lines(stats.modelFitSeconds, FITS);
  const age = lines(stats.modelAgeSeconds);
  const calls = lines(stats.llmCallsPerMinute, LLM_OUTCOMES);
  const budget = lines(stats.llmBudgetRemaining);
  const breaker = lines(stats.llmBreakerState);
  const grounding = lines(stats.llmGroundingRate);
  const errors = lines(stats.rpcErrorsPerMinute).map((line) => ({ ...line, name: line.label.split(".").pop() }));
  const perHour = Number(stats.llmBudgetPerHour || 0);
  const total = (chartLines) => chartLines.reduce((sum, line) => sum + latest(line), 0);
  const breakerNow = latest(breaker[0]);
  const p50 = latest(byLabel(latency, "p50"));
  const p95 = latest(byLabel(latency, "p95"));
  return [
    {
      key: "events",
      title: "Лайки в минуту",
      chartLines: events,
      summary: `Сейчас: «нравится» — ${perMinute(latest(byLabel(events, "liked")) ?? 0)}, все события — ${perMinute(total(events))}.`,
    },
    {
      key: "latency",
      title: "Лайк → новый список",
      chartLines: latency,
      kind: "seconds",
      summary: `Последний замер: p50 ${p50 === null ? "—" : seconds(p50)}, p95 ${p95 === null ? "—" : seconds(p95)}.`,
      note: "Время пересчёта списка после лайка, без паузы на сбор событий.",
    },
    {
      key: "refreshes",
      title: "Обновления списков в минуту",
      chartLines: refreshes,
      summary: `Сейчас: ${perMinute(total(refreshes))}; ${refreshes.map((line) => `${line.name} ${number(latest(line))}`).join(", ")}.`,
    },
    {
      key: "fit",
      title: "Обучение модели",
      chartLines: fits,
      kind: "seconds",
      summary: `Последнее: ${fits.map((line) => `${line.name} ${seconds(latest(line))}`).join(", ")}.`,
    },
    {
      key: "age",
      title: "Возраст модели",
      chartLines: age,
      kind: "seconds",
      summary: `Сейчас: модели обучены ${age.length ? seconds(latest(age[0])) : "—"} назад.`,
    },
    {
      key: "llm-calls",
      title: "Вызовы GigaChat в минуту",
      chartLines: calls,
      empty: "Вызовов GigaChat не было.",
      summary: `Сейчас: ${perMinute(total(calls))}; ${calls.map((line) => `${line.name} ${number(latest(line))}`).join(", ")}.`,
    },
    {
      key: "budget",
      title: "Бюджет GigaChat",
      chartLines: budget,
      limit: perHour,
      summary: `Осталось ${budget.length ? number(latest(budget[0]), 0) : "—"} из ${number(perHour, 0)} вызовов в час.`,
    },
    {
      key: "breaker",
      title: "Предохранитель GigaChat",
      chartLines: breaker,
      kind: "breaker",
      summary: `Сейчас: ${breakerNow === null ? "—" : BREAKER[breakerNow] || String(breakerNow)}.`,
    },
    {
      key: "grounding",
      title: "Доля найденных в каталоге",
      chartLines: grounding,
      empty: "GigaChat ещё ничего не предлагал.",
      kind: "share",
      summary: `Сейчас: ${grounding.length ? `${number(latest(grounding[0]) * 100, 0)}%` : "—"} предложений GigaChat нашлись в каталоге.`,
    },
    {
      key: "errors",
      title: "Ошибки по RPC в минуту",
      chartLines: errors,
      summary: `Сейчас: ${perMinute(total(errors))}${errors.length ? `; ${errors.map((line) => `${line.name} ${number(latest(line))}`).join(", ")}` : ""}.`,
      empty: "Ошибок за это время не было.",
      note: "Ответы с кодом, отличным от OK и CANCELLED, по методам всех четырёх сервисов.",
    },
  ];
}

function timeRange(stats) {
  const to = Date.parse(stats.sampleTime) || Date.now();
  const earliest = Math.min(
    to,
    ...Object.values(stats)
      .filter(Array.isArray)
      .flatMap((series) => series.flatMap((line) => (line.points || []).slice(0, 1).map((point) => Date.parse(point.time)))),
  );
  return { from: Math.max(earliest, to - (durationMs(stats.window) || 900_000)), to };
}

function draw(meta, board, stats) {
  const range = timeRange(stats);
  const interval = durationMs(stats.sampleInterval);
  const minutes = Math.round((durationMs(stats.window) || 900_000) / 60_000);
  const silent = stats.unreachablePeers || [];
  meta.textContent =
    `Метрики рекомендателя за последние ${minutes} мин, точка каждые ${number(interval / 1000, 1)} с. Обновлено в ${clock(range.to)}.` +
    (silent.length ? ` Не ответили (их ошибок в этой точке нет): ${silent.join(", ")}.` : "");
  clear(board).append(h("div", { class: "op-grid-charts" }, charts(stats).map((spec) => chart(spec, range))));
}

function refused() {
  page(
    "Нет доступа",
    h(
      "div",
      { class: "state state-error", role: "alert" },
      h("p", {}, "Эта страница — для операторов: нужна роль admin."),
      h("p", { class: "hint" }, "Роль выдаёт команда cinema auth grant-role --login <логин> --role admin; после неё войдите снова."),
      h("p", {}, h("a", { href: "#/" }, "На главную")),
    ),
  );
}

/** The operator page; `isCurrent()` says whether the person is still on it. */
export function operatorView(isCurrent) {
  clearTimeout(timer);
  const board = h("div", { class: "op-board" }, loading("Загрузка метрик…"));
  const problem = h("div", { class: "op-problem" });
  const meta = h("p", { class: "op-meta" }, "Метрики рекомендателя: лайки, обновления списков, модели, GigaChat, ошибки.");
  const again = h("button", { type: "button", class: "op-again" }, "Обновить");
  page("Оператор", h("div", { class: "op-head" }, meta, again), problem, board);
  main().setAttribute("aria-busy", "true");
  let first = true;

  async function load() {
    clearTimeout(timer);
    try {
      const stats = await api.call("GET", STATS_PATH);
      if (!isCurrent()) return;
      clear(problem);
      draw(meta, board, stats);
      const every = Math.min(60_000, Math.max(2_000, durationMs(stats.sampleInterval) || 10_000));
      timer = setTimeout(() => {
        if (isCurrent()) load();
      }, every);
    } catch (error) {
      if (!isCurrent() || !(error instanceof api.ApiError)) throw error;
      if (error.status === 403) return refused();
      // The charts drawn last stay below the message: stale, but still worth reading.
      clear(problem).append(failure(error, load));
      if (first) clear(board);
    } finally {
      first = false;
      main().removeAttribute("aria-busy");
    }
  }

  again.addEventListener("click", load);
  load();
}
