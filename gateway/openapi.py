"""OpenAPI for the generic routes: parameters and proto3-JSON schemas from the descriptors."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from google.protobuf.descriptor import (
    Descriptor,
    FieldDescriptor,
    MethodDescriptor,
    ServiceDescriptor,
)

from gateway.comments import comment
from gateway.httprule import Binding, method_bindings
from gateway.transcode import URL_SETTABLE_TYPES, enum_type, message_type

Schema = dict[str, Any]

ERROR_SCHEMA_NAME = "Error"
_ERROR_SCHEMA: Schema = {
    "type": "object",
    "description": "A failed call: a google.rpc.Status (the code's number, a message and"
    " google.rpc details).",
    "properties": {
        "code": {"type": "integer", "format": "int32", "example": 5},
        "message": {"type": "string"},
        "details": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["code", "message", "details"],
}

_T = FieldDescriptor
_SCALARS: dict[int, Schema] = {
    _T.TYPE_DOUBLE: {"type": "number", "format": "double"},
    _T.TYPE_FLOAT: {"type": "number", "format": "float"},
    _T.TYPE_INT32: {"type": "integer", "format": "int32"},
    _T.TYPE_SINT32: {"type": "integer", "format": "int32"},
    _T.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    _T.TYPE_UINT32: {"type": "integer", "format": "uint32", "minimum": 0},
    _T.TYPE_FIXED32: {"type": "integer", "format": "uint32", "minimum": 0},
    _T.TYPE_INT64: {"type": "string", "format": "int64"},
    _T.TYPE_SINT64: {"type": "string", "format": "int64"},
    _T.TYPE_SFIXED64: {"type": "string", "format": "int64"},
    _T.TYPE_UINT64: {"type": "string", "format": "uint64"},
    _T.TYPE_FIXED64: {"type": "string", "format": "uint64"},
    _T.TYPE_BOOL: {"type": "boolean"},
    _T.TYPE_STRING: {"type": "string"},
    _T.TYPE_BYTES: {"type": "string", "format": "byte"},
}

# Well-known types have their own JSON form, so they are inlined rather than referenced.
_WELL_KNOWN: dict[str, Schema] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "pattern": r"^-?\d+(\.\d+)?s$"},
    "google.protobuf.FieldMask": {"type": "string"},
    "google.protobuf.Empty": {"type": "object"},
    "google.protobuf.Struct": {"type": "object", "additionalProperties": True},
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array", "items": {}},
    "google.protobuf.Any": {
        "type": "object",
        "properties": {"@type": {"type": "string"}},
        "additionalProperties": True,
    },
    **{
        f"google.protobuf.{name}Value": {
            **_SCALARS[number],
            "type": [_SCALARS[number]["type"], "null"],
        }
        for name, number in (
            ("Double", _T.TYPE_DOUBLE),
            ("Float", _T.TYPE_FLOAT),
            ("Int64", _T.TYPE_INT64),
            ("UInt64", _T.TYPE_UINT64),
            ("Int32", _T.TYPE_INT32),
            ("UInt32", _T.TYPE_UINT32),
            ("Bool", _T.TYPE_BOOL),
            ("String", _T.TYPE_STRING),
            ("Bytes", _T.TYPE_BYTES),
        )
    },
}


#: How a caller proves who they are; public routes take the token too, and use it.
BEARER_SCHEME: Schema = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT",
    "description": "An access token from `POST /v1/auth/login`. The signed-in user's routes "
    "(`/v1/me/...`, `/v1/auth/me`) need it; public routes accept it too.",
}


def operation_description(method: MethodDescriptor) -> str:
    """The method's comment in the proto, and the RPC the route calls."""
    text = comment(method.full_name)
    return f"{text}\n\nRPC `{method.full_name}`." if text else f"RPC `{method.full_name}`."


def tags(services: Iterable[ServiceDescriptor]) -> list[Schema]:
    """One tag per service, described by the service's comment."""
    return [{"name": s.full_name, "description": comment(s.full_name)} for s in services]


def schema_ref(descriptor: Descriptor) -> Schema:
    if descriptor.full_name in _WELL_KNOWN:
        return dict(_WELL_KNOWN[descriptor.full_name])
    return {"$ref": f"#/components/schemas/{descriptor.full_name}"}


def component_schemas(methods: Iterable[MethodDescriptor]) -> dict[str, Schema]:
    """Schemas of every message the methods take or return, by full name, plus `Error`."""
    schemas: dict[str, Schema] = {ERROR_SCHEMA_NAME: _ERROR_SCHEMA}
    for method in methods:
        _collect(method.input_type, schemas)
        _collect(method.output_type, schemas)
    return schemas


