"""Envoy's bootstrap for the REST edge, built from envoy-data-plane's typed classes.

One HTTP listener whose routes are the `google.api.http` bindings of every service, each
matched as the client sends it (method and path) and sent to its service's cluster; the
`grpc_json_transcoder` filter turns the JSON into the gRPC call and back. Which routes need
a token comes from the services' own access policies: `jwt_authn` checks it at the edge
(and forwards it: the services verify it again). One HTTP/2 cluster per service, health
checked with `grpc.health.v1` under the service's name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import betterproto2
import yaml
from envoy_data_plane.envoy.config.accesslog.v3 import (
    AccessLog,
    AccessLogFilter,
    ComparisonFilter,
    ComparisonFilterOp,
    StatusCodeFilter,
)
from envoy_data_plane.envoy.config.bootstrap.v3 import Admin, Bootstrap, BootstrapStaticResources
from envoy_data_plane.envoy.config.cluster.v3 import Cluster, ClusterDiscoveryType
from envoy_data_plane.envoy.config.common.mutation_rules.v3 import HeaderMutation as MutationRule
from envoy_data_plane.envoy.config.core.v3 import (
    Address,
    DataSource,
    HeaderValue,
    HeaderValueOption,
    HeaderValueOptionHeaderAppendAction,
    HealthCheck,
    HealthCheckGrpcHealthCheck,
    HealthCheckHttpHealthCheck,
    Http2ProtocolOptions,
    HttpUri,
    RuntimeUInt32,
    SocketAddress,
    SubstitutionFormatString,
)
from envoy_data_plane.envoy.config.endpoint.v3 import (
    ClusterLoadAssignment,
    Endpoint,
    LbEndpoint,
    LocalityLbEndpoints,
)
from envoy_data_plane.envoy.config.listener.v3 import Filter, FilterChain, Listener
from envoy_data_plane.envoy.config.route.v3 import (
    DirectResponseAction,
    HeaderMatcher,
    RetryPolicy,
    RetryPolicyRetryBackOff,
    Route,
    RouteAction,
    RouteConfiguration,
    RouteMatch,
    VirtualHost,
)
from envoy_data_plane.envoy.extensions.access_loggers.stream.v3 import StdoutAccessLog
from envoy_data_plane.envoy.extensions.filters.http.buffer.v3 import Buffer
from envoy_data_plane.envoy.extensions.filters.http.cors.v3 import Cors, CorsPolicy
from envoy_data_plane.envoy.extensions.filters.http.grpc_json_transcoder.v3 import (
    GrpcJsonTranscoder,
    GrpcJsonTranscoderPrintOptions,
    GrpcJsonTranscoderRequestValidationOptions,
)
from envoy_data_plane.envoy.extensions.filters.http.header_mutation.v3 import (
    HeaderMutation,
    Mutations,
)
from envoy_data_plane.envoy.extensions.filters.http.jwt_authn.v3 import (
    JwksAsyncFetch,
    JwtAuthentication,
    JwtHeader,
    JwtProvider,
    JwtRequirement,
    PerRouteConfig,
    RemoteJwks,
)
from envoy_data_plane.envoy.extensions.filters.http.router.v3 import Router
from envoy_data_plane.envoy.extensions.filters.network.http_connection_manager.v3 import (
    HttpConnectionManager,
    HttpFilter,
    LocalReplyConfig,
    ResponseMapper,
)
from envoy_data_plane.envoy.extensions.upstreams.http.v3 import (
    HttpProtocolOptions,
    HttpProtocolOptionsExplicitHttpConfig,
)
from envoy_data_plane.envoy.type.matcher.v3 import RegexMatcher, StringMatcher
from envoy_data_plane.google.protobuf import Any as AnyMessage
from envoy_data_plane.google.protobuf import Struct
from google.protobuf.descriptor import ServiceDescriptor
from google.rpc import code_pb2

from gateway import docs, page
from gateway.forwarding import SESSION_COOKIE_RPCS
from gateway.headers import (
    API_POLICY,
    CORS_EXPOSED_HEADERS,
    CORS_MAX_AGE_SECONDS,
    CORS_METHODS,
    CORS_REQUEST_HEADERS,
    FIXED_HEADERS,
)
from gateway.httprule import method_bindings, parse_template
from services.kit.interceptors import Access, AccessPolicy

HEADERS_FILTER = "envoy.filters.http.header_mutation"
CORS_FILTER = "envoy.filters.http.cors"
#: Where a CORS preflight is routed so that the CORS filter, which needs a route to a cluster,
#: answers it; no endpoints: the filter answers every preflight itself.
PREFLIGHT_CLUSTER = "cors_preflight"
#: The gateway, for the pages it serves: the web page (gateway/page.py) and Swagger UI with
#: the OpenAPI document (gateway/docs.py), each with its files.
WEB_CLUSTER = "web"
WEB_PATHS = (page.PAGE_PATH, docs.DOCS_PATH, "/openapi.json")
WEB_PREFIXES = (f"{page.ASSETS_PATH}/", f"{docs.ASSETS_PATH}/")
JWT_FILTER = "envoy.filters.http.jwt_authn"
BUFFER_FILTER = "envoy.filters.http.buffer"
TRANSCODER_FILTER = "envoy.filters.http.grpc_json_transcoder"
ROUTER_FILTER = "envoy.filters.http.router"
HTTP_PROTOCOL_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
#: The jwt_authn provider (the auth service's keys) and the requirement routes name.
JWT_PROVIDER = "cinema_auth"
TOKEN_REQUIRED = "token"
#: The cluster the JWKS is fetched through: this listener itself, whose transcoder serves
#: `GetJwks` from the auth service (the auth service speaks gRPC only).
JWKS_CLUSTER = "edge_self"
JWKS_RPC = "cinema.auth.v1.AuthService.GetJwks"

#: What the access log writes for each request, one JSON object a line on stdout.
ACCESS_LOG_FORMAT: dict[str, str] = {
    "time": "%START_TIME%",
    "request_id": "%REQ(X-REQUEST-ID)%",
    "method": "%REQ(X-ENVOY-ORIGINAL-METHOD?:METHOD)%",
    "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
    "route": "%ROUTE_NAME%",
    "status": "%RESPONSE_CODE%",
    "flags": "%RESPONSE_FLAGS%",
    "details": "%RESPONSE_CODE_DETAILS%",
    "duration_ms": "%DURATION%",
    "upstream": "%UPSTREAM_CLUSTER%",
    "client": "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%",
    "bytes_received": "%BYTES_RECEIVED%",
    "bytes_sent": "%BYTES_SENT%",
    "user_agent": "%REQ(USER-AGENT)%",
}

#: Answers carry what the gateway's carry: nothing to sniff, frame or cache, no referrer.
SECURITY_HEADERS: dict[str, str] = {
    **FIXED_HEADERS,
    "content-security-policy": API_POLICY,
    "cache-control": "no-store",
}
#: gRPC's own headers, which the transcoder leaves on the HTTP answer.
GRPC_RESPONSE_HEADERS = ("grpc-status", "grpc-message", "grpc-accept-encoding")

#: What Envoy answers itself (a refused token, no route, a wrong method, a value that does not
#: fit its field, an oversized body, no healthy service) is a `google.rpc.Status` body like a
#: service's error: by HTTP status, the code (google.rpc's mapping read backwards) and, where
#: Envoy's own text would say nothing of use or too much, the message.
LOCAL_REPLIES: tuple[tuple[int, int, str | None], ...] = (
    (400, code_pb2.INVALID_ARGUMENT, None),
    (401, code_pb2.UNAUTHENTICATED, None),
    (403, code_pb2.PERMISSION_DENIED, None),
    (404, code_pb2.NOT_FOUND, "no route for %REQ(:METHOD)% %PATH(NQ)%"),
    (405, code_pb2.UNIMPLEMENTED, None),
    (413, code_pb2.RESOURCE_EXHAUSTED, None),
    (415, code_pb2.INVALID_ARGUMENT, None),
    (429, code_pb2.RESOURCE_EXHAUSTED, None),
    (431, code_pb2.RESOURCE_EXHAUSTED, None),
    (500, code_pb2.INTERNAL, "internal error"),
    (503, code_pb2.UNAVAILABLE, "service unavailable"),
    (504, code_pb2.DEADLINE_EXCEEDED, "deadline exceeded"),
)


@dataclass(frozen=True)
class HostPort:
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> HostPort:
        host, sep, port = text.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"expected HOST:PORT, got {text!r}")
        return cls(host.strip("[]"), int(port))

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class EdgeOptions:
    """Where the edge listens, where each service is, and its limits."""

    listen: HostPort
    admin: HostPort
    #: By cluster name (the service's short name: auth, catalog, likes, recommendations).
    upstreams: Mapping[str, HostPort]
    #: The path Envoy opens the transcoder's descriptor set at (relative: to Envoy's cwd).
    descriptor_path: str
    jwt_issuer: str
    jwt_audience: str
    #: A unary call's whole budget, retries included; also sent on as `grpc-timeout`.
    unary_timeout: timedelta = timedelta(seconds=10)
    #: A stream (WatchMyRecommendations) is closed after this long without a message.
    stream_idle_timeout: timedelta = timedelta(hours=1)
    #: How long the edge keeps the JWKS before fetching it again. New signing keys sign at
    #: once, so a token of a new key is refused at the edge until the next fetch.
    jwks_cache: timedelta = timedelta(seconds=30)
    max_request_body_bytes: int = 1024 * 1024
    max_response_body_bytes: int = 8 * 1024 * 1024
    max_request_headers_kb: int = 32
    health_check_interval: timedelta = timedelta(seconds=5)
    retries: int = 2
    #: Where the gateway serves the web page (`/` and `/web/…`, HTTP/1.1); None: no page.
    web: HostPort | None = None
    #: Origins whose pages may call the API from a browser, as the gateway's
    #: CINEMA_CORS_ORIGINS; none by default.
    cors_origins: tuple[str, ...] = ()


@dataclass(frozen=True)
class EdgeRoute:
    """One HTTP binding of one RPC, as the edge routes it."""

    name: str  # the RPC's full name, `#n` for the n-th additional binding
    service: str  # the service's full name
    cluster: str
    verb: str
    template: str
    needs_token: bool
    streaming: bool
    has_body: bool = False

    @property
    def idempotent(self) -> bool:
        return self.verb == "GET"

    @property
    def rpc_path(self) -> str:
        """`/cinema.auth.v1.AuthService/Login`: the RPC as gRPC names it."""
        method = self.name.removeprefix(f"{self.service}.").partition("#")[0]
        return f"/{self.service}/{method}"


def cluster_name(service: ServiceDescriptor) -> str:
    """`cinema.catalog.v1.CatalogService` -> `catalog`."""
    return service.full_name.split(".")[1]


def edge_routes(services: Iterable[ServiceDescriptor], access: AccessPolicy) -> list[EdgeRoute]:
    """Every client-callable binding, the most literal paths first (as the gateway orders)."""
    keyed: list[tuple[tuple[tuple[tuple[int, ...], int], str, str], EdgeRoute]] = []
    for service in services:
        for method in service.methods:
            if method.client_streaming:
                continue
            rpc = f"/{service.full_name}/{method.name}"
            for index, binding in enumerate(method_bindings(method)):
                name = f"{service.full_name}.{method.name}" + (f"#{index}" if index else "")
                route = EdgeRoute(
                    name=name,
                    service=service.full_name,
                    cluster=cluster_name(service),
                    verb=binding.verb,
                    template=binding.path.template,
                    needs_token=access.access(rpc) is not Access.PUBLIC,
                    streaming=method.server_streaming,
                    has_body=bool(binding.body),
                )
                keyed.append(((binding.path.sort_key, route.template, route.verb), route))
    return [route for _, route in sorted(keyed, key=lambda pair: pair[0])]


def template_regex(template: str) -> str | None:
    """An RE2 regex for the paths a `google.api.http` template matches; None if literal."""
    parse_template(template)  # the same grammar as the gateway's, refused the same way
    colon = template.rfind(":")
    verb = ""
    if colon > template.rfind("/") and colon > template.rfind("}"):
        template, verb = template[:colon], template[colon:]
    segments = re.findall(r"\{[^}]*\}|[^/{}]+", template)
    if not any(segment.startswith("{") or segment in ("*", "**") for segment in segments):
        return None
    parts: list[str] = []
    for segment in segments:
        if segment.startswith("{"):
            pattern = segment[1:-1].partition("=")[2] or "*"
            parts.append("/".join(_segment_regex(part) for part in pattern.split("/")))
        else:
            parts.append(_segment_regex(segment))
    return "/" + "/".join(parts) + re.escape(verb)


def _segment_regex(segment: str) -> str:
    return {"*": "[^/]+", "**": ".+"}.get(segment, re.escape(segment))


def _any(message: betterproto2.Message) -> AnyMessage:
    return AnyMessage.pack(message)


def _address(where: HostPort) -> Address:
    return Address(socket_address=SocketAddress(address=where.host, port_value=where.port))


def _match(template: str, headers: Sequence[HeaderMatcher] = ()) -> RouteMatch:
    regex = template_regex(template)
    if regex is None:
        return RouteMatch(path=template, headers=list(headers))
    return RouteMatch(safe_regex=RegexMatcher(regex=regex), headers=list(headers))


def _method(verb: str) -> HeaderMatcher:
    return HeaderMatcher(name=":method", string_match=StringMatcher(exact=verb))


def _routes(route: EdgeRoute, options: EdgeOptions) -> list[Route]:
    """The route of a binding, after its refusal of a body not labelled JSON, if it has one."""
    if not route.has_body:
        return [_route(route, options)]
    return [_not_json(route), _route(route, options)]


def _not_json(route: EdgeRoute) -> Route:
    """415 for a body labelled anything but JSON, as the gateway answers: a cross-site form
    (text/plain, a form encoding) cannot post to the API."""
    labelled = HeaderMatcher(name="content-type", present_match=True)
    not_json = HeaderMatcher(
        name="content-type",
        string_match=StringMatcher(
            safe_regex=RegexMatcher(regex=r"(?i)\s*application/json\s*(;.*)?"),
        ),
        invert_match=True,
    )
    # (The transcoder has relabelled the request application/grpc when this is written.)
    message = "the body must be JSON sent as application/json"
    return Route(
        name=f"{route.name} (not JSON)",
        match=_match(route.template, [_method(route.verb), labelled, not_json]),
        direct_response=_answer(415, message),
        typed_per_filter_config=_no_token_check(),
    )


def _route(route: EdgeRoute, options: EdgeOptions) -> Route:
    match = _match(route.template, [_method(route.verb)])
    # Reads are retried on UNAVAILABLE (and on a connection that failed or was reset);
    # writes only when the request cannot have reached the service.
    retry_on = (
        "unavailable,connect-failure,refused-stream,reset"
        if route.idempotent
        else "connect-failure,refused-stream"
    )
    retry = RetryPolicy(
        retry_on=retry_on,
        num_retries=options.retries,
        retry_back_off=RetryPolicyRetryBackOff(
            base_interval=timedelta(milliseconds=25), max_interval=timedelta(milliseconds=250)
        ),
    )
    if route.streaming:
        action = RouteAction(
            cluster=route.cluster,
            timeout=timedelta(0),
            idle_timeout=options.stream_idle_timeout,
            retry_policy=retry,
        )
        headers: list[HeaderValueOption] = []
    else:
        action = RouteAction(
            cluster=route.cluster, timeout=options.unary_timeout, retry_policy=retry
        )
        # The service learns the edge's deadline and stops (and passes it on) in time.
        headers = [_header("grpc-timeout", f"{int(options.unary_timeout.total_seconds())}S")]
    jwt = (
        PerRouteConfig(requirement_name=TOKEN_REQUIRED)
        if route.needs_token
        else PerRouteConfig(disabled=True)
    )
    return Route(
        name=route.name,
        match=match,
        route=action,
        request_headers_to_add=headers,
        # The browser's cookies (the refresh token's session cookie among them) reach only
        # the RPCs that read it, as through the gateway (gateway.forwarding).
        request_headers_to_remove=[] if route.rpc_path in SESSION_COOKIE_RPCS else ["cookie"],
        typed_per_filter_config={JWT_FILTER: _any(jwt)},
    )


def _wrong_method_routes(routes: Sequence[EdgeRoute]) -> list[Route]:
    """After every RPC's route: its path with any other method is 405, with `Allow`."""
    verbs: dict[str, set[str]] = {}
    for route in routes:
        verbs.setdefault(route.template, set()).add(route.verb)
    answers: list[Route] = []
    for template, allowed in verbs.items():
        listed = ", ".join(sorted(allowed))
        message = f"%REQ(:METHOD)% is not allowed on %PATH(NQ)%; allowed: {listed}"
        answers.append(
            Route(
                name=f"{template} (wrong method)",
                match=_match(template),
                direct_response=_answer(405, message),
                response_headers_to_add=[_header("allow", listed)],
                typed_per_filter_config=_no_token_check(),
            )
        )
    return answers


