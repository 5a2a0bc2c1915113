"""Model resolution: arguments and environment variables choose the model client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agent.config import (
    DEFAULT_OPENAI_MODEL,
    ModelSettings,
    open_model,
    resolve_model_settings,
)
from agent.errors import MissingAPIKeyError, ModelConfigError
from agent.local_model import LocalModel, local_model_available
from agent.messages import Message
from agent.openai_client import OpenAIClient
from tests.chat_server import ChatServer, Reply, completion, serve


def yes() -> bool:
    return True


def no() -> bool:
    return False


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AZURE_OPENAI_ENDPOINT", "BATON_MODEL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server() -> Iterator[ChatServer]:
    yield from serve()


def test_nothing_configured_falls_back_to_the_local_model() -> None:
    settings = resolve_model_settings(env={}, local_available=yes)
    assert settings.provider == "local"
    assert "fallback" in settings.source


def test_nothing_configured_and_no_local_model_says_how_to_configure() -> None:
    with pytest.raises(ModelConfigError) as caught:
        resolve_model_settings(env={}, local_available=no)
    message = str(caught.value)
    for hint in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AZURE_OPENAI_ENDPOINT", "make setup-local"):
        assert hint in message


def test_asking_for_local_without_the_extra_is_a_clear_error() -> None:
    with pytest.raises(ModelConfigError, match="make setup-local"):
        resolve_model_settings("local", env={}, local_available=no)


def test_local_by_name_even_when_a_key_is_set() -> None:
    env = {"OPENAI_API_KEY": "sk-x", "BATON_MODEL": "local"}
    assert resolve_model_settings(env=env, local_available=yes).provider == "local"


def test_a_key_alone_means_openai_with_the_default_model() -> None:
    settings = resolve_model_settings(env={"OPENAI_API_KEY": "sk-secret"}, local_available=yes)
    assert settings == ModelSettings(
        "openai", DEFAULT_OPENAI_MODEL, "OPENAI_API_KEY", api_key="sk-secret"
    )
    assert "sk-secret" not in repr(settings)
    assert "sk-secret" not in settings.describe()


def test_the_model_argument_beats_baton_model() -> None:
    env = {"OPENAI_API_KEY": "k", "BATON_MODEL": "gpt-4o"}
    assert resolve_model_settings(env=env).model == "gpt-4o"
    chosen = resolve_model_settings("gpt-4.1-mini", env=env)
    assert (chosen.model, chosen.source) == ("gpt-4.1-mini", "--model")


def test_base_url_means_a_compatible_server_with_an_optional_model() -> None:
    env = {"OPENAI_BASE_URL": "http://127.0.0.1:11434/v1"}
    settings = resolve_model_settings(env=env, local_available=yes)
    assert (settings.provider, settings.model, settings.base_url) == (
        "compatible",
        "",
        "http://127.0.0.1:11434/v1",
    )
    named = resolve_model_settings(env={**env, "BATON_MODEL": "llama3.1"})
    assert named.model == "llama3.1"
    assert "llama3.1 at http://127.0.0.1:11434/v1" in named.describe()


def test_azure_needs_a_deployment_name() -> None:
    env = {"AZURE_OPENAI_ENDPOINT": "https://x.openai.azure.com"}
    with pytest.raises(ModelConfigError, match="deployment name"):
        resolve_model_settings(env=env)
    settings = resolve_model_settings(
        "prod-gpt4o", env={**env, "AZURE_OPENAI_API_KEY": "k", "OPENAI_API_VERSION": "2024-10-21"}
    )
    assert (settings.provider, settings.api_version) == ("azure", "2024-10-21")


def test_a_model_name_without_key_fails_naming_openai_api_key() -> None:
    with pytest.raises(MissingAPIKeyError, match="OPENAI_API_KEY"):
        open_model("gpt-4o", env={})


def test_open_model_builds_the_local_model_without_starting_it() -> None:
    if not local_model_available():
        pytest.skip("the `local` extra is not installed (make setup-local)")
    model = open_model("local", env={})
    assert isinstance(model, LocalModel)
    assert not model.server.running


async def test_open_model_talks_to_the_configured_server(server: ChatServer) -> None:
    server.queue(Reply(body=completion("configured")))
    env = {"OPENAI_BASE_URL": server.url, "BATON_MODEL": "m1", "OPENAI_API_KEY": "sk-k"}
    async with open_model(env=env) as model:
        assert isinstance(model, OpenAIClient)
        model.stream = False
        turn = await model.complete([Message(role="user", content="hi")], [])
    assert turn.message.content == "configured"
    assert server.requests[0].body["model"] == "m1"
    assert server.requests[0].headers["authorization"] == "Bearer sk-k"