def operation_extra(method: MethodDescriptor, binding: Binding) -> dict[str, Any]:
    """The parts of an operation FastAPI cannot infer from a generic handler."""
    path_fields = set(binding.path.fields_by_param.values())
    parameters = [
        {
            "name": param,
            "in": "path",
            "required": True,
            **_described(_field_at(method.input_type, field_path)),
        }
        for param, field_path in binding.path.fields_by_param.items()
    ]
    if binding.body != "*":
        parameters += [
            {"name": name, "in": "query", "required": False, **_described(field)}
            for name, field in _query_fields(method.input_type, "", frozenset())
            if name not in path_fields and name.split(".")[0] != binding.body
        ]
    media_type = "text/event-stream" if method.server_streaming else "application/json"
    extra: dict[str, Any] = {
        "parameters": parameters,
        "responses": {
            "200": {
                "description": "A stream of messages, one per event."
                if method.server_streaming
                else "Success.",
                "content": {media_type: {"schema": _response_schema(method, binding)}},
            },
            "default": {
                "description": "Error.",
                "content": {
                    "application/json": {
                        "schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA_NAME}"}
                    }
                },
            },
        },
    }
    if binding.body:
        body_schema = (
            schema_ref(method.input_type)
            if binding.body == "*"
            else _field_schema(method.input_type.fields_by_name[binding.body])
        )
        extra["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body_schema}},
        }
    return extra


def annotated_methods(methods: Iterable[MethodDescriptor]) -> list[MethodDescriptor]:
    return [method for method in methods if method_bindings(method)]


def _response_schema(method: MethodDescriptor, binding: Binding) -> Schema:
    if binding.response_body:
        return _field_schema(method.output_type.fields_by_name[binding.response_body])
    return schema_ref(method.output_type)


def _collect(descriptor: Descriptor, schemas: dict[str, Schema]) -> None:
    if descriptor.full_name in _WELL_KNOWN or descriptor.full_name in schemas:
        return
    properties: Schema = {}
    schemas[descriptor.full_name] = {
        "type": "object",
        "description": comment(descriptor.full_name),
        "properties": properties,
    }
    for field in descriptor.fields:
        properties[field.json_name] = {
            **_field_schema(field),
            "description": comment(field.full_name),
        }
        if field.type == _T.TYPE_MESSAGE:
            if message_type(field).GetOptions().map_entry:
                value = message_type(field).fields_by_name["value"]
                if value.type == _T.TYPE_MESSAGE:
                    _collect(message_type(value), schemas)
            else:
                _collect(message_type(field), schemas)


def _described(field: FieldDescriptor) -> Schema:
    """A parameter's schema and its description: the field's comment in the proto."""
    return {"description": comment(field.full_name), "schema": _field_schema(field)}


def _field_schema(field: FieldDescriptor) -> Schema:
    if field.type == _T.TYPE_MESSAGE and message_type(field).GetOptions().map_entry:
        value = message_type(field).fields_by_name["value"]
        return {"type": "object", "additionalProperties": _single_schema(value)}
    single = _single_schema(field)
    return {"type": "array", "items": single} if field.is_repeated else single


def _single_schema(field: FieldDescriptor) -> Schema:
    if field.type == _T.TYPE_MESSAGE:
        return schema_ref(message_type(field))
    if field.type == _T.TYPE_ENUM:
        return {"type": "string", "enum": [value.name for value in enum_type(field).values]}
    return dict(_SCALARS[field.type])


def _query_fields(
    descriptor: Descriptor, prefix: str, seen: frozenset[str]
) -> list[tuple[str, FieldDescriptor]]:
    """Fields a query parameter can set: scalars, enums, repeated scalars, nested by dots."""
    fields: list[tuple[str, FieldDescriptor]] = []
    for field in descriptor.fields:
        name = f"{prefix}{field.name}"
        nested = message_type(field) if field.type == _T.TYPE_MESSAGE else None
        if nested is None or nested.full_name in URL_SETTABLE_TYPES:
            fields.append((name, field))
        elif nested.full_name in _WELL_KNOWN or field.is_repeated:
            continue
        elif nested.full_name not in seen:
            fields += _query_fields(nested, f"{name}.", seen | {descriptor.full_name})
    return fields


def _field_at(descriptor: Descriptor, field_path: str) -> FieldDescriptor:
    *parents, last = field_path.split(".")
    for name in parents:
        descriptor = message_type(descriptor.fields_by_name[name])
    return descriptor.fields_by_name[last]