def _answer(status: int, message: str) -> DirectResponseAction:
    """Envoy answers itself; the message (command operators allowed) goes into the error
    body by `local_reply_config`."""
    return DirectResponseAction(
        status=status,
        body_format=SubstitutionFormatString(text_format_source=DataSource(inline_string=message)),
    )


def _no_token_check() -> dict[str, AnyMessage]:
    return {JWT_FILTER: _any(PerRouteConfig(disabled=True))}


def _header(name: str, value: str, if_absent: bool = False) -> HeaderValueOption:
    """`name: value`, replacing what is there (or, `if_absent`, leaving it)."""
    action = HeaderValueOptionHeaderAppendAction
    return HeaderValueOption(
        header=HeaderValue(key=name, value=value),
        append_action=action.ADD_IF_ABSENT if if_absent else action.OVERWRITE_IF_EXISTS_OR_ADD,
    )


def _answer_headers() -> HeaderMutation:
    """The security headers on every answer that has none of its own (the web page sets its
    own policy and caching); gRPC's own headers off it."""
    return HeaderMutation(
        mutations=Mutations(
            response_mutations=[
                *(MutationRule(remove=name) for name in GRPC_RESPONSE_HEADERS),
                *(
                    MutationRule(append=_header(k, v, if_absent=True))
                    for k, v in SECURITY_HEADERS.items()
                ),
            ]
        )
    )


