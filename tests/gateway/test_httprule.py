"""Path templates from `google.api.http` rules, matched by Starlette in route order."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Match, Route

from gateway.httprule import parse_template


def _route(template: str) -> Route:
    async def endpoint(request: Request) -> Response:
        return PlainTextResponse(template)

    return Route(parse_template(template).starlette_path, endpoint)


def _first_match(templates: list[str], path: str) -> tuple[str, dict[str, str]] | None:
    ordered = sorted(templates, key=lambda template: parse_template(template).sort_key)
    for template in ordered:
        scope = {"type": "http", "path": path, "method": "GET"}
        match, child_scope = _route(template).matches(scope)
        if match == Match.FULL:
            return template, child_scope["path_params"]
    return None


def test_custom_verbs_win_over_path_parameters() -> None:
    templates = ["/v1/films/{film_id}", "/v1/films:search", "/v1/films/{film_id}:rate"]
    assert _first_match(templates, "/v1/films:search") == ("/v1/films:search", {})
    assert _first_match(templates, "/v1/films/tt1:rate") == (
        "/v1/films/{film_id}:rate",
        {"film_id": "tt1"},
    )
    assert _first_match(templates, "/v1/films/tt1") == ("/v1/films/{film_id}", {"film_id": "tt1"})


def test_variable_with_segment_pattern_binds_a_nested_field() -> None:
    template = "/v1/{film.name=films/*}:watch"
    assert parse_template(template).fields_by_param == {"film__name": "film.name"}
    assert _first_match([template], "/v1/films/tt1:watch") == (
        template,
        {"film__name": "films/tt1"},
    )
    assert _first_match([template], "/v1/persons/p1:watch") is None


def test_double_wildcard_spans_segments() -> None:
    template = "/v1/{path=files/**}"
    assert _first_match([template], "/v1/files/a/b/c") == (template, {"path": "files/a/b/c"})
