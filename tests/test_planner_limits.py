"""Each run limit ends the run with a LimitExceededError that carries the partial transcript."""

from __future__ import annotations

import asyncio

from agent.agent import Agent, RunResult
from agent.errors import LimitExceededError
from agent.messages import Message, ModelTurn, Usage
from agent.planner import Limits
from agent.testing import FunctionModel, ScriptedModel, TurnLike, calls, tool_call
from tests.petstore import PetAPI, pet_catalog
from tools.model import JSONObject


def agent_with(model: ScriptedModel | FunctionModel, limits: Limits) -> Agent:
    return Agent(pet_catalog(), model=model, transport=PetAPI().transport(), limits=limits)


def assert_limit(result: RunResult, kind: str) -> LimitExceededError:
    assert result.answer is None
    assert isinstance(result.exception, LimitExceededError)
    assert result.exception.limit == kind
    assert result.exception.transcript is result.transcript
    last = result.transcript.steps[-1]
    assert last.kind == "error"
    assert last.error_type == "LimitExceededError"
    assert result.error is not None
    assert f"limit reached ({kind})" in result.error
    return result.exception


async def test_the_turn_limit() -> None:
    model = FunctionModel(lambda messages, tools: tool_call("listPets"))
    result = await agent_with(model, Limits(max_turns=3)).run("loop forever")
    assert_limit(result, "steps")
    assert len(model.requests) == 3
    assert len(result.calls) == 3


async def test_the_token_limit_stops_before_running_the_calls() -> None:
    heavy = calls(tool_call("listPets"), usage=Usage(prompt_tokens=900, completion_tokens=200))
    model = ScriptedModel([heavy])
    result = await agent_with(model, Limits(max_tokens=1_000)).run("spend")
    assert_limit(result, "tokens")
    assert result.calls == []
    assert result.usage.total_tokens == 1_100


async def test_the_wall_time_limit() -> None:
    async def slow(messages: list[Message], tools: list[JSONObject]) -> ModelTurn:
        await asyncio.sleep(5)
        raise AssertionError("the time limit should have cancelled this turn")

    result = await agent_with(FunctionModel(slow), Limits(max_seconds=0.1)).run("wait")
    assert_limit(result, "time")


async def test_consecutive_failed_turns() -> None:
    model = FunctionModel(lambda messages, tools: tool_call("getPet", {"petId": "x"}))
    result = await agent_with(model, Limits(max_consecutive_errors=2)).run("fail")
    assert_limit(result, "consecutive_errors")
    assert [s.error_type for s in result.calls] == ["ArgumentError", "ArgumentError"]


async def test_one_success_resets_the_error_count() -> None:
    script: list[TurnLike] = [
        tool_call("getPet", {"petId": "x"}),
        tool_call("getPet", {"petId": 1}),
        tool_call("getPet", {"petId": "x"}),
        "done",
    ]
    result = await agent_with(ScriptedModel(script), Limits(max_consecutive_errors=2)).run("mix")
    assert result.error is None
    assert result.answer == "done"


async def test_the_conversation_stays_valid_after_a_limit() -> None:
    # The token limit stops before the calls run; the next task must still see an answer
    # for every call id (Chat Completions rejects dangling tool calls).
    heavy = calls(tool_call("listPets"), usage=Usage(prompt_tokens=5_000))
    model = ScriptedModel([heavy, "second answer"])
    agent = agent_with(model, Limits(max_tokens=3_000))
    await agent.run("first")
    result = await agent.run("second")
    assert result.answer == "second answer"
    sent = model.requests[1].messages
    call_id = sent[2].tool_calls[0].id
    assert [m.tool_call_id for m in sent if m.role == "tool"] == [call_id]
