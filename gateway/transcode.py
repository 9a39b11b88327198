"""HTTP request parts -> request message, response message -> JSON (gRPC transcoding rules).

Fields come from the body (`body: "*"` or `body: "<field>"`), then query parameters,
then path parameters, which win. Every value goes through the proto3 JSON mapping of
`google.protobuf.json_format`, one field at a time, so an error names its field.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, cast

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message

from gateway.httprule import Binding

# Well-known types whose proto3 JSON form is a string, so a query parameter can set them.
_STRING_JSON_TYPES = frozenset(
    {
        "google.protobuf.Timestamp",
        "google.protobuf.Duration",
        "google.protobuf.FieldMask",
    }
)
_WRAPPER_TYPES = frozenset(
    f"google.protobuf.{name}Value"
    for name in ("Double", "Float", "Int64", "UInt64", "Int32", "UInt32", "Bool", "String", "Bytes")
)
URL_SETTABLE_TYPES = _STRING_JSON_TYPES | _WRAPPER_TYPES
# Message fields that json_format parses as a whole (no field-by-field walk).
_OPAQUE_JSON_TYPES = (
    _STRING_JSON_TYPES
    | _WRAPPER_TYPES
    | {
        "google.protobuf.Any",
        "google.protobuf.Struct",
        "google.protobuf.Value",
        "google.protobuf.ListValue",
        "google.protobuf.Empty",
    }
)
_SCALAR_TYPE_NAMES = {
    getattr(FieldDescriptor, name): name.removeprefix("TYPE_").lower()
    for name in dir(FieldDescriptor)
    if name.startswith("TYPE_")
}


class FieldViolation(Exception):
    """A request value that does not fit the request message; becomes HTTP 422."""

    def __init__(self, field: str, description: str) -> None:
        super().__init__(f"{field}: {description}" if field else description)
        self.field = field
        self.description = description


def build_request(
    message: Message,
    binding: Binding,
    path_params: Mapping[str, str],
    query: Iterable[tuple[str, str]],
    body: bytes,
) -> None:
    """Fill `message` from the body, the query string and the path, in that order."""
    if binding.body:
        document = _load_json(body)
        if binding.body == "*":
            merge_json(message, document, "")
        else:
            target, field = _resolve(message, binding.body)
            _set_field_json(target, field, document, binding.body)
    query_values: dict[str, tuple[Message, FieldDescriptor, list[str]]] = {}
    for name, value in query:
        if binding.body == "*":
            raise FieldViolation(name, "unexpected query parameter: the body holds the request")
        target, field = _resolve(message, name)
        # `film_ids` and `filmIds` name the same field: their values add up.
        query_values.setdefault(field.full_name, (target, field, []))[2].append(value)
    for target, field, values in query_values.values():
        _set_field_strings(target, field, values, field.name)
    for param, value in path_params.items():
        field_path = binding.path.fields_by_param.get(param)
        if field_path is not None:
            target, field = _resolve(message, field_path)
            _set_field_strings(target, field, [value], field_path)


def render(message: Message) -> dict[str, Any]:
    """Proto3 JSON of a message: lowerCamelCase names, fields without presence always shown."""
    return json_format.MessageToDict(
        message, preserving_proto_field_name=False, always_print_fields_with_no_presence=True
    )


def render_response(message: Message, response_body: str) -> Any:
    """The JSON of a response, or of the one field named by the rule's `response_body`."""
    document = render(message)
    if not response_body:
        return document
    field = message.DESCRIPTOR.fields_by_name[response_body]
    return document.get(field.json_name)


def merge_json(message: Message, document: object, path: str) -> None:
    """Merge a JSON object into `message`, naming the offending field on any error."""
    if not isinstance(document, dict):
        raise FieldViolation(path, f"expected a JSON object for {message.DESCRIPTOR.full_name}")
    for name, value in document.items():
        field = _field_by_any_name(message, name)
        if field is None:
            raise FieldViolation(_join(path, name), "unknown field")
        _set_field_json(message, field, value, _join(path, field.name))


