"""The protos' comments, by full name, for the OpenAPI descriptions.

Generated `_pb2` modules drop comments; `scripts/protos.py gen` also writes the descriptor
set of our protos with their source info (`cinema/descriptors.binpb`), read here.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from importlib import resources

from google.protobuf import descriptor_pb2

import cinema

DESCRIPTOR_SET = "descriptors.binpb"

# Field numbers in descriptor.proto that SourceCodeInfo paths are made of.
_FILE_MESSAGE, _FILE_ENUM, _FILE_SERVICE = 4, 5, 6
_MESSAGE_FIELD, _MESSAGE_NESTED, _MESSAGE_ENUM = 2, 3, 4
_SERVICE_METHOD = 2
_ENUM_VALUE = 2

Path = tuple[int, ...]


def comment(full_name: str) -> str:
    """The leading comment of a service, method, message, field or enum, or ''."""
    return proto_comments().get(full_name, "")


@functools.cache
def proto_comments() -> dict[str, str]:
    try:
        data = (resources.files(cinema) / DESCRIPTOR_SET).read_bytes()
    except FileNotFoundError:
        return {}
    comments: dict[str, str] = {}
    for file in descriptor_pb2.FileDescriptorSet.FromString(data).file:
        names = dict(_file_names(file))
        for location in file.source_code_info.location:
            name = names.get(tuple(location.path))
            text = _clean(location.leading_comments)
            if name is not None and text:
                comments[name] = text
    return comments


def _file_names(file: descriptor_pb2.FileDescriptorProto) -> Iterator[tuple[Path, str]]:
    package = file.package
    for index, message in enumerate(file.message_type):
        yield from _message_names(message, f"{package}.{message.name}", (_FILE_MESSAGE, index))
    for index, enum in enumerate(file.enum_type):
        yield from _enum_names(enum, f"{package}.{enum.name}", (_FILE_ENUM, index))
    for index, service in enumerate(file.service):
        name = f"{package}.{service.name}"
        yield (_FILE_SERVICE, index), name
        for number, method in enumerate(service.method):
            yield (_FILE_SERVICE, index, _SERVICE_METHOD, number), f"{name}.{method.name}"


def _message_names(
    message: descriptor_pb2.DescriptorProto, name: str, path: Path
) -> Iterator[tuple[Path, str]]:
    yield path, name
    for index, field in enumerate(message.field):
        yield (*path, _MESSAGE_FIELD, index), f"{name}.{field.name}"
    for index, nested in enumerate(message.nested_type):
        yield from _message_names(nested, f"{name}.{nested.name}", (*path, _MESSAGE_NESTED, index))
    for index, enum in enumerate(message.enum_type):
        yield from _enum_names(enum, f"{name}.{enum.name}", (*path, _MESSAGE_ENUM, index))


def _enum_names(
    enum: descriptor_pb2.EnumDescriptorProto, name: str, path: Path
) -> Iterator[tuple[Path, str]]:
    yield path, name
    # Enum values are named in their enum's parent scope, but kept under the enum here.
    for index, value in enumerate(enum.value):
        yield (*path, _ENUM_VALUE, index), f"{name}.{value.name}"


def _clean(raw: str) -> str:
    return "\n".join(line.strip() for line in raw.strip().splitlines())
