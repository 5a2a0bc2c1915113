"""The planner loop with scripted models and an in-memory API behind MockTransport."""

from __future__ import annotations

import json

import pytest

from agent.agent import Agent, RunResult
from agent.dispatch import parse_arguments
from agent.errors import ModelError
from agent.testing import FunctionModel, ScriptedModel, calls, text, tool_call
from tests.petstore import PetAPI, pet_catalog


def make_agent(model: ScriptedModel | FunctionModel, api: PetAPI, **kwargs: object) -> Agent:
    return Agent(pet_catalog(), model=model, transport=api.transport(), **kwargs)  # type: ignore[arg-type]


def kinds(result: RunResult) -> list[str]:
    return [step.kind for step in result.transcript.steps]


async def test_a_final_answer_ends_the_run() -> None:
    model = ScriptedModel(["Nothing to do."])
    result = await make_agent(model, PetAPI()).run("say hi")
    assert result.answer == "Nothing to do."
    assert result.error is None
    assert kinds(result) == ["user", "model_turn", "answer"]
    model.assert_consumed()
    system, user = model.requests[0].messages
    assert system.role == "system"
    assert "search_operations" in (system.content or "")
    assert user.content == "say hi"


async def test_a_tool_result_is_observed_and_used_for_the_answer() -> None:
    api = PetAPI()
    model = ScriptedModel([tool_call("getPet", {"petId": 2}), "Pet 2 is pet2."])
    result = await make_agent(model, api).run("what is pet 2 called?")
    assert result.answer == "Pet 2 is pet2."
    assert kinds(result) == ["user", "model_turn", "tool_call", "model_turn", "answer"]
    (step,) = result.calls
    assert step.result is not None
    assert step.result.status == 200
    assert step.handle == "r1"
    assert json.loads(step.observation) == {
        "status": 200,
        "handle": "r1",
        "body": {"id": 2, "name": "pet2", "tag": "dog"},
    }
    tool_message = model.requests[1].last
    assert tool_message.role == "tool"
    assert tool_message.tool_call_id == step.call_id
    assert tool_message.content == step.observation
    assert [str(r.url) for r in api.requests] == ["https://pets.example.com/v1/pets/2"]


async def test_calls_of_one_turn_run_concurrently_and_answer_in_order() -> None:
    # pairA and pairB each wait for the other: run one after the other, both would time out.
    api = PetAPI()
    model = ScriptedModel([calls(tool_call("pairB"), tool_call("pairA")), "both done"])
    result = await make_agent(model, api).run("pair up")
    assert result.error is None
    assert [json.loads(s.observation)["body"] for s in result.calls] == [
        {"side": "b"},
        {"side": "a"},
    ]
    tool_messages = model.requests[1].messages[-2:]
    assert [m.name for m in tool_messages] == ["pairB", "pairA"]


async def test_the_model_corrects_an_invalid_argument() -> None:
    api = PetAPI()
    model = ScriptedModel(
        [tool_call("getPet", {"petId": "two"}), tool_call("getPet", {"petId": 2}), "pet2"]
    )
    result = await make_agent(model, api).run("get pet two")
    first, second = result.calls
    assert first.error_type == "ArgumentError"
    assert "/petId" in first.observation
    assert "call getPet again" in first.observation
    assert second.result is not None
    assert len(api.requests) == 1  # the invalid call was never sent
    assert result.answer == "pet2"


async def test_arguments_that_are_not_json_are_reported_to_the_model() -> None:
    model = ScriptedModel(
        [tool_call("getPet", '{"petId": 1'), tool_call("getPet", {"petId": 1}), "ok"]
    )
    result = await make_agent(model, PetAPI()).run("get pet 1")
    bad = result.calls[0]
    assert bad.arguments is None
    assert bad.error_type == "InvalidJSONError"
    assert "not valid JSON" in bad.observation
    assert result.answer == "ok"


async def test_an_unknown_tool_gets_suggestions() -> None:
    model = ScriptedModel([tool_call("getPets", {}), "sorry"])
    result = await make_agent(model, PetAPI()).run("pets?")
    step = result.calls[0]
    assert step.error_type == "UnknownToolError"
    assert 'no operation named "getPets"' in step.observation
    assert "getPet" in step.observation


