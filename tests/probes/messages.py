"""Hypothesis strategies for any protobuf message, built from its descriptor.

Values lean towards what breaks servers: the ends of each integer range, enum numbers
no schema names, NaN and infinities, empty, huge and hostile strings (control
characters, characters that grow under Unicode normalisation, crafted page tokens),
long repeated fields, and nesting down to a few levels.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import strategies as st

F = FieldDescriptor

INT_RANGES = {
    F.TYPE_INT32: (-(2**31), 2**31 - 1),
    F.TYPE_SINT32: (-(2**31), 2**31 - 1),
    F.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    F.TYPE_INT64: (-(2**63), 2**63 - 1),
    F.TYPE_SINT64: (-(2**63), 2**63 - 1),
    F.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    F.TYPE_UINT32: (0, 2**32 - 1),
    F.TYPE_FIXED32: (0, 2**32 - 1),
    F.TYPE_UINT64: (0, 2**64 - 1),
    F.TYPE_FIXED64: (0, 2**64 - 1),
}


def _token(body: object) -> str:
    raw = json.dumps(body).encode() if not isinstance(body, bytes) else body
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


#: Strings no well-behaved client sends.
HOSTILE_STRINGS = [
    "",
    " ",
    "\x00",
    "a" * 10_000,
    "\ufdfa" * 1_000,  # grows ~18x under NFKC
    "\u202e\u0000\r\n\t",
    "' OR 1=1 --",
    '"; DROP TABLE ratings; --',
    "../../../../etc/passwd",
    "%s%n%x",
    "*" * 300,
    "title:(matrix OR",
    'NEAR(a b) AND "',
    "🎬" * 500,
    "!!!not-base64!!!",
]

#: Page tokens we never issued, shaped like the ones we do (base64url JSON).
CRAFTED_TOKENS = [
    _token(b"[" * 5_000 + b"]" * 5_000),  # nested JSON
    _token({"offset": 10**40}),
    _token(b'{"offset": ' + b"9" * 5_000 + b"}"),
    _token({"offset": -1}),
    _token({"offset": "1"}),
    _token({"time_us": 2**70, "film_id": "x"}),
    _token({"o": 1e308, "f": [None]}),
    _token([1, 2, 3]),
    _token(b"\xff\xfe\x00"),
    "A" * 100_000,
    "!!!not-base64!!!",
]

_MAX_DEPTH = 3


def _scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind in INT_RANGES:
        low, high = INT_RANGES[kind]
        return st.one_of(
            st.sampled_from([low, high, 0, -1 if low < 0 else 1]), st.integers(low, high)
        )
    if kind == F.TYPE_BOOL:
        return st.booleans()
    if kind in (F.TYPE_FLOAT, F.TYPE_DOUBLE):
        width = 32 if kind == F.TYPE_FLOAT else 64
        return st.floats(width=width, allow_nan=True, allow_infinity=True)
    if kind == F.TYPE_STRING and field.name.endswith("token"):
        return st.one_of(st.sampled_from(CRAFTED_TOKENS), st.sampled_from(HOSTILE_STRINGS))
    if kind == F.TYPE_STRING:
        return st.one_of(st.sampled_from(HOSTILE_STRINGS), st.text(max_size=200))
    if kind == F.TYPE_BYTES:
        return st.binary(max_size=512)
    if kind == F.TYPE_ENUM:
        # Proto3 enums are open: numbers the schema never named arrive too.
        return st.one_of(
            st.sampled_from([value.number for value in field.enum_type.values]),
            st.integers(-(2**31), 2**31 - 1),
        )
    raise AssertionError(f"no strategy for field type {kind} of {field.full_name}")


def _value(field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    if field.type == F.TYPE_MESSAGE:
        return messages(field.message_type, depth + 1)
    return _scalar(field)


@st.composite
def _message(draw: st.DrawFn, descriptor: Descriptor, depth: int) -> Message:
    message = GetMessageClass(descriptor)()
    for field in descriptor.fields:
        if field.type == F.TYPE_MESSAGE and depth >= _MAX_DEPTH:
            continue
        if not draw(st.booleans()):
            continue
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            key, value = (
                field.message_type.fields_by_name["key"],
                field.message_type.fields_by_name["value"],
            )
            entries = draw(st.dictionaries(_scalar(key), _value(value, depth), max_size=5))
            target = getattr(message, field.name)
            for entry_key, entry_value in entries.items():
                if value.type == F.TYPE_MESSAGE:
                    target[entry_key].CopyFrom(entry_value)
                else:
                    target[entry_key] = entry_value
        elif field.is_repeated:
            size = draw(st.one_of(st.integers(0, 8), st.sampled_from([100, 1_000, 5_000])))
            element = _value(field, depth)
            if size > 8:  # long lists repeat one value: the size is what is tested
                items = [draw(element)] * size
            else:
                items = draw(st.lists(element, min_size=size, max_size=size))
            target = getattr(message, field.name)
            if field.type == F.TYPE_MESSAGE:
                for item in items:
                    target.add().CopyFrom(item)
            else:
                target.extend(items)
        elif field.type == F.TYPE_MESSAGE:
            getattr(message, field.name).CopyFrom(draw(_value(field, depth)))
        else:
            setattr(message, field.name, draw(_value(field, depth)))
    return message


def messages(descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy[Message]:
    """Messages of ``descriptor``'s type, fields set or left out at random."""
    return _message(descriptor, depth)
