// Quickstart: register (or log in), search a film, like it, read recommendations.
//
//   npm ci && npm run generate && npm run build
//   node dist/quickstart.js 127.0.0.1:50051        # or CINEMA_GRPC_ADDRESS=...
//
// Environment (all optional): CINEMA_GRPC_ADDRESS (host:port or http://host:port, where
// every service answers, as with `cinema up`), CINEMA_AUTH_ADDRESS, CINEMA_CATALOG_ADDRESS,
// CINEMA_LIKES_ADDRESS and CINEMA_RECOMMENDATIONS_ADDRESS (one service's own address, as in
// production: `make run-prod` has them on 50061 to 50064; each defaults to the first),
// CINEMA_LOGIN and CINEMA_PASSWORD (default: a fresh account), CINEMA_QUERY (default
// "matrix"), CINEMA_TOKEN (an access token to use instead of registering).
// On an RPC error it prints the gRPC code and exits with its number (NOT_FOUND: 5).

import { randomBytes } from "node:crypto";

import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";

import { AuthService } from "./gen/cinema/auth/v1/auth_pb.js";
import { CatalogService } from "./gen/cinema/catalog/v1/catalog_pb.js";
import { LikesService, Rating } from "./gen/cinema/likes/v1/likes_pb.js";
import {
  type Recommendation,
  RecommendationService,
  Source,
} from "./gen/cinema/recommendations/v1/recommendations_pb.js";
import { BadRequestSchema, RetryInfoSchema } from "./gen/google/rpc/error_details_pb.js";

const address = process.argv[2] ?? process.env.CINEMA_GRPC_ADDRESS ?? "127.0.0.1:50051";
const urlOf = (where: string): string => (/^https?:\/\//.test(where) ? where : `http://${where}`);
const serviceUrl = (variable: string): string => urlOf(process.env[variable] || address);

// One HTTP/2 connection per address, shared by the services there; closed at the end so
// that Node exits at once.
const sessions = new Map<string, Http2SessionManager>();

// The token, once there is one, goes with every call as `authorization: Bearer <token>`.
let accessToken: string | undefined = process.env.CINEMA_TOKEN || undefined;
const bearer: Interceptor = (next) => (request) => {
  if (accessToken !== undefined) {
    request.header.set("authorization", `Bearer ${accessToken}`);
  }
  return next(request);
};

function transportFor(baseUrl: string) {
  let sessionManager = sessions.get(baseUrl);
  if (sessionManager === undefined) {
    sessionManager = new Http2SessionManager(baseUrl);
    sessions.set(baseUrl, sessionManager);
  }
  return createGrpcTransport({
    baseUrl,
    sessionManager,
    interceptors: [bearer],
    defaultTimeoutMs: 10_000, // a deadline on every call; the servers honour it
  });
}

function closeSessions(): void {
  for (const session of sessions.values()) session.abort();
}

const auth = createClient(AuthService, transportFor(serviceUrl("CINEMA_AUTH_ADDRESS")));
const catalog = createClient(CatalogService, transportFor(serviceUrl("CINEMA_CATALOG_ADDRESS")));
const likes = createClient(LikesService, transportFor(serviceUrl("CINEMA_LIKES_ADDRESS")));
const recommendations = createClient(
  RecommendationService,
  transportFor(serviceUrl("CINEMA_RECOMMENDATIONS_ADDRESS")),
);

/** "NotFound" (Connect's name for code 5) as gRPC spells it: "NOT_FOUND". */
function grpcName(code: Code): string {
  return (Code[code] ?? "UNKNOWN").replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

function describe(item: Recommendation, index: number): string {
  const film = item.film;
  const year = film?.year !== undefined ? ` (${film.year})` : "";
  const sources = item.sources.map((source) => Source[source] ?? String(source)).join(",");
  return `  ${index}. ${film?.title ?? "?"}${year} score=${item.score.toFixed(3)} [${sources}] ${film?.id ?? ""}`;
}

async function signIn(): Promise<void> {
  if (accessToken !== undefined) {
    console.log("using the token from CINEMA_TOKEN");
    return;
  }
  const login = process.env.CINEMA_LOGIN ?? `ts-${randomBytes(4).toString("hex")}`;
  const password = process.env.CINEMA_PASSWORD ?? `pw-${randomBytes(12).toString("hex")}`;
  try {
    const registered = await auth.register({ login, password });
    console.log(`registered ${login} (user ${registered.user?.id})`);
  } catch (error) {
    // An existing account is fine: log in with it.
    if (ConnectError.from(error).code !== Code.AlreadyExists) throw error;
    console.log(`${login} exists; logging in`);
  }
  const { tokens, user } = await auth.login({ login, password });
  accessToken = tokens?.accessToken;
  console.log(`logged in as ${user?.login} (user ${user?.id})`);
}

async function main(): Promise<void> {
  await signIn();

  const query = process.env.CINEMA_QUERY ?? "matrix";
  const found = await catalog.searchFilms({ query, pageSize: 5 });
  const film = found.films[0];
  if (film === undefined) {
    throw new ConnectError(`no film matches "${query}"`, Code.NotFound);
  }
  console.log(`found: ${film.title} (${film.year ?? "?"}) ${film.id} of ${found.totalSize} matches`);

  const rated = await likes.rateFilm({ filmId: film.id, rating: Rating.LIKE });
  console.log(`liked: ${film.title} changed=${rated.changed}`);

  // Page through the list: each answer's nextPageToken asks for the next page; "" is the end.
  let pageToken = "";
  let shown = 0;
  for (let page = 1; page <= 2; page++) {
    const answer = await recommendations.getMyRecommendations({ pageSize: 5, pageToken });
    if (page === 1) {
      const generated = answer.generateTime
        ? new Date(Number(answer.generateTime.seconds) * 1000).toISOString()
        : "never";
      console.log(`recommendations: fallback=${answer.fallback} generated=${generated}`);
    }
    for (const item of answer.items) console.log(describe(item, ++shown));
    pageToken = answer.nextPageToken;
    if (pageToken === "") break;
  }
  console.log(`recommendations shown: ${shown}`);

  // A server stream: the current list first, then one each time it changes. Stop after the
  // first one by aborting the call (the server sees CANCELLED).
  const stop = new AbortController();
  for await (const update of recommendations.watchMyRecommendations(
    { pageSize: 3 },
    { signal: stop.signal, timeoutMs: 0 },
  )) {
    console.log(`watch: a list of ${update.items.length} (fallback=${update.fallback})`);
    stop.abort();
    break;
  }
}

main()
  .then(() => {
    closeSessions();
    console.log("done");
  })
  .catch((error: unknown) => {
    const failure = ConnectError.from(error);
    console.error(`error: ${grpcName(failure.code)} (${failure.code}): ${failure.rawMessage}`);
    for (const detail of failure.findDetails(BadRequestSchema)) {
      for (const violation of detail.fieldViolations) {
        console.error(`  field ${violation.field}: ${violation.description}`);
      }
    }
    for (const retry of failure.findDetails(RetryInfoSchema)) {
      console.error(`  retry after ${retry.retryDelay?.seconds ?? 0n} s`);
    }
    closeSessions();
    process.exit(failure.code); // Connect codes are the gRPC numbers, 1 to 16
  });
