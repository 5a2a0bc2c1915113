"""The shell's behaviour in process: tasks against the real demo API with a scripted model.

The pseudo-terminal tests (test_shell_pty.py) drive the real ``baton chat`` process; these
check the same behaviour faster and more precisely (exact requests, the API's state after).
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from rich.console import Console

from agent.demo_api import DemoServer
from agent.errors import ModelConfigError
from agent.messages import Message
from agent.resources import demo_spec
from agent.script_model import ScriptFileModel, script_path
from agent.shell import Shell, ShellOptions
from agent.shell_commands import dispatch
from agent.testing import ScriptedModel, calls, text, tool_call

KEY = "demo-key-7f3a9c"


@pytest.fixture
def demo(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[DemoServer]:
    monkeypatch.setenv("BATON_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("BATON_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("BATON_AUTH_API_KEY", KEY)
    with DemoServer(api_key=KEY) as server:
        yield server


class Answers:
    """Plays the person answering confirmation questions."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.questions: list[str] = []

    async def __call__(self, question: str) -> str:
        self.questions.append(question)
        return self.answers.pop(0)


def make_shell(
    demo: DemoServer, model: ScriptedModel | None, *, approve: str = "ask"
) -> tuple[Shell, io.StringIO]:
    out = io.StringIO()
    console = Console(file=out, width=200, force_terminal=False, color_system=None)
    options = ShellOptions(
        specs=[str(demo_spec())],
        server=demo.base_url,
        approve=approve,  # type: ignore[arg-type]
    )
    shell = Shell(options, model=model, console=console)
    return shell, out


@pytest.fixture
async def closing() -> AsyncIterator[list[Shell]]:
    shells: list[Shell] = []
    yield shells
    for shell in shells:
        await shell.aclose()


async def test_a_task_shows_each_call_with_method_url_status_and_a_summary(
    demo: DemoServer, closing: list[Shell]
) -> None:
    model = ScriptedModel(
        [
            calls(tool_call("listTasks", {"status": "open", "label": ["bug"], "limit": 3})),
            text("The three newest open bugs are 56, 53 and 45."),
        ]
    )
    shell, out = make_shell(demo, model)
    closing.append(shell)
    result = await shell.run_task("find the three newest open bugs")
    assert result is not None
    assert result.ok, result.error
    shown = out.getvalue()
    assert f"listTasks  GET {demo.base_url}/tasks?status=open&label=bug&limit=3  200" in shown
    assert "The three newest open bugs are 56, 53 and 45." in shown
    assert shown.count("The three newest open bugs") == 1  # streamed once, not echoed again
    assert "done: 1 call," in shown
    assert KEY not in shown  # the key was sent (the API requires it) but never shown
    model.assert_consumed()


async def test_a_side_effect_is_shown_and_sent_only_when_allowed(
    demo: DemoServer, closing: list[Shell]
) -> None:
    comment = tool_call("addComment", {"task_id": 2, "body": {"body": "on it"}})
    model = ScriptedModel([calls(comment), text("Commented.")])
    shell, out = make_shell(demo, model)
    closing.append(shell)
    shell.ask = answers = Answers("a")
    await shell.run_task("comment on task 2")
    assert len(answers.questions) == 1
    shown = out.getvalue()
    assert "addComment wants to send" in shown
    assert f"POST {demo.base_url}/tasks/2/comments" in shown
    assert '"body": "on it"' in shown
    assert "  201" in shown
    assert [c["body"] for c in demo.store.comments[2]] == ["on it"]


async def test_a_denied_side_effect_is_not_sent_and_the_model_is_told(
    demo: DemoServer, closing: list[Shell]
) -> None:
    comment = tool_call("addComment", {"task_id": 2, "body": {"body": "on it"}})
    model = ScriptedModel([calls(comment), text("I did not post it.")])
    shell, out = make_shell(demo, model)
    closing.append(shell)
    shell.ask = Answers("d")
    await shell.run_task("comment on task 2")
    assert demo.store.comments[2] == []
    told = model.requests[1].last
    assert told.role == "tool"
    assert "den" in (told.content or "").lower()
    assert "I did not post it." in out.getvalue()


