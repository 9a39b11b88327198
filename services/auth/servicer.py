"""gRPC servicer of cinema.auth.v1.AuthService: requests in, use cases, responses out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

import grpc
from google.protobuf import json_format

from cinema.auth.v1 import auth_pb2, auth_pb2_grpc
from services.auth import rules, session_cookie
from services.auth.accounts import Accounts, Client, TokenPair
from services.auth.records import UserAccount
from services.kit.context import caller
from services.kit.errors import Unauthenticated, Unavailable
from services.kit.interceptors import metadata_value
from services.kit.timestamps import timestamp
from services.kit.tokens import TokenVerifier
from services.kit.validation import page_size

Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"

_ROLES = {
    rules.ROLE_USER: auth_pb2.ROLE_USER,
    rules.ROLE_ADMIN: auth_pb2.ROLE_ADMIN,
    rules.ROLE_SERVICE: auth_pb2.ROLE_SERVICE,
}


def _user(user: UserAccount) -> auth_pb2.User:
    return auth_pb2.User(
        id=user.id,
        login=user.login,
        email=user.email or "",
        roles=[_ROLES[role] for role in user.roles if role in _ROLES],
        create_time=timestamp(user.created_at),
    )


def _tokens(pair: TokenPair, in_cookie: bool = False) -> auth_pb2.TokenPair:
    return auth_pb2.TokenPair(
        access_token=pair.access_token,
        access_token_expire_time=timestamp(pair.access_expires_at),
        refresh_token="" if in_cookie else pair.refresh_token,
        refresh_token_expire_time=timestamp(pair.refresh_expires_at),
        token_type="Bearer",
    )


def _cookies(context: Context) -> list[str]:
    """Every ``cookie`` metadata value (an HTTP/2 hop may split the header in several)."""
    return [
        value if isinstance(value, str) else value.decode()
        for key, value in context.invocation_metadata() or ()
        if key == "cookie"
    ]


async def _set_cookie(context: Context, value: str) -> None:
    await context.send_initial_metadata((("set-cookie", value),))


#: Metadata in which the edge (the gateway) proves who it is: a token with the service role.
EDGE_CREDENTIAL_KEY = "x-cinema-edge"


@dataclass(frozen=True)
class Edge:
    """Who may say, in ``x-forwarded-for``, which address a call comes from.

    Anyone who reaches the gRPC port can send that metadata, so it is believed only from
    a configured trusted proxy (``CINEMA_TRUSTED_PROXIES``, e.g. Envoy) or from a caller
    that proves it is our edge with a ``service``-role token in ``x-cinema-edge``.
    """

    trusted_proxies: tuple[rules.IPNetwork, ...]
    verifier: TokenVerifier

    async def vouches_for(self, context: Context) -> bool:
        if rules.is_within(rules.peer_address(context.peer() or ""), self.trusted_proxies):
            return True
        credential = metadata_value(context, EDGE_CREDENTIAL_KEY)
        if not credential:
            return False
        try:
            caller = await self.verifier.verify(credential)
        except (Unauthenticated, Unavailable):
            return False
        return caller.has_role(rules.ROLE_SERVICE)

    async def client(self, context: Context) -> Client:
        """The address and user agent to record and throttle a login under."""
        forwarded_for = metadata_value(context, "x-forwarded-for")
        believed = forwarded_for is not None and await self.vouches_for(context)
        address = rules.client_address(forwarded_for, context.peer() or "", believed)
        # A user agent is the client's own claim wherever it comes from: no proof needed.
        agent = metadata_value(context, "x-forwarded-user-agent") or metadata_value(
            context, "user-agent"
        )
        return Client(address=address, user_agent=rules.user_agent(agent))


class AuthServicer(auth_pb2_grpc.AuthServiceServicer):
    def __init__(self, accounts: Accounts, edge: Edge) -> None:
        self._accounts = accounts
        self._edge = edge

    async def Register(
        self, request: auth_pb2.RegisterRequest, context: Context
    ) -> auth_pb2.RegisterResponse:
        email = request.email if request.HasField("email") else None
        registration = rules.check_registration(request.login, request.password, email)
        user = await self._accounts.register(registration)
        return auth_pb2.RegisterResponse(user=_user(user))

    async def Login(
        self, request: auth_pb2.LoginRequest, context: Context
    ) -> auth_pb2.LoginResponse:
        rules.require(login=request.login, password=request.password)
        client = await self._edge.client(context)
        pair, user = await self._accounts.login(request.login, request.password, client)
        if request.session_cookie:
            cookie = session_cookie.set_cookie(pair.refresh_token, pair.refresh_expires_at)
            await _set_cookie(context, cookie)
        return auth_pb2.LoginResponse(
            tokens=_tokens(pair, in_cookie=request.session_cookie), user=_user(user)
        )

    async def Refresh(
        self, request: auth_pb2.RefreshRequest, context: Context
    ) -> auth_pb2.RefreshResponse:
        if request.session_cookie:
            presented = request.refresh_token or session_cookie.required_token(_cookies(context))
        else:
            rules.require(refresh_token=request.refresh_token)
            presented = request.refresh_token
        pair = await self._accounts.refresh(presented)
        if request.session_cookie:
            cookie = session_cookie.set_cookie(pair.refresh_token, pair.refresh_expires_at)
            await _set_cookie(context, cookie)
        return auth_pb2.RefreshResponse(tokens=_tokens(pair, in_cookie=request.session_cookie))

    async def Logout(
        self, request: auth_pb2.LogoutRequest, context: Context
    ) -> auth_pb2.LogoutResponse:
        if not request.session_cookie:
            rules.require(refresh_token=request.refresh_token)
            await self._accounts.logout(request.refresh_token)
            return auth_pb2.LogoutResponse()
        # The cookie goes whatever else happens: a malformed one is of no use either.
        await _set_cookie(context, session_cookie.clear_cookie())
        try:
            presented = request.refresh_token or session_cookie.sent_token(_cookies(context))
        except Unauthenticated:
            presented = None
        if presented:
            await self._accounts.logout(presented)
        return auth_pb2.LogoutResponse()

    async def GetMe(
        self, request: auth_pb2.GetMeRequest, context: Context
    ) -> auth_pb2.GetMeResponse:
        user = await self._accounts.user(caller().user_id)
        return auth_pb2.GetMeResponse(user=_user(user))

    async def ListLoginHistory(
        self, request: auth_pb2.ListLoginHistoryRequest, context: Context
    ) -> auth_pb2.ListLoginHistoryResponse:
        # Whose history comes from the token alone: the request has no user field.
        size = page_size(request.page_size)
        before = rules.decode_page_token(request.page_token)
        page = await self._accounts.login_history(caller().user_id, size, before)
        return auth_pb2.ListLoginHistoryResponse(
            events=[
                auth_pb2.LoginEvent(
                    login_time=timestamp(login.login_time),
                    user_agent=login.user_agent,
                    peer_address=login.peer_address,
                )
                for login in page.logins
            ],
            next_page_token=rules.encode_page_token(page.next_cursor),
        )

    async def GetJwks(
        self, request: auth_pb2.GetJwksRequest, context: Context
    ) -> auth_pb2.GetJwksResponse:
        ring = await self._accounts.keys.current()
        return json_format.ParseDict(ring.jwks(), auth_pb2.GetJwksResponse())