def _cors_policy(origins: Sequence[str]) -> CorsPolicy:
    """The gateway's CORS rules: these origins, its methods and headers, no credentials."""
    return CorsPolicy(
        allow_origin_string_match=[StringMatcher(exact=origin) for origin in origins],
        allow_methods=", ".join(CORS_METHODS),
        allow_headers=", ".join(CORS_REQUEST_HEADERS),
        expose_headers=", ".join(CORS_EXPOSED_HEADERS),
        max_age=str(CORS_MAX_AGE_SECONDS),
        # Every preflight is answered here: one from another origin gets no CORS headers.
        forward_not_matching_preflights=False,
    )


def _preflight_route() -> Route:
    """CORS preflights (OPTIONS with Origin and Access-Control-Request-Method), any path."""
    present = [
        HeaderMatcher(name=name, present_match=True)
        for name in ("origin", "access-control-request-method")
    ]
    return Route(
        name="CORS preflight",
        match=RouteMatch(prefix="/", headers=[_method("OPTIONS"), *present]),
        route=RouteAction(cluster=PREFLIGHT_CLUSTER),
        typed_per_filter_config=_no_token_check(),
    )


def _web_routes() -> list[Route]:
    """The gateway's pages and their files; no token needed (a page has none yet)."""
    read = HeaderMatcher(
        name=":method", string_match=StringMatcher(safe_regex=RegexMatcher(regex="GET|HEAD"))
    )
    matches = [
        *(RouteMatch(path=path, headers=[read]) for path in WEB_PATHS),
        *(RouteMatch(prefix=prefix, headers=[read]) for prefix in WEB_PREFIXES),
    ]
    return [
        Route(
            name=f"web {match.path or match.prefix}",
            match=match,
            route=RouteAction(cluster=WEB_CLUSTER, timeout=timedelta(seconds=10)),
            typed_per_filter_config=_no_token_check(),
        )
        for match in matches
    ]