async def test_always_approves_later_calls_of_that_tool_without_asking(
    demo: DemoServer, closing: list[Shell]
) -> None:
    new = {"body": {"project_id": "ops", "title": "Rotate keys"}}
    model = ScriptedModel(
        [calls(tool_call("createTask", new)), calls(tool_call("createTask", new)), text("ok")]
    )
    shell, _ = make_shell(demo, model)
    closing.append(shell)
    shell.ask = answers = Answers("w")
    await shell.run_task("create two tasks")
    assert len(answers.questions) == 1
    titles = [t["title"] for t in demo.store.tasks.values()]
    assert titles.count("Rotate keys") == 2


async def test_dry_run_shows_the_request_and_sends_nothing(
    demo: DemoServer, closing: list[Shell]
) -> None:
    model = ScriptedModel([calls(tool_call("deleteTask", {"task_id": 5})), text("ok")])
    shell, out = make_shell(demo, model)
    closing.append(shell)
    shell.ask = Answers("r")
    await shell.run_task("delete task 5")
    assert 5 in demo.store.tasks
    assert f"DELETE {demo.base_url}/tasks/5" in out.getvalue()
    assert "dry run, not sent" in out.getvalue()


async def test_unclear_answers_are_asked_again(demo: DemoServer, closing: list[Shell]) -> None:
    model = ScriptedModel([calls(tool_call("deleteTask", {"task_id": 5})), text("ok")])
    shell, out = make_shell(demo, model)
    closing.append(shell)
    shell.ask = answers = Answers("maybe", "y")
    await shell.run_task("delete task 5")
    assert len(answers.questions) == 2
    assert "answer a, d, w or r" in out.getvalue()
    assert 5 not in demo.store.tasks


async def test_without_a_person_side_effects_follow_approve(
    demo: DemoServer, closing: list[Shell]
) -> None:
    for approve, kept in (("no", True), ("yes", False)):
        model = ScriptedModel([calls(tool_call("deleteTask", {"task_id": 7})), text("ok")])
        shell, out = make_shell(demo, model, approve=approve)
        closing.append(shell)
        await shell.run_task("delete task 7")
        assert (7 in demo.store.tasks) is kept, approve
    assert "allow (--yes)" in out.getvalue()


async def test_a_failing_run_is_reported_and_the_shell_keeps_going(
    demo: DemoServer, closing: list[Shell]
) -> None:
    model = ScriptedModel([calls(tool_call("getTask", {"task_id": 999})), text("not found")])
    shell, out = make_shell(demo, model)
    closing.append(shell)
    result = await shell.run_task("show task 999")
    assert result is not None
    assert "getTask" in out.getvalue()
    assert "  404" in out.getvalue()
    assert "1 failed" in out.getvalue()


async def test_no_model_explains_how_to_configure_one(
    demo: DemoServer, closing: list[Shell]
) -> None:
    shell, out = make_shell(demo, None)
    closing.append(shell)
    assert await shell.run_task("list the tasks") is None
    assert "OPENAI_API_KEY" in out.getvalue()
    assert await dispatch(shell, '/call getTask {"task_id": 2}')
    assert '"title"' in out.getvalue()


async def run_command(shell: Shell, out: io.StringIO, line: str) -> str:
    start = len(out.getvalue())
    assert await dispatch(shell, line)
    return out.getvalue()[start:]


