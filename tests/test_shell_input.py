"""Completion of slash commands, tool names and paths; where history lives."""

from __future__ import annotations

from pathlib import Path

import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from agent.shell_commands import COMMANDS
from agent.shell_input import ShellCompleter, history_path

TOOLS = ["getTask", "getProject", "listTasks"]


def complete(text: str) -> list[str]:
    completer = ShellCompleter(COMMANDS, lambda: TOOLS)
    found = completer.get_completions(Document(text, len(text)), CompleteEvent())
    return [c.text for c in found]


def test_slash_commands_complete_from_their_prefix() -> None:
    assert complete("/de") == ["/describe"]
    assert set(complete("/t")) == {"/tools", "/trace"}
    assert "/help" in complete("/")


def test_tool_names_complete_after_describe_and_call() -> None:
    assert complete("/describe get") == ["getTask", "getProject"]
    assert complete("/call list") == ["listTasks"]
    assert complete('/call getTask {"') == []  # arguments are not tool names


def test_tasks_are_not_completed() -> None:
    assert complete("get the tasks") == []


def test_spec_add_completes_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "demo.yaml").write_text("x")
    monkeypatch.chdir(tmp_path)
    assert complete("/spec a") == ["add"]
    assert complete("/spec add de") == ["mo.yaml"]


def test_history_lives_next_to_the_run_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATON_HOME", str(tmp_path))
    assert history_path() == tmp_path / "history"


def test_history_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    from prompt_toolkit.completion import WordCompleter

    from agent.shell_input import make_session

    path = tmp_path / "history"
    make_session(WordCompleter([]), history=path)
    assert path.stat().st_mode & 0o777 == 0o600
