"""`google.api.http` rules: read them from method descriptors, turn templates into routes.

The template grammar is the one in `google/api/http.proto`:

    Template = "/" Segments [ Verb ] ;
    Segment  = "*" | "**" | LITERAL | Variable ;
    Variable = "{" FieldPath [ "=" Segments ] "}" ;
    Verb     = ":" LITERAL ;
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from google.api import annotations_pb2, http_pb2
from google.protobuf.descriptor import MethodDescriptor
from starlette.convertors import CONVERTOR_TYPES, Convertor, register_url_convertor

_VERBS = ("get", "put", "post", "delete", "patch")
_SINGLE_SEGMENT = "[^/]+"
_ANY_SEGMENTS = ".+"

# Sort ranks: the more literal a segment, the earlier its route is tried.
_LITERAL, _PATTERN_VARIABLE, _SINGLE_VARIABLE, _MULTI_VARIABLE = range(4)


@dataclass(frozen=True)
class PathTemplate:
    """A parsed template: its Starlette path and which path parameter fills which field."""

    template: str
    starlette_path: str
    fields_by_param: dict[str, str]
    sort_key: tuple[tuple[int, ...], int]


@dataclass(frozen=True)
class Binding:
    """One HTTP binding of an RPC (the main rule or one of its additional bindings)."""

    verb: str
    path: PathTemplate
    body: str
    response_body: str


# Method options are typed `Any` below: the stubs cannot type extensions found at run time.


def method_bindings(method: MethodDescriptor) -> list[Binding]:
    """All HTTP bindings of a method; empty when it has no `google.api.http` option."""
    options: Any = method.GetOptions()
    if not options.HasExtension(annotations_pb2.http):
        return []
    rule: http_pb2.HttpRule = options.Extensions[annotations_pb2.http]
    return [_binding(rule), *(_binding(extra) for extra in rule.additional_bindings)]


def _binding(rule: http_pb2.HttpRule) -> Binding:
    pattern = rule.WhichOneof("pattern")
    if pattern in _VERBS:
        verb, template = pattern.upper(), str(getattr(rule, pattern))
    elif pattern == "custom":
        verb, template = rule.custom.kind.upper(), rule.custom.path
    else:
        raise ValueError(f"HTTP rule without a pattern: {rule}")
    return Binding(verb, parse_template(template), rule.body, rule.response_body)


def parse_template(template: str) -> PathTemplate:
    """Convert a `google.api.http` path template into a Starlette path."""
    if not template.startswith("/"):
        raise ValueError(f"path template must start with '/': {template!r}")
    path, verb = _split_verb(template)
    parts: list[str] = []
    ranks: list[int] = []
    fields_by_param: dict[str, str] = {}
    for index, segment in enumerate(_split_segments(path[1:])):
        if segment.startswith("{"):
            field_path, _, pattern = segment[1:-1].partition("=")
            param = _param_name(field_path)
            fields_by_param[param] = field_path
        else:
            pattern, param = segment, f"wildcard{index}"
            if segment not in ("*", "**"):
                parts.append(segment)
                ranks.append(_LITERAL)
                continue
        part, rank = _variable(param, pattern or "*")
        parts.append(part)
        ranks.append(rank)
    starlette_path = "/" + "/".join(parts) + (f":{verb}" if verb else "")
    return PathTemplate(template, starlette_path, fields_by_param, (tuple(ranks), 0 if verb else 1))


def _split_verb(template: str) -> tuple[str, str]:
    colon = template.rfind(":")
    if colon > template.rfind("/") and colon > template.rfind("}"):
        return template[:colon], template[colon + 1 :]
    return template, ""


def _split_segments(path: str) -> list[str]:
    segments: list[str] = []
    current: list[str] = []
    depth = 0
    for char in path:
        if char == "/" and depth == 0:
            segments.append("".join(current))
            current = []
            continue
        depth += {"{": 1, "}": -1}.get(char, 0)
        current.append(char)
    segments.append("".join(current))
    if depth != 0 or any(not segment for segment in segments):
        raise ValueError(f"malformed path template: /{path}")
    return segments


def _param_name(field_path: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", field_path):
        raise ValueError(f"bad field path in path template: {field_path!r}")
    return field_path.replace(".", "__")


def _variable(param: str, pattern: str) -> tuple[str, int]:
    if pattern == "*":
        return f"{{{param}}}", _SINGLE_VARIABLE
    if pattern == "**":
        return f"{{{param}:path}}", _MULTI_VARIABLE
    regex = "/".join(
        {"*": _SINGLE_SEGMENT, "**": _ANY_SEGMENTS}.get(part, re.escape(part))
        for part in pattern.split("/")
    )
    return f"{{{param}:{_register_convertor(regex)}}}", _PATTERN_VARIABLE


def _register_convertor(regex: str) -> str:
    """Starlette convertors are global, so name them by their regex to register each once."""
    name = "grpc_" + hashlib.sha1(regex.encode()).hexdigest()[:12]
    if name not in CONVERTOR_TYPES:
        register_url_convertor(name, _pattern_convertor(regex))
    return name


def _pattern_convertor(pattern: str) -> Convertor[str]:
    class PatternConvertor(Convertor[str]):
        regex = pattern

        def convert(self, value: str) -> str:
            return value

        def to_string(self, value: str) -> str:
            return value

    return PatternConvertor()
