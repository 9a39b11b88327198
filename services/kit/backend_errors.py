"""Which failures mean "a backend server is unreachable": the client should retry later.

A store whose server is down, restarting or cut off raises its driver's connection error;
the error interceptor answers those UNAVAILABLE (retryable) instead of INTERNAL (a bug).
Only connection-class errors qualify: a constraint violation or a bad query stays a bug.
Drivers wrap each other (SQLAlchemy wraps asyncpg, which wraps OSError), so the chain of
causes is searched. Classes are looked up among the modules already imported: an error
of a driver that was never imported cannot occur, and the kit stays free of the drivers.
"""

from __future__ import annotations

import errno
import sys

#: Connection-class errors of each driver, by module.
_DRIVER_ERRORS = {
    "pymongo.errors": ("ConnectionFailure",),  # AutoReconnect, NetworkTimeout, ServerSelection…
    "redis.exceptions": ("ConnectionError", "TimeoutError"),
    "elastic_transport": ("ConnectionError", "ConnectionTimeout"),
    "aiokafka.errors": ("KafkaConnectionError", "NodeNotReadyError"),
    "asyncpg.exceptions": (
        "PostgresConnectionError",  # class 08, ConnectionDoesNotExistError included
        "CannotConnectNowError",  # starting up or shutting down
        "AdminShutdownError",
        "CrashShutdownError",
        "TooManyConnectionsError",
    ),
}
#: HTTP statuses of an Elasticsearch answer that mean "not serving right now".
_UNAVAILABLE_HTTP = frozenset({502, 503, 504})
_NETWORK_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EPIPE,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ENETDOWN,
        errno.ETIMEDOUT,
    }
)
#: MongoDB's answers of a server that is not serving now: shutting down, stepping down, not
#: (or no longer) the primary. The driver retries these itself once; then they are ours.
_MONGO_NOT_SERVING = frozenset({91, 189, 10107, 11600, 11602, 13435, 13436})
_DEPTH = 10  # causes searched; chains are short, a cycle must not loop forever

MESSAGE = "a backend of this service is unavailable; retry later"


def _driver_error_classes() -> tuple[type[BaseException], ...]:
    found: list[type[BaseException]] = []
    for module_name, names in _DRIVER_ERRORS.items():
        module = sys.modules.get(module_name)
        found += [getattr(module, name) for name in names if hasattr(module, name)]
    return tuple(found)


def _is_connection_error(
    error: BaseException, driver_errors: tuple[type[BaseException], ...]
) -> bool:
    if isinstance(error, driver_errors):
        return True
    if isinstance(error, ConnectionError | TimeoutError):
        return True
    if isinstance(error, OSError) and error.errno in _NETWORK_ERRNOS:
        return True
    # SQLAlchemy's own verdict: the dialect recognised a lost connection.
    if getattr(error, "connection_invalidated", False) is True:
        return True
    # elasticsearch.ApiError: the cluster answered, but is not serving (e.g. after a restart,
    # before its shards are allocated).
    status = getattr(getattr(error, "meta", None), "status", None)
    if type(error).__module__.startswith("elasticsearch") and status in _UNAVAILABLE_HTTP:
        return True
    return type(error).__module__.startswith("pymongo") and _mongo_not_serving(error)


def _mongo_not_serving(error: BaseException) -> bool:
    """A MongoDB server's "not serving now", or FerretDB's answer when it stops in the middle
    of a request (InternalError, its handler's context canceled)."""
    code = getattr(error, "code", None)
    if code in _MONGO_NOT_SERVING:
        return True
    details = getattr(error, "details", None) or {}
    return code == 1 and "context canceled" in str(details.get("errmsg", ""))


def is_backend_unavailable(error: BaseException) -> bool:
    """Whether ``error``, or an error it was raised from, is a backend being unreachable."""
    driver_errors = _driver_error_classes()
    seen: BaseException | None = error
    for _ in range(_DEPTH):
        if seen is None:
            return False
        if _is_connection_error(seen, driver_errors):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