async def test_a_side_effect_without_approval_is_denied_and_not_sent() -> None:
    api = PetAPI()
    model = ScriptedModel([tool_call("createPet", {"body": {"name": "rex"}}), "not allowed"])
    result = await make_agent(model, api).run("add rex")
    step = result.calls[0]
    assert step.error_type == "SideEffectDeniedError"
    assert "did not approve" in step.observation
    assert api.requests == []
    assert result.answer == "not allowed"


async def test_confirmations_are_asked_and_recorded() -> None:
    api = PetAPI()
    asked: list[str] = []

    async def confirm(request: object) -> str:
        asked.append(getattr(request, "tool", ""))
        return "allow"

    model = ScriptedModel([tool_call("createPet", {"body": {"name": "rex"}}), "created"])
    result = await make_agent(model, api, confirm=confirm).run("add rex")
    assert asked == ["createPet"]
    assert "confirmation" in kinds(result)
    confirmation = next(s for s in result.transcript.steps if s.kind == "confirmation")
    assert confirmation.decision == "allow"
    assert api.pets[4]["name"] == "rex"


async def test_a_dry_run_decision_sends_nothing() -> None:
    api = PetAPI()

    async def confirm(request: object) -> str:
        return "dry_run"

    model = ScriptedModel([tool_call("createPet", {"body": {"name": "rex"}}), "dry"])
    result = await make_agent(model, api, confirm=confirm).run("add rex")
    step = result.calls[0]
    assert step.request is not None
    assert step.request.method == "POST"
    assert "dry run" in step.observation
    assert api.requests == []


async def test_an_http_error_status_is_an_observation() -> None:
    model = ScriptedModel([tool_call("getPet", {"petId": 99}), tool_call("listPets"), "no 99"])
    result = await make_agent(model, PetAPI()).run("get 99")
    step = result.calls[0]
    assert step.result is not None
    assert step.result.status == 404
    assert step.observation.startswith("getPet answered HTTP 404.")
    assert "no pet 99" in step.observation
    assert result.answer == "no 99"


async def test_model_errors_end_the_run_with_the_partial_transcript() -> None:
    model = ScriptedModel([tool_call("listPets"), ModelError("provider down", model="m")])
    result = await make_agent(model, PetAPI()).run("list")
    assert result.answer is None
    assert result.error == "ModelError: provider down"
    assert kinds(result)[-1] == "error"
    assert len(result.calls) == 1
    with pytest.raises(Exception, match="provider down") as info:
        result.raise_for_error()
    assert info.value.transcript is result.transcript  # type: ignore[attr-defined]


async def test_usage_is_counted_when_the_model_does_not_report_it() -> None:
    result = await make_agent(ScriptedModel([text("fine")]), PetAPI()).run("hello")
    turn = next(s for s in result.transcript.steps if s.kind == "model_turn")
    assert turn.usage.prompt_tokens > 50  # system prompt + tools
    assert turn.usage.completion_tokens >= 1
    assert result.usage == turn.usage


async def test_a_small_model_gets_a_short_prompt_and_the_best_match() -> None:
    model = ScriptedModel(["ok"], model="smollm2-135m-instruct")
    await make_agent(model, PetAPI()).run("get the pet with id 2")
    request = model.requests[0]
    assert request.tool_names == ["getPet"]  # a clear winner, shown alone
    assert "search_operations" not in (request.messages[0].content or "")


async def test_repeated_or_missing_call_ids_are_made_unique() -> None:
    same = [
        tool_call("getPet", {"petId": 1}, id="dup"),
        tool_call("getPet", {"petId": 2}, id="dup"),
    ]
    model = ScriptedModel([calls(*same), "two pets"])
    result = await make_agent(model, PetAPI()).run("pets 1 and 2")
    ids = [s.call_id for s in result.calls]
    assert ids[0] == "dup"
    assert len(set(ids)) == 2
    answered = [m.tool_call_id for m in model.requests[1].messages if m.role == "tool"]
    assert answered == ids


def test_argument_text_is_parsed_leniently_only_where_unambiguous() -> None:
    assert parse_arguments("") == {}
    assert parse_arguments('{"petId": 1}') == {"petId": 1}
    assert parse_arguments(json.dumps('{"petId": 1}')) == {"petId": 1}  # encoded twice
    with pytest.raises(ValueError, match="expected an object, got list"):
        parse_arguments("[1]")
    with pytest.raises(ValueError, match="line 1 column"):
        parse_arguments('{"petId": ')