async def test_slash_commands(demo: DemoServer, closing: list[Shell]) -> None:
    shell, out = make_shell(demo, None)
    closing.append(shell)
    listed = await run_command(shell, out, "/tools")
    assert "11 tools" in listed
    assert "createTask" in listed
    assert "POST *" in listed  # side effects are marked
    assert "addComment" in (await run_command(shell, out, "/tools post a comment"))
    described = await run_command(shell, out, "/describe updateTask")
    assert "PATCH /tasks/{task_id}" in described
    assert '"task_id"' in described
    assert "did you mean" in (await run_command(shell, out, "/describe getTsk"))
    assert "arguments are not JSON" in (await run_command(shell, out, "/call getTask {"))
    invalid = await run_command(shell, out, '/call getTask {"task_id": "x"}')
    assert "invalid arguments for getTask" in invalid
    assert "no run yet" in (await run_command(shell, out, "/trace"))
    specs = await run_command(shell, out, "/specs")
    assert "Baton demo team tasks API" in specs
    assert demo.base_url in specs
    assert "/describe" in (await run_command(shell, out, "/help"))
    assert "unknown command /nope" in (await run_command(shell, out, "/nope"))
    assert not await dispatch(shell, "/exit")


async def test_auth_names_variables_and_never_shows_values(
    demo: DemoServer, closing: list[Shell], monkeypatch: pytest.MonkeyPatch
) -> None:
    shell, out = make_shell(demo, None)
    closing.append(shell)
    shown = await run_command(shell, out, "/auth")
    assert "BATON_AUTH_API_KEY" in shown
    assert "set" in shown
    assert KEY not in shown
    monkeypatch.delenv("BATON_AUTH_API_KEY")
    assert "unset" in (await run_command(shell, out, "/auth"))


async def test_manual_call_asks_before_a_side_effect(
    demo: DemoServer, closing: list[Shell]
) -> None:
    shell, out = make_shell(demo, None)
    closing.append(shell)
    shell.ask = Answers("r", "a")
    line = '/call updateTask {"task_id": 3, "body": {"status": "done"}}'
    dry = await run_command(shell, out, line)
    assert "dry run of updateTask: not sent" in dry
    assert demo.store.tasks[3]["status"] != "done"
    sent = await run_command(shell, out, line)
    assert "200" in sent
    assert demo.store.tasks[3]["status"] == "done"


async def test_trace_shows_steps_and_attempts_of_the_last_run(
    demo: DemoServer, closing: list[Shell]
) -> None:
    model = ScriptedModel([calls(tool_call("listMembers", {})), text("Six members.")])
    shell, out = make_shell(demo, model)
    closing.append(shell)
    await shell.run_task("who is on the team?")
    tree = await run_command(shell, out, "/trace")
    assert "user: who is on the team?" in tree
    assert "calls listMembers" in tree
    assert f"attempt 1  GET {demo.base_url}/members  200" in tree
    assert "answer: Six members." in tree


async def test_spec_add_and_reset(demo: DemoServer, closing: list[Shell], tmp_path: Path) -> None:
    shell, out = make_shell(demo, None)
    closing.append(shell)
    copy = tmp_path / "again.yaml"
    copy.write_text(demo_spec().read_text())
    added = await run_command(shell, out, f"/spec add {copy}")
    assert "11 tools" in added
    assert "22 tools in all" in added
    assert "usage: /spec add" in (await run_command(shell, out, "/spec"))
    assert "forgotten" in (await run_command(shell, out, "/reset"))


def test_script_file_model_plays_turns_and_streams_text(tmp_path: Path) -> None:
    import asyncio

    path = tmp_path / "turns.json"
    path.write_text(
        json.dumps([{"calls": [{"name": "getTask", "arguments": {"task_id": 1}}]}, "Done now."])
    )
    model = ScriptFileModel.load(str(path))
    assert script_path(f"script:{path}") == str(path)
    assert script_path("gpt-4o") is None
    pieces: list[str] = []
    user = [Message(role="user", content="x")]
    first = asyncio.run(model.complete(user, [], on_text=pieces.append))
    assert first.message.tool_calls[0].name == "getTask"
    assert json.loads(first.message.tool_calls[0].arguments) == {"task_id": 1}
    second = asyncio.run(model.complete(user, [], on_text=pieces.append))
    assert second.message.content == "Done now."
    assert pieces == ["Done ", "now."]


