"""Which failures are a backend being unreachable (UNAVAILABLE), and which stay bugs."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy.exc
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elastic_transport import ConnectionError as EsConnectionError
from elasticsearch import ApiError, NotFoundError
from pymongo.errors import DuplicateKeyError, OperationFailure, ServerSelectionTimeoutError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from services.kit.backend_errors import is_backend_unavailable

NESTED = "cannot start a transaction within a transaction"


def raised_from(error: BaseException, cause: BaseException) -> BaseException:
    try:
        raise error from cause
    except BaseException as raised:
        return raised


def es_answer(error: type[ApiError], status: int) -> ApiError:
    meta = ApiResponseMeta(status, "1.1", HttpHeaders(), 0.0, NodeConfig("http", "h", 9200))
    return error("search_phase_execution_exception", meta, {})


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connect call failed"),
        OSError(104, "Connection reset by peer"),
        ServerSelectionTimeoutError("no servers"),
        RedisConnectionError("Connection refused"),
        EsConnectionError("Cannot connect"),
        es_answer(ApiError, 503),
        # A MongoDB server shutting down, and FerretDB stopped in the middle of an insert
        # (seen in the FerretDB outage drill).
        OperationFailure("interrupted at shutdown", 11600),
        OperationFailure(
            "[msg_insert.go:168 handler.(*Handler).MsgInsert] context canceled",
            1,
            {"ok": 0.0, "errmsg": "[msg_insert.go:168] context canceled", "code": 1},
        ),
        raised_from(
            sqlalchemy.exc.DBAPIError("SELECT 1", None, Exception("x")),
            ConnectionResetError(104, "reset"),
        ),
    ],
    ids=repr,
)
def test_unreachable_backends_are_unavailable(error: BaseException) -> None:
    assert is_backend_unavailable(error)


@pytest.mark.parametrize(
    "error",
    [
        # The wedged-transaction bug of issue 10 must stay visible as INTERNAL.
        sqlalchemy.exc.OperationalError("BEGIN", None, sqlite3.OperationalError(NESTED)),
        sqlalchemy.exc.IntegrityError("INSERT", None, sqlite3.IntegrityError("UNIQUE")),
        DuplicateKeyError("E11000"),
        OperationFailure("unknown operator: $foo", 2),
        OperationFailure("some internal bug", 1, {"ok": 0.0, "errmsg": "boom", "code": 1}),
        ResponseError("WRONGTYPE"),
        es_answer(NotFoundError, 404),
        FileNotFoundError(2, "No such file"),
        ValueError("a bug"),
    ],
    ids=repr,
)
def test_other_failures_stay_internal(error: BaseException) -> None:
    assert not is_backend_unavailable(error)
