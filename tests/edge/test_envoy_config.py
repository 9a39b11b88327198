"""envoy/envoy.yaml: generated, fresh, accepted by the real Envoy, and serving every HTTP rule.

The routes are checked against the descriptor set Envoy itself loads (not against the
generator's own view of the protos), and who needs a token against the access matrix's
table (tests/probes), not against the services' policies the generator reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor_pb2

from edge import generate
from tests.edge.envoy_files import (
    DESCRIPTORS,
    REPO,
    connection_manager,
    http_filter,
    load,
    routes,
)
from tests.probes.test_access_matrix import RULES, P

JWT = "envoy.filters.http.jwt_authn"
TRANSCODER = "envoy.filters.http.grpc_json_transcoder"


@dataclass(frozen=True)
class Rule:
    """One google.api.http binding of one RPC, as the descriptor set holds it."""

    rpc: str  # package.Service.Method
    name: str  # the route's expected name: the RPC, `#n` for the n-th additional binding
    service: str
    verb: str
    template: str
    streaming: bool
    body: str  # the rule's `body`: empty when the request has none


def _bindings(rule: http_pb2.HttpRule) -> list[tuple[str, str, str]]:
    found: list[tuple[str, str, str]] = []
    for one in [rule, *rule.additional_bindings]:
        pattern = one.WhichOneof("pattern")
        if pattern == "custom":
            found.append((one.custom.kind.upper(), one.custom.path, one.body))
        elif pattern is not None:
            found.append((pattern.upper(), str(getattr(one, pattern)), one.body))
    return found


def descriptor_rules() -> list[Rule]:
    files = descriptor_pb2.FileDescriptorSet.FromString(DESCRIPTORS.read_bytes()).file
    rules: list[Rule] = []
    for file in files:
        if not file.package.startswith("cinema."):
            continue
        for service in file.service:
            full = f"{file.package}.{service.name}"
            for method in service.method:
                if not method.options.HasExtension(annotations_pb2.http):
                    continue
                http = method.options.Extensions[annotations_pb2.http]
                for index, (verb, template, body) in enumerate(_bindings(http)):
                    rpc = f"{full}.{method.name}"
                    rules.append(
                        Rule(
                            rpc=rpc,
                            name=rpc + (f"#{index}" if index else ""),
                            service=full,
                            verb=verb,
                            template=template,
                            streaming=method.server_streaming,
                            body=body,
                        )
                    )
    return rules


def sample_path(template: str) -> str:
    """A concrete path the template matches: each variable filled with made-up segments."""

    def fill(variable: re.Match[str]) -> str:
        pattern = variable.group(1) or "*"
        return "/".join(
            {"*": "x-1", "**": "x-1/x-2"}.get(part, part) for part in pattern.split("/")
        )

    return re.sub(r"\{[^}=]+(?:=([^}]*))?\}", fill, template)


def matches(route: dict[str, Any], verb: str, path: str) -> bool:
    """Whether the route serves a JSON request of `verb` on `path`."""
    match = route["match"]
    headers = match.get("headers", [])
    methods = [h["string_match"]["exact"] for h in headers if h["name"] == ":method"]
    if methods != [verb]:
        return False
    if any(h["name"] == "content-type" for h in headers):
        return False  # the refusal of a body not labelled JSON
    if "path" in match:
        return bool(match["path"] == path)
    return re.fullmatch(match["safe_regex"]["regex"], path) is not None


RULE_LIST = descriptor_rules()


def test_the_transcoder_loads_the_descriptor_set_with_every_import() -> None:
    transcoder = http_filter(load(), TRANSCODER)
    assert (REPO / transcoder["proto_descriptor"]).resolve() == DESCRIPTORS
    files = descriptor_pb2.FileDescriptorSet.FromString(DESCRIPTORS.read_bytes()).file
    names = {file.name for file in files}
    for file in files:
        assert set(file.dependency) <= names, f"{file.name} misses an import"
    # The details our errors carry, for convert_grpc_status.
    assert {"google/rpc/status.proto", "google/rpc/error_details.proto"} <= names
    assert sorted(transcoder["services"]) == sorted({rule.service for rule in RULE_LIST})
    options = transcoder["print_options"]
    assert options["always_print_primitive_fields"] is True
    assert not options.get("preserve_proto_field_names", False)  # lowerCamelCase, as the gateway


@pytest.mark.parametrize("rule", RULE_LIST, ids=lambda rule: f"{rule.verb} {rule.template}")
def test_every_http_rule_is_routed_to_its_service(rule: Rule) -> None:
    config = load()
    path = sample_path(rule.template)
    found = next((r for r in routes(config) if matches(r, rule.verb, path)), None)
    assert found is not None, f"no route serves {rule.verb} {path} ({rule.rpc})"
    assert found["name"] == rule.name, f"{rule.verb} {path} goes to {found['name']}"
    action = found["route"]
    assert action["cluster"] == rule.service.split(".")[1]
    jwt = found["typed_per_filter_config"][JWT]
    if RULES[rule.rpc] is P:
        assert jwt == {"@type": jwt["@type"], "disabled": True}, rule.rpc
    else:
        assert jwt.get("requirement_name") == "token", f"{rule.rpc} must need a token at the edge"
    retry_on = set(action["retry_policy"]["retry_on"].split(","))
    assert ("unavailable" in retry_on) is (rule.verb == "GET"), rule.rpc
    if rule.streaming:
        assert action["timeout"] == "0s"
    else:
        assert action["timeout"] == "10s"


def test_no_route_serves_what_no_rule_declares() -> None:
    services = {rule.service.split(".")[1] for rule in RULE_LIST}
    served = [
        route for route in routes(load()) if route.get("route", {}).get("cluster") in services
    ]
    names = [route["name"] for route in served]
    assert sorted(names) == sorted(rule.name for rule in RULE_LIST)


def test_a_body_not_labelled_json_is_refused_before_each_route_with_a_body() -> None:
    listed = routes(load())
    for index, route in enumerate(listed):
        if not route["name"].endswith(" (not JSON)"):
            continue
        served = listed[index + 1]
        assert served["name"] == route["name"].removesuffix(" (not JSON)")
        assert route["match"]["headers"][0] == served["match"]["headers"][0]  # its method
        assert route["direct_response"]["status"] == 415
    with_body = {rule.name for rule in RULE_LIST if rule.body}
    refused = {r["name"].removesuffix(" (not JSON)") for r in listed if "(not JSON)" in r["name"]}
    assert refused == with_body


def test_a_known_path_with_a_wrong_method_is_405_listing_the_allowed_ones() -> None:
    listed = routes(load())
    wrong = {
        r["name"].removesuffix(" (wrong method)"): r
        for r in listed
        if "(wrong method)" in r["name"]
    }
    assert listed[-len(wrong) :] == list(wrong.values()), "after every RPC's route"
    for template, route in wrong.items():
        verbs = sorted({rule.verb for rule in RULE_LIST if rule.template == template})
        assert verbs, template
        assert route["direct_response"]["status"] == 405
        (allow,) = route["response_headers_to_add"]
        assert allow["header"] == {"key": "allow", "value": ", ".join(verbs)}


def test_each_service_has_a_health_checked_http2_cluster() -> None:
    clusters = {c["name"]: c for c in load()["static_resources"]["clusters"]}
    for service in sorted({rule.service for rule in RULE_LIST}):
        cluster = clusters[service.split(".")[1]]
        (check,) = cluster["health_checks"]
        assert check["grpc_health_check"]["service_name"] == service
        (options,) = cluster["typed_extension_protocol_options"].values()
        assert "http2_protocol_options" in options["explicit_http_config"]


def test_allowed_origins_get_the_gateways_cors_rules(tmp_path: Path) -> None:
    config = tmp_path / "envoy.yaml"
    origins = ["https://app.example", "https://partner.example"]
    generate.main(["--out", str(config), *(f"--cors-origin={origin}" for origin in origins)])
    manager = connection_manager(load(config))
    names = [f["name"] for f in manager["http_filters"]]
    assert names.index("envoy.filters.http.cors") < names.index(JWT), "preflights need no token"
    (host,) = manager["route_config"]["virtual_hosts"]
    (policy,) = host["typed_per_filter_config"].values()
    assert [m["exact"] for m in policy["allow_origin_string_match"]] == origins
    assert policy["allow_methods"] == "GET, POST, PUT, PATCH, DELETE"
    preflight = next(r for r in host["routes"] if r["name"] == "CORS preflight")
    assert {h["name"] for h in preflight["match"]["headers"]} == {
        ":method",
        "origin",
        "access-control-request-method",
    }
    plain = connection_manager(load())
    assert "envoy.filters.http.cors" not in [f["name"] for f in plain["http_filters"]]


def test_the_gateways_pages_pass_through_without_a_token_check() -> None:
    listed = {r["name"]: r for r in routes(load()) if r.get("route", {}).get("cluster") == "web"}
    assert set(listed) == {
        "web /",
        "web /docs",
        "web /openapi.json",
        "web /web/",
        "web /docs/static/",
    }
    for route in listed.values():
        assert route["typed_per_filter_config"][JWT]["disabled"] is True
    (web,) = (c for c in load()["static_resources"]["clusters"] if c["name"] == "web")
    (check,) = web["health_checks"]
    assert check["http_health_check"]["path"] == "/healthz"
    (endpoint,) = web["load_assignment"]["endpoints"][0]["lb_endpoints"]
    assert endpoint["endpoint"]["address"]["socket_address"]["port_value"] == 8000


def test_the_browsers_cookies_reach_only_the_session_cookie_rpcs() -> None:
    session = {"AuthService.Login", "AuthService.Refresh", "AuthService.Logout"}
    services = {rule.service.split(".")[1] for rule in RULE_LIST}
    for route in routes(load()):
        if route.get("route", {}).get("cluster") not in services:
            continue
        removed = route.get("request_headers_to_remove", [])
        if route["name"].removeprefix("cinema.auth.v1.") in session:
            assert "cookie" not in removed, route["name"]
        else:
            assert removed == ["cookie"], route["name"]