def _web_cluster(where: HostPort, options: EdgeOptions) -> Cluster:
    """The gateway over HTTP/1.1, health checked at its `/healthz`."""
    return Cluster(
        name=WEB_CLUSTER,
        type=ClusterDiscoveryType.STRICT_DNS,
        connect_timeout=timedelta(seconds=1),
        load_assignment=_endpoints(WEB_CLUSTER, where),
        health_checks=[
            _health_check(options, http_health_check=HealthCheckHttpHealthCheck(path="/healthz"))
        ],
    )


def _local_replies() -> LocalReplyConfig:
    """Envoy's own answers in the services' error body (see LOCAL_REPLIES)."""
    mappers = []
    for status, code, message in LOCAL_REPLIES:
        body = {"code": code, "message": message or "%LOCAL_REPLY_BODY%", "details": []}
        mappers.append(
            ResponseMapper(
                filter=AccessLogFilter(
                    status_code_filter=StatusCodeFilter(
                        comparison=ComparisonFilter(
                            op=ComparisonFilterOp.EQ, value=RuntimeUInt32(default_value=status)
                        )
                    )
                ),
                body_format_override=SubstitutionFormatString(json_format=Struct.from_dict(body)),
            )
        )
    unknown = {"code": code_pb2.UNKNOWN, "message": "%LOCAL_REPLY_BODY%", "details": []}
    return LocalReplyConfig(
        mappers=mappers,
        body_format=SubstitutionFormatString(json_format=Struct.from_dict(unknown)),
    )


