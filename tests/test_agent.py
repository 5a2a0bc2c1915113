"""The Agent API: multi-turn, streaming, run_sync, big results + extract, secrets, run store."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import httpx2
import pytest

from agent.agent import Agent
from agent.messages import Message
from agent.planner import Limits
from agent.runstore import RunStore
from agent.testing import FunctionModel, ScriptedModel, tool_call
from agent.transcript import ConfirmationStep, Step
from tests.conftest import SPECS
from tests.petstore import PetAPI, pet_catalog
from tools.call import PreparedRequest
from tools.executor import ExecutorSettings
from tools.model import JSONObject
from tools.policy import Decision, Policy


def make_agent(model: ScriptedModel | FunctionModel, api: PetAPI, **kwargs: object) -> Agent:
    return Agent(pet_catalog(), model=model, transport=api.transport(), **kwargs)  # type: ignore[arg-type]


async def test_later_runs_keep_the_conversation() -> None:
    model = ScriptedModel([tool_call("getPet", {"petId": 1}), "pet1", "It was pet1."])
    agent = make_agent(model, PetAPI())
    first = await agent.run("name of pet 1?")
    second = await agent.run("what did you just tell me?")
    assert (first.answer, second.answer) == ("pet1", "It was pet1.")
    sent = [(m.role, m.content) for m in model.requests[2].messages if m.role != "tool"]
    assert sent[1:] == [
        ("user", "name of pet 1?"),
        ("assistant", None),
        ("assistant", "pet1"),
        ("user", "what did you just tell me?"),
    ]
    assert first.transcript.run_id != second.transcript.run_id
    assert [s.kind for s in second.transcript.steps] == ["user", "model_turn", "answer"]


async def test_reset_forgets_the_conversation_and_results() -> None:
    model = ScriptedModel(["a", "b"])
    agent = make_agent(model, PetAPI())
    await agent.run("one")
    agent.reset()
    await agent.run("two")
    assert [m.role for m in model.requests[1].messages] == ["system", "user"]
    assert len(agent.store) == 0


async def test_stream_yields_each_step_as_it_happens() -> None:
    model = ScriptedModel([tool_call("listPets", {"limit": 1}), "one pet"])
    agent = make_agent(model, PetAPI())
    seen: list[Step] = [step async for step in agent.stream("list one pet")]
    assert [s.kind for s in seen] == ["user", "model_turn", "tool_call", "model_turn", "answer"]
    assert agent.last_result is not None
    assert agent.last_result.transcript.steps == seen


def test_run_sync_serves_scripts() -> None:
    model = ScriptedModel([tool_call("getPet", {"petId": 3}), "pet3", "again"])
    agent = make_agent(model, PetAPI())
    try:
        assert agent.run_sync("pet 3?").answer == "pet3"
        assert agent.run_sync("and again?").answer == "again"
    finally:
        agent.close()


async def test_a_big_result_is_shortened_and_read_back_with_extract() -> None:
    api = PetAPI(big=300)

    def model_fn(messages: list[Message], tools: list[JSONObject]) -> object:
        last = messages[-1]
        if last.role == "user":
            return tool_call("listPets")
        data = json.loads(last.content or "")
        if "truncated" in data:
            return tool_call(
                "extract", {"handle": data["handle"], "expression": "[?id==`250`].name | [0]"}
            )
        return f"found {data['result']}"

    model = FunctionModel(model_fn)  # type: ignore[arg-type]
    result = await make_agent(model, api, view_chars=3_000).run("name of pet 250?")
    listing, extracted = result.calls
    view = json.loads(listing.observation)
    assert len(listing.observation) <= 3_000
    assert view["truncated"] is True
    assert view["shape"]["count"] == 300
    assert view["pagination"]["next"].endswith("page=2")
    assert listing.result is not None
    assert len(listing.result.body) == 300  # the transcript keeps the whole body
    assert json.loads(extracted.observation)["result"] == "pet250"
    assert result.answer == "found pet250"


async def test_a_bad_extract_expression_is_an_observation() -> None:
    model = ScriptedModel(
        [tool_call("listPets"), tool_call("extract", {"handle": "r1", "expression": "[?"}), "hm"]
    )
    result = await make_agent(model, PetAPI()).run("list")
    assert result.calls[1].error_type == "ExtractError"
    assert result.calls[1].observation.startswith("extract failed:")
    assert result.answer == "hm"


async def test_secrets_never_reach_the_transcript(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-live-5ecr3t-value-0042"
    monkeypatch.setenv("BATON_AUTH_API_KEY", secret)
    api = PetAPI()
    model = ScriptedModel(
        [tool_call("getSecret"), tool_call("getPet", {"petId": 1, "note": secret}), f"key {secret}"]
    )
    result = await make_agent(model, api).run(f"use {secret} please")
    assert api.requests[0].headers["X-API-Key"] == secret  # it was sent...
    dumped = json.dumps(result.to_json())
    assert secret not in dumped  # ...and never recorded
    assert result.calls[0].result is not None


async def test_missing_credentials_end_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BATON_AUTH_API_KEY", raising=False)
    model = ScriptedModel([tool_call("getSecret")])
    result = await make_agent(model, PetAPI()).run("secret")
    assert result.error is not None
    assert "BATON_AUTH_API_KEY" in result.error
    assert result.calls[0].error_type == "CredentialsError"
    assert result.transcript.steps[-1].kind == "error"


async def test_runs_are_saved_to_the_run_store(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.sqlite")
    model = ScriptedModel([tool_call("getPet", {"petId": 1}), "pet1"])
    result = await make_agent(model, PetAPI(), run_store=store).run("pet 1?")
    assert store.load(result.transcript.run_id) == result.transcript
    (record,) = store.list()
    assert (record.task, record.status, record.answer) == ("pet 1?", "done", "pet1")


async def test_a_call_that_cannot_complete_is_an_observation() -> None:
    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("connection refused", request=request)

    model = ScriptedModel([tool_call("listPets"), "the API is down"])
    agent = Agent(
        pet_catalog(),
        model=model,
        transport=httpx2.MockTransport(refuse),
        settings=ExecutorSettings(max_attempts=1),
    )
    result = await agent.run("list")
    step = result.calls[0]
    assert step.error is not None
    assert step.observation.startswith("The call to listPets failed")
    assert result.answer == "the API is down"


async def test_deny_and_always_decisions_from_the_policy_callback() -> None:
    api = PetAPI()
    decisions = iter(["deny", "always"])

    async def confirm(request: PreparedRequest) -> Decision:
        return next(decisions)

    create = tool_call("createPet", {"body": {"name": "rex"}})
    model = ScriptedModel([create, create, create, "done"])
    agent = make_agent(model, api, policy=Policy(confirm=confirm))
    result = await agent.run("add rex, insist")
    recorded = [s.decision for s in result.transcript.steps if isinstance(s, ConfirmationStep)]
    assert recorded == ["deny", "always"]  # "always" is remembered: no third question
    assert [s.error_type for s in result.calls] == ["SideEffectDeniedError", None, None]
    assert len(api.requests) == 2


async def test_several_specs_and_catalogs_make_one_agent() -> None:
    model = ScriptedModel(["ok"])
    agent = Agent([SPECS / "demo.yaml", pet_catalog()], model=model)
    assert {"listTasks", "listPets"} <= set(agent.catalog.names())
    assert (await agent.run("hi")).answer == "ok"
    await agent.aclose()


async def test_leaving_a_stream_early_cancels_the_run(tmp_path: Path) -> None:
    model = FunctionModel(lambda messages, tools: tool_call("listPets"))
    store = RunStore(tmp_path / "runs.sqlite")
    agent = make_agent(model, PetAPI(), run_store=store)
    async with contextlib.aclosing(agent.stream("loop")) as steps:
        async for step in steps:
            if step.kind == "tool_call":
                break
    assert agent.planner.messages[-1].role == "tool"  # no dangling call for the next task
    (record,) = store.list()
    assert (record.status, record.error) == ("failed", "cancelled")


async def test_failed_runs_are_saved_too(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.sqlite")
    model = FunctionModel(lambda messages, tools: tool_call("listPets"))
    result = await make_agent(model, PetAPI(), run_store=store, limits=Limits(max_turns=1)).run("x")
    record = store.get(result.transcript.run_id)
    assert record.status == "failed"
    assert record.error is not None
    assert "limit reached (steps)" in record.error
    assert store.load(record.run_id).steps[-1].kind == "error"
