"""One grpc.aio channel per distinct target, looked up by service full name."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import grpc

from mesh.channels import CHANNEL_OPTIONS


class ChannelPool:
    """Channels for the services the gateway exposes; open and close them with the app."""

    def __init__(self, targets: Mapping[str, str] | str, services: Iterable[str]) -> None:
        if isinstance(targets, str):
            self._targets = dict.fromkeys(services, targets)
        else:
            self._targets = dict(targets)
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._unary: dict[tuple[str, str], grpc.aio.UnaryUnaryMultiCallable[Any, bytes]] = {}

    def serves(self, service: str) -> bool:
        return service in self._targets

    def open(self) -> None:
        for target in set(self._targets.values()):
            self._channels[target] = grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS)

    async def close(self) -> None:
        channels, self._channels = list(self._channels.values()), {}
        self._unary = {}
        for channel in channels:
            await channel.close()

    def channel(self, service: str) -> grpc.aio.Channel:
        return self._channels[self._targets[service]]

    def unary_raw(
        self, service: str, rpc_path: str, serializer: Callable[[Any], bytes]
    ) -> grpc.aio.UnaryUnaryMultiCallable[Any, bytes]:
        """The unary call `rpc_path` answering the reply's bytes, made once per open channel."""
        key = (service, rpc_path)
        call = self._unary.get(key)
        if call is None:
            call = self.channel(service).unary_unary(rpc_path, request_serializer=serializer)
            self._unary[key] = call
        return call