def _self(options: EdgeOptions) -> HostPort:
    """Where Envoy reaches its own listener."""
    host = "127.0.0.1" if options.listen.host in ("0.0.0.0", "") else options.listen.host
    return HostPort(host, options.listen.port)


def _jwks_uri(routes: Sequence[EdgeRoute], options: EdgeOptions) -> str:
    (jwks,) = (route for route in routes if route.name == JWKS_RPC)
    return f"http://{_self(options)}{jwks.template}"


def _jwt_filter(routes: Sequence[EdgeRoute], options: EdgeOptions) -> JwtAuthentication:
    provider = JwtProvider(
        issuer=options.jwt_issuer,
        audiences=[options.jwt_audience],
        require_expiration=True,
        remote_jwks=RemoteJwks(
            http_uri=HttpUri(
                uri=_jwks_uri(routes, options),
                cluster=JWKS_CLUSTER,
                timeout=timedelta(seconds=2),
            ),
            cache_duration=options.jwks_cache,
            # The JWKS comes through this very listener: it cannot wait for the first fetch.
            async_fetch=JwksAsyncFetch(
                fast_listener=True, failed_refetch_duration=timedelta(seconds=1)
            ),
        ),
        # The header only (the default also reads `?access_token=`: no tokens in URLs), and
        # kept for the services, which verify the token again.
        from_headers=[JwtHeader(name="Authorization", value_prefix="Bearer ")],
        forward=True,
    )
    return JwtAuthentication(
        providers={JWT_PROVIDER: provider},
        requirement_map={TOKEN_REQUIRED: JwtRequirement(provider_name=JWT_PROVIDER)},
    )


