"""Page tokens: what a service seals opens again; anything else names the field."""

from __future__ import annotations

import base64

import pytest

from services.kit import page_tokens
from services.kit.errors import InvalidArgument

INT64_MAX = 2**63 - 1


def _unsigned(raw: bytes) -> str:
    """A token as the envelope used to be: base64url JSON, no signature."""
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _tampered(token: str) -> str:
    flipped = "A" if token[0] != "A" else "B"
    return flipped + token[1:]


def test_a_token_opens_to_what_was_sealed() -> None:
    token = page_tokens.encode({"o": 40, "k": "abc"})
    assert page_tokens.decode(token) == {"o": 40, "k": "abc"}
    assert page_tokens.decode("") == {}


HOSTILE = {
    "not base64": "not base64 !",
    "a list": _unsigned(b"[1, 2]"),
    "not json": "bm9wZQ",
    "unsigned but well formed": _unsigned(b'{"o": 40, "k": "abc"}'),
    "deeply nested": _unsigned(b'{"o": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
    "a huge integer": _unsigned(b'{"before": 1' + b"0" * 400 + b"}"),
    "wrong types": _unsigned(b'{"o": "3", "k": null}'),
    "huge": "A" * 1_000_000,
    "not ascii": "токен.подпись",
    "truncated": page_tokens.encode({"o": 40, "k": "abc"})[:-3],
    "tampered": _tampered(page_tokens.encode({"o": 40, "k": "abc"})),
    "foreign": page_tokens.Envelope(b"another secret of another system").seal({"o": 40}),
    "signature only": "." + page_tokens.encode({"o": 1}).rpartition(".")[2],
}


@pytest.mark.parametrize("token", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_token_that_is_not_ours_names_the_field(token: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        page_tokens.decode(token, field="page_token")
    assert raised.value.violations == [("page_token", "is not a token from a previous page")]


def test_replicas_sharing_a_secret_open_each_others_tokens() -> None:
    secret = b"a secret every replica is configured with"
    token = page_tokens.Envelope(secret).seal({"t": 1_700_000_000_000_000, "f": "film"})
    assert page_tokens.Envelope(secret).open(token) == {"t": 1_700_000_000_000_000, "f": "film"}
    with pytest.raises(InvalidArgument):
        page_tokens.Envelope(b"the secret of some other deployment").open(token)


@pytest.mark.parametrize("value", [-1, True, "3", None, INT64_MAX + 1, 1.5])
def test_a_position_must_be_a_whole_number_sqlite_can_hold(value: object) -> None:
    with pytest.raises(InvalidArgument):
        page_tokens.whole_number({"o": value}, "o")
    assert page_tokens.whole_number({"o": INT64_MAX}, "o") == INT64_MAX


@pytest.mark.parametrize(
    "body", [{"o": [1]}, {"o": {"p": 1}}, {"o": 2**64}, {"o": 1.5}, {"k": "x" * 5000}]
)
def test_only_flat_bodies_of_bounded_strings_and_int64s_are_sealed(body: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        page_tokens.encode(body)  # type: ignore[arg-type]
