"""gRPC servicer of cinema.auth.v1.AuthService.

Implemented so far: GetJwks. Accounts and tokens (Register, Login, Refresh, Logout,
GetMe, ListLoginHistory) answer UNIMPLEMENTED until the auth issue lands.
"""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import json_format

from cinema.auth.v1 import auth_pb2, auth_pb2_grpc
from services.auth.keys import KeyRing


class AuthServicer(auth_pb2_grpc.AuthServiceServicer):
    def __init__(self, keys: KeyRing) -> None:
        self._keys = keys

    async def GetJwks(
        self, request: auth_pb2.GetJwksRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> auth_pb2.GetJwksResponse:
        return json_format.ParseDict(self._keys.jwks(), auth_pb2.GetJwksResponse())