def _set_field_json(message: Message, field: FieldDescriptor, value: object, path: str) -> None:
    if _walks_into(field) and value is not None:
        if field.is_repeated:
            if not isinstance(value, list):
                raise FieldViolation(path, "expected a JSON array")
            container = getattr(message, field.name)
            for index, item in enumerate(value):
                merge_json(container.add(), item, f"{path}[{index}]")
        else:
            child = getattr(message, field.name)
            child.SetInParent()
            merge_json(child, value, path)
        return
    try:
        json_format.ParseDict({field.name: value}, message)
    except json_format.ParseError as error:
        description = f"invalid value for a field of type {_type_name(field)}"
        raise FieldViolation(path, description) from error


def _set_field_strings(
    message: Message, field: FieldDescriptor, values: list[str], path: str
) -> None:
    """Set a field from path or query strings (repeated fields take every value)."""
    if field.is_repeated:
        _set_field_json(message, field, [_scalar(field, value, path) for value in values], path)
        return
    if len(values) > 1:
        raise FieldViolation(path, "more than one value for a non-repeated field")
    _set_field_json(message, field, _scalar(field, values[0], path), path)


def _scalar(field: FieldDescriptor, raw: str, path: str) -> object:
    """The JSON value a query or path string stands for; json_format checks the rest."""
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        name = message_type(field).full_name
        if name in _WRAPPER_TYPES:
            return _scalar(message_type(field).fields_by_name["value"], raw, path)
        if name not in URL_SETTABLE_TYPES:
            raise FieldViolation(path, "a message field cannot be set from the URL")
    if field.type == FieldDescriptor.TYPE_BOOL:
        if raw not in ("true", "false"):
            raise FieldViolation(path, "expected true or false")
        return raw == "true"
    return raw


def _resolve(message: Message, field_path: str) -> tuple[Message, FieldDescriptor]:
    """The message holding the last field of a dotted path, creating parents on the way."""
    *parents, last = field_path.split(".")
    target = message
    for index, name in enumerate(parents):
        field = _field_by_any_name(target, name)
        if field is None or field.type != FieldDescriptor.TYPE_MESSAGE or field.is_repeated:
            raise FieldViolation(".".join(parents[: index + 1]), "unknown field")
        target = getattr(target, field.name)
        target.SetInParent()
    field = _field_by_any_name(target, last)
    if field is None:
        raise FieldViolation(field_path, "unknown field")
    return target, field


def _load_json(body: bytes) -> object:
    if not body.strip():
        return {}
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FieldViolation("", f"malformed JSON body: {error}") from error


def _field_by_any_name(message: Message, name: str) -> FieldDescriptor | None:
    descriptor = cast(Descriptor, message.DESCRIPTOR)
    return next((f for f in descriptor.fields if name in (f.name, f.json_name)), None)


def _walks_into(field: FieldDescriptor) -> bool:
    return (
        field.type == FieldDescriptor.TYPE_MESSAGE
        and not message_type(field).GetOptions().map_entry
        and message_type(field).full_name not in _OPAQUE_JSON_TYPES
    )


def _type_name(field: FieldDescriptor) -> str:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return message_type(field).full_name
    if field.type == FieldDescriptor.TYPE_ENUM:
        return enum_type(field).full_name
    kind = _SCALAR_TYPE_NAMES[field.type]
    return f"repeated {kind}" if field.is_repeated else kind


def message_type(field: FieldDescriptor) -> Descriptor:
    if field.message_type is None:
        raise TypeError(f"{field.full_name} is not a message field")
    return field.message_type


def enum_type(field: FieldDescriptor) -> EnumDescriptor:
    if field.enum_type is None:
        raise TypeError(f"{field.full_name} is not an enum field")
    return field.enum_type


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