def _transcoder(services: Sequence[str], options: EdgeOptions) -> GrpcJsonTranscoder:
    return GrpcJsonTranscoder(
        proto_descriptor=options.descriptor_path,
        services=list(services),
        # As the gateway renders: lowerCamelCase names, fields at their defaults printed.
        print_options=GrpcJsonTranscoderPrintOptions(
            always_print_primitive_fields=True,
            preserve_proto_field_names=False,
            stream_sse_style_delimited=True,
        ),
        # Routes match the HTTP request as sent; the transcoder must not re-route it.
        match_incoming_request_route=True,
        # As the gateway on GET: `?utm_source=`, a cache-busting `?_=` are ignored.
        ignore_unknown_query_parameters=True,
        query_param_unescape_plus=True,
        convert_grpc_status=True,
        # A path no RPC has goes on to the router, whose answer is the contract's: 404 for
        # an unknown path, 405 with `Allow` for a known path with a wrong method.
        request_validation_options=GrpcJsonTranscoderRequestValidationOptions(
            reject_unknown_method=False
        ),
        max_request_body_size=options.max_request_body_bytes,
        max_response_body_size=options.max_response_body_bytes,
    )


def _connection_manager(
    routes: Sequence[EdgeRoute], services: Sequence[str], options: EdgeOptions
) -> HttpConnectionManager:
    access_log = AccessLog(
        name="envoy.access_loggers.stdout",
        typed_config=_any(
            StdoutAccessLog(
                log_format=SubstitutionFormatString(json_format=Struct.from_dict(ACCESS_LOG_FORMAT))
            )
        ),
    )
    return HttpConnectionManager(
        stat_prefix="edge",
        route_config=RouteConfiguration(
            name="cinema",
            virtual_hosts=[
                VirtualHost(
                    name="cinema",
                    domains=["*"],
                    routes=[
                        *(each for route in routes for each in _routes(route, options)),
                        *([_preflight_route()] if options.cors_origins else []),
                        *(_web_routes() if options.web else []),
                        *_wrong_method_routes(routes),
                    ],
                    typed_per_filter_config=(
                        {CORS_FILTER: _any(_cors_policy(options.cors_origins))}
                        if options.cors_origins
                        else {}
                    ),
                )
            ],
        ),
        http_filters=[
            # First, so it sees every answer last: Envoy's own, and each after the transcoder
            # (which needs `grpc-status` to turn an error into its HTTP status).
            HttpFilter(name=HEADERS_FILTER, typed_config=_any(_answer_headers())),
            # A preflight from an allowed origin is answered before any token check.
            *(
                [HttpFilter(name=CORS_FILTER, typed_config=_any(Cors()))]
                if options.cors_origins
                else []
            ),
            HttpFilter(name=JWT_FILTER, typed_config=_any(_jwt_filter(routes, options))),
            # The body limit: the transcoder's own (below) does not hold for a body it can
            # transcode as it streams in; this is 413 as soon as the body passes the limit.
            HttpFilter(
                name=BUFFER_FILTER,
                typed_config=_any(Buffer(max_request_bytes=options.max_request_body_bytes)),
            ),
            HttpFilter(name=TRANSCODER_FILTER, typed_config=_any(_transcoder(services, options))),
            # No `x-envoy-upstream-service-time` (or other x-envoy-*) on the answers.
            HttpFilter(name=ROUTER_FILTER, typed_config=_any(Router(suppress_envoy_headers=True))),
        ],
        local_reply_config=_local_replies(),
        access_log=[access_log],
        # The edge: the client is the connection's peer, appended to X-Forwarded-For.
        use_remote_address=True,
        # A client's request id is kept (and sent on to the services), one is made otherwise.
        preserve_external_request_id=True,
        always_set_request_id_in_response=True,
        max_request_headers_kb=options.max_request_headers_kb,
        normalize_path=True,
        merge_slashes=True,
    )


