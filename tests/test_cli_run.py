"""``baton run`` end to end: a real Chat Completions server and the demo API, both on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.cli import main
from agent.demo_api import running_demo_api
from agent.runstore import RunStore
from tests.chat_server import ChatServer, Reply, call_delta, chunk, serve, text_stream
from tests.conftest import SPECS

DEMO = str(SPECS / "demo.yaml")


@pytest.fixture
def chat(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[ChatServer]:
    for server in serve():
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        monkeypatch.setenv("BATON_HOME", str(tmp_path))
        monkeypatch.setenv("BATON_CACHE_DIR", str(tmp_path / "cache"))
        yield server


@pytest.fixture
def demo() -> Iterator[str]:
    with running_demo_api() as url:
        yield url


def call_reply(name: str, args: dict[str, Any]) -> Reply:
    return Reply(
        sse=[
            chunk({"role": "assistant", "content": None}),
            chunk(call_delta(0, id=f"call_{name}", name=name, args=json.dumps(args))),
            chunk({}, finish_reason="tool_calls"),
            chunk(None, usage=(120, 10)),
        ]
    )


def baton_run(task: str, server: str, *extra: str) -> int:
    return main(["run", task, "--spec", DEMO, "--server", server, "--model", "test-model", *extra])


def test_run_prints_the_answer_after_real_calls(
    chat: ChatServer, demo: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    chat.queue(call_reply("listProjects", {}), Reply(sse=text_stream("There are 3 projects.")))
    assert baton_run("how many projects?", demo) == 0
    out = capsys.readouterr()
    assert out.out == "There are 3 projects.\n"
    assert "listProjects: GET http://127.0.0.1:" in out.err
    assert "-> 200" in out.err
    tool_message = chat.requests[1].body["messages"][-1]
    assert tool_message["role"] == "tool"
    assert '"status":200' in tool_message["content"]
    (record,) = RunStore(tmp_path / "runs.sqlite").list()
    assert (record.status, record.answer) == ("done", "There are 3 projects.")


def test_side_effects_need_yes(
    chat: ChatServer, demo: str, capsys: pytest.CaptureFixture[str]
) -> None:
    new = {"body": {"project_id": "web", "title": "Write docs"}}
    chat.queue(call_reply("createTask", new), Reply(sse=text_stream("Not allowed.")))
    assert baton_run("add a task", demo, "--json") == 0
    denied = json.loads(capsys.readouterr().out)
    (step,) = [s for s in denied["transcript"]["steps"] if s["kind"] == "tool_call"]
    assert step["error_type"] == "SideEffectDeniedError"

    chat.queue(call_reply("createTask", new), Reply(sse=text_stream("Created.")))
    assert baton_run("add a task", demo, "--json", "--yes") == 0
    done = json.loads(capsys.readouterr().out)
    (step,) = [s for s in done["transcript"]["steps"] if s["kind"] == "tool_call"]
    assert step["result"]["status"] == 201
    assert done["status"] == "done"
    assert done["usage"]["total_tokens"] > 0


def test_a_failed_run_exits_1(
    chat: ChatServer, demo: str, capsys: pytest.CaptureFixture[str]
) -> None:
    chat.queue(call_reply("listProjects", {}))
    assert baton_run("loop", demo, "--max-turns", "1", "--no-save") == 1
    err = capsys.readouterr().err
    assert "error: limit reached (steps)" in err


def test_bad_input_exits_2_with_one_error_line(
    chat: ChatServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = str(tmp_path / "nope.yaml")
    assert main(["run", "x", "--spec", missing, "--model", "test-model"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    assert main(["run", "  ", "--spec", DEMO]) == 2
    assert capsys.readouterr().err == "error: the task is empty\n"


def test_missing_credentials_exit_2(
    chat: ChatServer, demo: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    spec = tmp_path / "locked.yaml"
    spec.write_text(
        "openapi: 3.0.3\n"
        "info: {title: Locked, version: '1'}\n"
        "components:\n"
        "  securitySchemes:\n"
        "    vault_key: {type: apiKey, in: header, name: X-API-Key}\n"
        "security: [{vault_key: []}]\n"
        "paths:\n"
        "  /health:\n"
        "    get:\n"
        "      operationId: getHealth\n"
        "      responses: {'200': {description: ok}}\n"
    )
    chat.queue(call_reply("getHealth", {}))
    argv = ["run", "health?", "--spec", str(spec), "--server", demo, "--model", "m"]
    code = main([*argv, "--no-save"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("error: ") == 1
    assert "BATON_AUTH_VAULT_KEY" in err
