"""HTTP request parts -> request message, response message -> JSON (gRPC transcoding rules).

Fields come from the body (`body: "*"` or `body: "<field>"`), then query parameters,
then path parameters, which win. Every value goes through the proto3 JSON mapping of
`google.protobuf.json_format`, one field at a time, so an error names its field.
"""

from __future__ import annotations

import json
from collections import OrderedDict
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
#: Deepest JSON a request body may nest (objects and arrays); no message here needs more.
MAX_JSON_DEPTH = 64
_TOO_DEEP = f"JSON body nested deeper than {MAX_JSON_DEPTH} levels"
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
    """Fill `message` from the body, the query string and the path, in that order.

    A query parameter that names no field (`utm_source`, a cache-busting `_`) is ignored,
    as Envoy's transcoder (`ignore_unknown_query_parameters`) and grpc-gateway do; with a
    `*` body, the body holds the whole request and the query string is not read.
    """
    if binding.body:
        document = load_json(body)
        if binding.body == "*":
            merge_json(message, document, "")
        else:
            target, field = _resolve(message, binding.body)
            _set_field_json(target, field, document, binding.body)
    query_values: dict[str, tuple[Message, FieldDescriptor, list[str]]] = {}
    for name, value in query:
        if binding.body == "*" or _lookup(_descriptor(message), name) is None:
            continue
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


def load_json(body: bytes) -> object:
    """The JSON document of a request body; nesting deeper than `MAX_JSON_DEPTH` is refused.

    The parser itself recurses, so a deep document would otherwise end in RecursionError.
    """
    if not body.strip():
        return {}
    try:
        document = json.loads(body)
    except RecursionError:
        raise FieldViolation("", _TOO_DEEP) from None
    except json.JSONDecodeError as error:
        description = (
            f"malformed JSON body: {error.msg} (line {error.lineno}, column {error.colno})"
        )
        raise FieldViolation("", description) from None
    except UnicodeDecodeError:
        raise FieldViolation("", "malformed JSON body: not UTF-8") from None
    except ValueError:
        # Python refuses to convert integers of thousands of digits.
        raise FieldViolation("", "malformed JSON body: a number is too long") from None
    if _deeper_than(document, MAX_JSON_DEPTH):
        raise FieldViolation("", _TOO_DEEP)
    return document


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


def dump_json(document: Any) -> bytes:
    """JSON bytes exactly as Starlette's JSONResponse renders them (compact, UTF-8)."""
    return json.dumps(
        document, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")


class RenderedReplies:
    """The JSON bodies of recent replies, by route and the reply's wire bytes.

    The same bytes always render the same JSON, so a reply seen before (a popular film, a
    warm list asked for again) is neither parsed nor rendered again. Least recently used
    entries go once keys and bodies together pass `max_bytes`; larger replies are never kept.
    """

    def __init__(self, max_bytes: int = 8 * 1024 * 1024, max_entry_bytes: int = 256 * 1024) -> None:
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes
        self._entries: OrderedDict[tuple[str, bytes], bytes] = OrderedDict()
        self._size = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> int:
        return self._size

    def body(self, wire: bytes, reply_class: type[Message], response_body: str) -> bytes:
        """The JSON of `wire` (a `reply_class`), or of its field `response_body` when set."""
        key = (f"{reply_class.DESCRIPTOR.full_name}:{response_body}", wire)
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
            return found
        body = dump_json(render_response(reply_class.FromString(wire), response_body))
        size = len(wire) + len(body)
        if size <= self.max_entry_bytes:
            self._entries[key] = body
            self._size += size
            while self._size > self.max_bytes:
                (_, old_wire), old_body = self._entries.popitem(last=False)
                self._size -= len(old_wire) + len(old_body)
        return body


def merge_json(message: Message, document: object, path: str) -> None:
    """Merge a JSON object into `message`, naming the offending field on any error."""
    if not isinstance(document, dict):
        raise FieldViolation(path, f"expected a JSON object for {message.DESCRIPTOR.full_name}")
    for name, value in document.items():
        field = _field_by_any_name(_descriptor(message), name)
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
        raise FieldViolation(path, _invalid_value(field)) from error


def _invalid_value(field: FieldDescriptor) -> str:
    if field.type != FieldDescriptor.TYPE_ENUM:
        return f"invalid value for a field of type {_type_name(field)}"
    enum = enum_type(field)
    # The zero `..._UNSPECIFIED` parses, but no RPC accepts it as a choice.
    allowed = [
        v.name for v in enum.values if not (v.number == 0 and v.name.endswith("_UNSPECIFIED"))
    ]
    return f"invalid value for enum {enum.full_name}: expected one of {', '.join(allowed)}"


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
    fields = _lookup(_descriptor(message), field_path)
    if fields is None:
        raise FieldViolation(field_path, "unknown field")
    *parents, last = fields
    target = message
    for parent in parents:
        target = getattr(target, parent.name)
        target.SetInParent()
    return target, last


def _lookup(descriptor: Descriptor, field_path: str) -> list[FieldDescriptor] | None:
    """The fields along a dotted path (through singular messages), or None."""
    fields: list[FieldDescriptor] = []
    for name in field_path.split("."):
        if fields:
            parent = fields[-1]
            if parent.type != FieldDescriptor.TYPE_MESSAGE or parent.is_repeated:
                return None
            descriptor = message_type(parent)
        field = _field_by_any_name(descriptor, name)
        if field is None:
            return None
        fields.append(field)
    return fields


def _deeper_than(document: object, limit: int) -> bool:
    pending: list[tuple[object, int]] = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            children: Iterable[object] = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False


def _descriptor(message: Message) -> Descriptor:
    return cast(Descriptor, message.DESCRIPTOR)


def _field_by_any_name(descriptor: Descriptor, name: str) -> FieldDescriptor | None:
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
