"""The local model's pieces that need no running model: weights lookup, command, loop guard."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import ModelConfigError
from agent.local_model import (
    MODEL_ALIAS,
    WEIGHTS_ENV,
    LocalModelServer,
    LocalModelSettings,
    find_weights,
    repeats_answered_call,
)
from agent.messages import Message, ModelTurn, ToolCall


def test_weights_can_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weights = tmp_path / "model.gguf"
    weights.write_bytes(b"GGUF")
    monkeypatch.setenv(WEIGHTS_ENV, str(weights))
    assert find_weights() == weights


def test_missing_weights_named_in_the_environment_are_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path / "nope.gguf"))
    with pytest.raises(ModelConfigError, match="is not a file"):
        find_weights()


def test_the_server_command_binds_loopback_with_tool_calling(tmp_path: Path) -> None:
    server = LocalModelServer(LocalModelSettings(n_ctx=2048, n_threads=1))
    command = server.command(tmp_path / "m.gguf", 4321)
    options = dict(zip(command[3::2], command[4::2], strict=True))
    assert command[1:3] == ["-m", "agent.llama_server"]
    assert options["--host"] == "127.0.0.1"
    assert options["--port"] == "4321"
    assert options["--chat_format"] == "chatml-function-calling"
    assert options["--model_alias"] == MODEL_ALIAS
    assert options["--n_ctx"] == "2048"
    assert options["--n_threads"] == "1"


CALL = ToolCall(id="c1", name="listMembers", arguments="{}")
ASKED = [Message(role="system", content="s"), Message(role="user", content="list members")]
ANSWERED = [
    *ASKED,
    Message(role="assistant", tool_calls=[CALL]),
    Message(role="tool", content="[]", tool_call_id="c1", name="listMembers"),
]


def turn_calling(*calls: ToolCall) -> ModelTurn:
    return ModelTurn(message=Message(role="assistant", tool_calls=list(calls)))


def test_repeating_an_answered_call_is_detected_whatever_the_json_spacing() -> None:
    again = ToolCall(id="c2", name="listMembers", arguments="{ }")
    assert repeats_answered_call(ANSWERED, turn_calling(again))


def test_a_new_call_or_different_arguments_are_not_repeats() -> None:
    other = ToolCall(id="c2", name="listTasks", arguments="{}")
    assert not repeats_answered_call(ANSWERED, turn_calling(other))
    changed = ToolCall(id="c2", name="listMembers", arguments='{"limit": 2}')
    assert not repeats_answered_call(ANSWERED, turn_calling(changed))
    assert not repeats_answered_call(ASKED, turn_calling(CALL))  # nothing answered yet


def test_a_text_answer_is_never_a_repeat() -> None:
    answer = ModelTurn(message=Message(role="assistant", content="done"))
    assert not repeats_answered_call(ANSWERED, answer)
