"""HTTP/1.1 over a bare socket, for what an ordinary client would not send.

httpx always sends the whole body and keeps headers tidy; an attacker does neither.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


async def exchange(base_url: str, *parts: bytes) -> RawResponse:
    """Send `parts` one write each (the server may answer before the last), read the answer."""
    address = urlsplit(base_url)
    assert address.hostname is not None and address.port is not None
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    try:
        async with asyncio.timeout(10):
            for part in parts:
                try:
                    writer.write(part)
                    await writer.drain()
                except ConnectionError:
                    break  # the server answered and closed: read what it said
            head = await reader.readuntil(b"\r\n\r\n")
            status_line, *header_lines = head.decode("latin-1").split("\r\n")
            headers = {}
            for line in header_lines:
                if line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            body = await reader.readexactly(length)
    finally:
        writer.close()
    return RawResponse(int(status_line.split()[1]), headers, body)


def request_head(method: str, path: str, *headers: tuple[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: gateway", *(f"{n}: {v}" for n, v in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
