"""Account rules: what a valid registration is, how logins compare, how pages are named.

Pure functions; the servicer calls them before anything touches the store, and each
broken rule is reported against the request field it concerns.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from services.kit import page_tokens
from services.kit.errors import InvalidArgument

ROLE_USER = "user"
ROLE_ADMIN = "admin"
ROLE_SERVICE = "service"
ROLES = (ROLE_USER, ROLE_ADMIN, ROLE_SERVICE)

LOGIN_PATTERN = re.compile(r"[A-Za-z0-9._-]{3,64}")
PASSWORD_MIN, PASSWORD_MAX = 8, 128
EMAIL_MAX = 254
USER_AGENT_MAX = 512

#: Service accounts live under a prefix that registration can never produce (':' is not
#: a login character), so no user can squat the name of a service.
SERVICE_LOGIN_PREFIX = "service:"


@dataclass(frozen=True)
class Registration:
    """A registration request that passed every rule."""

    login: str
    password: str
    email: str | None


def login_key(login: str) -> str:
    """The form logins are compared and stored uniquely in: case-insensitive."""
    return login.strip().lower()


def check_registration(login: str, password: str, email: str | None) -> Registration:
    """The registration, or InvalidArgument naming every field that breaks its rule."""
    violations: list[tuple[str, str]] = []
    if not LOGIN_PATTERN.fullmatch(login):
        violations.append(
            ("login", "must be 3-64 characters of ASCII letters, digits, '.', '_' and '-'")
        )
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        violations.append(("password", f"must be {PASSWORD_MIN}-{PASSWORD_MAX} characters long"))
    elif login_key(password) == login_key(login):
        violations.append(("password", "must not be the same as the login"))
    if email and not _is_email(email):
        violations.append(("email", f"must be an address with one '@', at most {EMAIL_MAX}"))
    if violations:
        raise InvalidArgument(violations)
    return Registration(login=login, password=password, email=email or None)


def _is_email(email: str) -> bool:
    local, at, domain = email.partition("@")
    return (
        len(email) <= EMAIL_MAX
        and bool(at and local and domain)
        and "@" not in domain
        and not any(ch.isspace() for ch in email)
    )


def require(**fields: str) -> None:
    """InvalidArgument naming each field that is empty."""
    missing = [(name, "is required") for name, value in fields.items() if not value]
    if missing:
        raise InvalidArgument(missing)


def service_login(name: str) -> str:
    """The login of the service account ``name`` (e.g. ``recommendations``)."""
    if not LOGIN_PATTERN.fullmatch(name):
        raise InvalidArgument([("name", "must be 3-64 characters of letters, digits, ._-")])
    return SERVICE_LOGIN_PREFIX + name.lower()


def encode_page_token(cursor: int | None) -> str:
    return "" if cursor is None else page_tokens.encode({"before": cursor})


def decode_page_token(token: str) -> int | None:
    """The cursor in a page token; a token we did not issue is INVALID_ARGUMENT."""
    if not token:
        return None
    return page_tokens.whole_number(page_tokens.decode(token), "before")


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(spec: str) -> tuple[IPNetwork, ...]:
    """The proxies of ``CINEMA_TRUSTED_PROXIES``: comma-separated addresses or networks."""
    networks = []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError as error:
            raise ValueError(
                f"CINEMA_TRUSTED_PROXIES: {item!r} is not an IP address or network"
            ) from error
    return tuple(networks)


def peer_address(peer: str) -> str:
    """The address of a gRPC peer: ``ipv4:203.0.113.7:51234`` or ``ipv6:[::1]:51234``."""
    kind, _, rest = peer.partition(":")
    if kind == "ipv6" and rest.startswith("["):
        return rest[1 : rest.find("]")]
    if kind == "ipv4":
        return rest.rpartition(":")[0]
    return peer[:128]


def is_within(address: str, networks: tuple[IPNetwork, ...]) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in networks)


def client_address(forwarded_for: str | None, peer: str, believe_forwarded: bool) -> str:
    """The client's address: the last ``x-forwarded-for`` hop when the caller is our edge
    (``believe_forwarded``) and it is an IP address, else the gRPC peer's.

    The last hop is the one the edge wrote; anything before it came from the client and
    could be made up, and from anyone but the edge all of it could.
    """
    if believe_forwarded and forwarded_for:
        last = forwarded_for.rsplit(",", 1)[-1].strip()
        try:
            return str(ipaddress.ip_address(last))
        except ValueError:
            pass
    return peer_address(peer)


def user_agent(value: str | None) -> str:
    return (value or "")[:USER_AGENT_MAX]