def _service_cluster(name: str, service: str, where: HostPort, options: EdgeOptions) -> Cluster:
    http2 = HttpProtocolOptions(
        explicit_http_config=HttpProtocolOptionsExplicitHttpConfig(
            http2_protocol_options=Http2ProtocolOptions()
        )
    )
    return Cluster(
        name=name,
        type=ClusterDiscoveryType.STRICT_DNS,
        connect_timeout=timedelta(seconds=1),
        load_assignment=_endpoints(name, where),
        typed_extension_protocol_options={HTTP_PROTOCOL_OPTIONS: _any(http2)},
        health_checks=[
            _health_check(
                options, grpc_health_check=HealthCheckGrpcHealthCheck(service_name=service)
            )
        ],
    )


def _health_check(options: EdgeOptions, **kind: Any) -> HealthCheck:
    """An active health check of `kind` (gRPC's or HTTP's): down after 2 failures, up after 1."""
    return HealthCheck(
        timeout=timedelta(seconds=1),
        interval=options.health_check_interval,
        unhealthy_threshold=2,
        healthy_threshold=1,
        **kind,
    )


def _endpoints(name: str, where: HostPort) -> ClusterLoadAssignment:
    return ClusterLoadAssignment(
        cluster_name=name,
        endpoints=[
            LocalityLbEndpoints(
                lb_endpoints=[LbEndpoint(endpoint=Endpoint(address=_address(where)))]
            )
        ],
    )


