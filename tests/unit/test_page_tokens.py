"""Page tokens: what a service seals opens again; anything else names the field."""

from __future__ import annotations

import base64

import pytest

from services.kit import page_tokens
from services.kit.errors import InvalidArgument


def test_a_token_opens_to_what_was_sealed() -> None:
    token = page_tokens.encode({"o": 40, "k": "abc"})
    assert page_tokens.decode(token) == {"o": 40, "k": "abc"}
    assert page_tokens.decode("") == {}


@pytest.mark.parametrize(
    "token",
    ["not base64 !", base64.urlsafe_b64encode(b"[1, 2]").decode(), "bm9wZQ"],
)
def test_a_token_that_is_not_ours_names_the_field(token: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        page_tokens.decode(token, field="page_token")
    assert raised.value.violations == [("page_token", "is not a token from a previous page")]


@pytest.mark.parametrize("value", [-1, True, "3", None])
def test_a_position_must_be_a_whole_number(value: object) -> None:
    with pytest.raises(InvalidArgument):
        page_tokens.whole_number({"o": value}, "o")
