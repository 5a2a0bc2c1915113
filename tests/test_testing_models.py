"""The shipped test doubles: ScriptedModel and FunctionModel behave like a real ModelClient."""

from __future__ import annotations

import json
import os

import pytest

from agent.errors import ModelError, ScriptExhaustedError
from agent.llm import ModelClient
from agent.messages import Message, ModelTurn, ToolCall, Usage
from agent.testing import (
    BLOCK_REMOTE_MODELS_ENV,
    FunctionModel,
    ScriptedModel,
    block_remote_models,
    calls,
    text,
    tool_call,
)
from tools.model import JSONObject

USER = [Message(role="user", content="find pet 7")]
TOOLS: list[JSONObject] = [
    {"type": "function", "function": {"name": "getPet", "parameters": {"type": "object"}}}
]


def test_doubles_satisfy_the_client_protocol() -> None:
    assert isinstance(ScriptedModel([]), ModelClient)
    assert isinstance(FunctionModel(lambda m, t: "x"), ModelClient)


async def test_scripted_model_plays_turns_in_order_and_records_requests() -> None:
    model = ScriptedModel([tool_call("getPet", {"petId": 7}), "Pet 7 is Rex."])
    first = await model.complete(USER, TOOLS)
    assert first.message.role == "assistant"
    assert first.finish_reason == "tool_calls"
    [call] = first.message.tool_calls
    assert call.name == "getPet"
    assert json.loads(call.arguments) == {"petId": 7}
    assert call.id == "call_1"
    second = await model.complete([*USER, first.message], [])
    assert second.message.content == "Pet 7 is Rex."
    assert second.message.tool_calls == []
    assert second.model == "scripted"
    model.assert_consumed()
    assert [r.tool_names for r in model.requests] == [["getPet"], []]
    assert model.requests[1].last == first.message


async def test_scripted_model_raises_a_clear_error_when_exhausted() -> None:
    model = ScriptedModel(["done"])
    await model.complete(USER, TOOLS)
    with pytest.raises(ScriptExhaustedError, match=r"turn 2 but its script has 1"):
        await model.complete(USER, TOOLS)


async def test_assert_consumed_fails_when_turns_are_left() -> None:
    model = ScriptedModel(["one", "two"])
    await model.complete(USER, TOOLS)
    with pytest.raises(AssertionError, match="1 of 2 turns were not played"):
        model.assert_consumed()


async def test_parallel_calls_get_distinct_ids_and_explicit_ids_are_kept() -> None:
    model = ScriptedModel(
        [
            calls(tool_call("a", {}), tool_call("b", {"x": 1}), content="checking"),
            [tool_call("c", id="mine"), tool_call("d")],
        ]
    )
    one = await model.complete(USER, TOOLS)
    two = await model.complete(USER, TOOLS)
    assert [c.id for c in one.message.tool_calls] == ["call_1", "call_2"]
    assert one.message.content == "checking"
    assert [c.id for c in two.message.tool_calls] == ["mine", "call_3"]


async def test_invalid_json_arguments_are_sent_verbatim() -> None:
    model = ScriptedModel([tool_call("getPet", '{"petId": ')])
    turn = await model.complete(USER, TOOLS)
    assert turn.message.tool_calls[0].arguments == '{"petId": '


async def test_a_scripted_exception_is_raised_at_its_turn() -> None:
    model = ScriptedModel([ModelError("provider down", status=503)])
    with pytest.raises(ModelError, match="provider down"):
        await model.complete(USER, TOOLS)
    model.assert_consumed()


async def test_full_turns_keep_their_usage_and_text_is_streamed_to_on_text() -> None:
    usage = Usage(prompt_tokens=10, completion_tokens=3)
    model = ScriptedModel([text("hello", usage=usage)])
    seen: list[str] = []
    turn = await model.complete(USER, TOOLS, on_text=seen.append)
    assert turn.usage == usage
    assert seen == ["hello"]


async def test_a_non_assistant_message_is_rejected() -> None:
    model = ScriptedModel([Message(role="user", content="oops")])
    with pytest.raises(TypeError, match="assistant"):
        await model.complete(USER, TOOLS)


async def test_function_model_reacts_to_the_messages() -> None:
    def fn(messages: list[Message], tools: list[JSONObject]) -> ModelTurn | str:
        last = messages[-1]
        if last.role == "tool":
            return f"the API said {last.content}"
        return calls(ToolCall(id="", name="getPet", arguments='{"petId": 7}'))

    model = FunctionModel(fn)
    first = await model.complete(USER, TOOLS)
    assert first.message.tool_calls[0].id == "call_1"
    answer = Message(role="tool", content='{"name": "Rex"}', tool_call_id="call_1", name="getPet")
    second = await model.complete([*USER, first.message, answer], TOOLS)
    assert second.message.content == 'the API said {"name": "Rex"}'
    assert len(model.requests) == 2


async def test_function_model_accepts_async_functions() -> None:
    async def fn(messages: list[Message], tools: list[JSONObject]) -> str:
        return f"{len(tools)} tools"

    model = FunctionModel(fn, model="fn-model")
    turn = await model.complete(USER, TOOLS)
    assert turn.message.content == "1 tools"
    assert turn.model == "fn-model"
    await model.aclose()
    assert model.closed


def test_block_remote_models_sets_and_restores_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(BLOCK_REMOTE_MODELS_ENV, "0")
    with block_remote_models():
        assert os.environ[BLOCK_REMOTE_MODELS_ENV] == "1"
    assert os.environ[BLOCK_REMOTE_MODELS_ENV] == "0"
