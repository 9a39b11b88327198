"""The fake speaks GigaChat's protocol as the real SDK expects it."""

from __future__ import annotations

import uuid

import pytest
from gigachat import GigaChat
from gigachat.exceptions import AuthenticationError
from gigachat.models import Chat, Messages, MessagesRole

from tests.fakes.gigachat import CREDENTIALS, MODELS, FakeGigaChat


def _client(fake: FakeGigaChat, credentials: str = CREDENTIALS) -> GigaChat:
    return GigaChat(
        credentials=credentials,
        base_url=fake.base_url,
        auth_url=fake.auth_url,
        model="GigaChat",
        verify_ssl_certs=False,
        timeout=2.0,
    )


async def test_sdk_gets_a_token_with_its_key_scope_and_rquid(fake: FakeGigaChat) -> None:
    async with _client(fake) as client:
        token = await client.aget_token()
        models = await client.aget_models()
    assert token is not None and token.access_token in fake.tokens
    assert [m.id_ for m in models.data] == list(MODELS)
    oauth = fake.requests[0]
    assert oauth.body == {"scope": ["GIGACHAT_API_PERS"]}
    assert oauth.headers["authorization"] == f"Basic {CREDENTIALS}"
    uuid.UUID(oauth.headers["rquid"])
    assert fake.calls["oauth"] == 1


async def test_wrong_key_is_refused_at_the_token_endpoint(fake: FakeGigaChat) -> None:
    async with _client(fake, credentials="d3Jvbmc6a2V5") as client:
        with pytest.raises(AuthenticationError):
            await client.aget_models()
    assert fake.calls["models"] == 0


async def test_plain_chat_answers_with_text_and_usage(fake: FakeGigaChat) -> None:
    async with _client(fake) as client:
        completion = await client.achat(
            Chat(messages=[Messages(role=MessagesRole.USER, content="Привет")])
        )
    assert completion.choices[0].finish_reason == "stop"
    assert completion.choices[0].message.content
    assert completion.usage.total_tokens > 0
    assert fake.chat_requests[0]["model"] == "GigaChat"