def test_a_bad_script_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([{"calls": [{"arguments": {}}]}]))
    with pytest.raises(ModelConfigError, match=r"calls\[0\] needs a string 'name'"):
        ScriptFileModel.load(path)
    with pytest.raises(ModelConfigError, match="cannot read model script"):
        ScriptFileModel.load(tmp_path / "missing.json")


async def test_save_exports_the_last_run_as_an_arazzo_workflow(
    demo: DemoServer, closing: list[Shell], tmp_path: Path
) -> None:
    import yaml

    model = ScriptedModel(
        [
            calls(tool_call("listTasks", {"status": "open", "limit": 1})),
            calls(tool_call("getTask", {"task_id": 60})),
            text("Task 60 is the newest open task."),
        ]
    )
    shell, out = make_shell(demo, model)
    closing.append(shell)
    assert "no run to save yet" in (await run_command(shell, out, "/save x.yaml"))
    await shell.run_task("show the newest open task")
    target = tmp_path / "newest.arazzo.yaml"
    saved = await run_command(shell, out, f"/save {target}")
    assert "saved the last run as an Arazzo workflow" in saved
    document = yaml.safe_load(target.read_text())
    assert document["arazzo"].startswith("1.0")
    steps = document["workflows"][0]["steps"]
    assert [s["stepId"] for s in steps] == ["listTasks", "getTask"]


async def test_save_reports_a_run_with_nothing_to_export(
    demo: DemoServer, closing: list[Shell], tmp_path: Path
) -> None:
    shell, out = make_shell(demo, ScriptedModel([text("Nothing to do.")]))
    closing.append(shell)
    await shell.run_task("say hi")
    shown = await run_command(shell, out, f"/save {tmp_path / 'x.yaml'}")
    assert "error: run" in shown
    assert "no successful call" in shown


async def test_the_shell_starts_with_no_spec_and_no_model(closing: list[Shell]) -> None:
    out = io.StringIO()
    console = Console(file=out, width=200, force_terminal=False, color_system=None)
    shell = Shell(ShellOptions(specs=[], run_store=False), console=console)
    closing.append(shell)
    shell.greet()
    assert "0 tools from no spec (use /spec add PATH|URL)" in out.getvalue()
    assert await shell.run_task("anything") is None
    assert "No spec is loaded either" in out.getvalue()
    await run_command(shell, out, f"/spec add {demo_spec()}")
    assert "11 tools in all" in out.getvalue()


async def test_reset_forgets_always_approvals(demo: DemoServer, closing: list[Shell]) -> None:
    new = {"body": {"project_id": "ops", "title": "Rotate keys"}}
    model = ScriptedModel(
        [calls(tool_call("createTask", new)), text("one"), calls(tool_call("createTask", new)),
         text("two")]
    )  # fmt: skip
    shell, out = make_shell(demo, model)
    closing.append(shell)
    shell.ask = answers = Answers("w", "d")
    await shell.run_task("create a task")
    await run_command(shell, out, "/reset")
    await shell.run_task("create it again")
    assert len(answers.questions) == 2
    titles = [t["title"] for t in demo.store.tasks.values()]
    assert titles.count("Rotate keys") == 1


async def test_model_shows_and_switches_the_model(
    demo: DemoServer, closing: list[Shell], tmp_path: Path
) -> None:
    shell, out = make_shell(demo, None)
    closing.append(shell)
    assert "No model is configured" in (await run_command(shell, out, "/model"))
    script = tmp_path / "turns.json"
    script.write_text(json.dumps(["Switched and answering."]))
    switched = await run_command(shell, out, f"/model script:{script}")
    assert "model: script:turns.json" in switched
    result = await shell.run_task("are you there?")
    assert result is not None
    assert result.answer == "Switched and answering."
    bad = await run_command(shell, out, f"/model script:{tmp_path / 'missing.json'}")
    assert "error: no model: cannot read model script" in bad
    assert shell.model is not None  # a failed switch keeps the working model