def build_bootstrap(
    services: Sequence[ServiceDescriptor], access: AccessPolicy, options: EdgeOptions
) -> Bootstrap:
    """The whole static bootstrap: listener, routes, filters, clusters, admin."""
    routes = edge_routes(services, access)
    routed = sorted({route.service for route in routes})
    clusters = {route.cluster: route.service for route in routes}
    missing = sorted(set(clusters) - set(options.upstreams))
    if missing:
        raise ValueError(f"no upstream address for {', '.join(missing)}")
    jwks_cluster = Cluster(
        name=JWKS_CLUSTER,
        type=ClusterDiscoveryType.STRICT_DNS,
        connect_timeout=timedelta(seconds=1),
        load_assignment=_endpoints(JWKS_CLUSTER, _self(options)),
    )
    listener = Listener(
        name="http",
        address=_address(options.listen),
        filter_chains=[
            FilterChain(
                filters=[
                    Filter(
                        name="envoy.filters.network.http_connection_manager",
                        typed_config=_any(_connection_manager(routes, routed, options)),
                    )
                ]
            )
        ],
    )
    return Bootstrap(
        admin=Admin(address=_address(options.admin)),
        static_resources=BootstrapStaticResources(
            listeners=[listener],
            clusters=[
                *(
                    _service_cluster(name, clusters[name], options.upstreams[name], options)
                    for name in sorted(clusters)
                ),
                jwks_cluster,
                *(
                    [Cluster(name=PREFLIGHT_CLUSTER, type=ClusterDiscoveryType.STATIC)]
                    if options.cors_origins
                    else []
                ),
                *([_web_cluster(options.web, options)] if options.web else []),
            ],
        ),
    )


def render(bootstrap: Bootstrap, header: str) -> str:
    """The bootstrap as Envoy's YAML, snake_case as Envoy's docs write it, after `header`."""
    document: dict[str, Any] = _whole_numbers(bootstrap.to_dict(casing=betterproto2.Casing.SNAKE))
    body = yaml.safe_dump(document, sort_keys=False, default_flow_style=False, width=100)
    comment = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    return comment + body


def _whole_numbers(value: Any) -> Any:
    """`16` for a Struct's 16.0 (Struct numbers are doubles): Envoy reads `16.0` in a
    `json_format` as the string "16.0", and the error body's `code` must be a number."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(item) for item in value]
    return value
