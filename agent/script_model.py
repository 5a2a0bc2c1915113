"""A scripted model loaded from a JSON file: ``BATON_MODEL=script:PATH`` (or ``--model``).

Owns the file format and a ``ModelClient`` that plays it, so that a test can drive the real
``baton chat``/``baton demo`` process (in a pseudo-terminal) without a model server. It is
the subprocess counterpart of ``agent.testing.ScriptedModel``, which in-process tests use.

The file holds a JSON list; each entry is one model turn:

- ``"text"``: a final answer;
- ``{"text": "...", "calls": [{"name": "listTasks", "arguments": {...}}], "sleep": 0.5}``:
  optional text, tool calls (arguments as an object or raw text), and a delay before the
  turn is delivered (to exercise spinners and Ctrl-C).

Text is streamed word by word through ``on_text`` like a real streaming client. When the
script runs out the model raises ``ScriptExhaustedError`` (a test that asks for more turns
than it wrote is wrong, and should say so).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agent.errors import ModelConfigError, ScriptExhaustedError
from agent.llm import TextSink
from agent.messages import Message, ModelTurn
from agent.testing import calls, text, tool_call
from tools.model import JSONObject

SCRIPT_PREFIX = "script:"


def _turn(entry: Any, where: str) -> tuple[ModelTurn, float]:
    if isinstance(entry, str):
        return text(entry), 0.0
    if not isinstance(entry, dict) or not set(entry) <= {"text", "calls", "sleep"}:
        raise ModelConfigError(f"{where}: a turn is a string or an object with text/calls/sleep")
    sleep = float(entry.get("sleep", 0.0))
    content = entry.get("text")
    raw_calls = entry.get("calls") or []
    if not raw_calls:
        return text(str(content or "")), sleep
    made = []
    for i, call in enumerate(raw_calls):
        if not isinstance(call, dict) or not isinstance(call.get("name"), str):
            raise ModelConfigError(f"{where}: calls[{i}] needs a string 'name'")
        made.append(tool_call(call["name"], call.get("arguments") or {}))
    return calls(*made, content=content), sleep


class ScriptFileModel:
    """Plays the turns of a script file in order (see the module docstring)."""

    def __init__(self, turns: Sequence[tuple[ModelTurn, float]], *, model: str) -> None:
        self.model = model
        self._turns = list(turns)
        self._played = 0
        self._ids = 0

    @classmethod
    def load(cls, path: str | Path) -> ScriptFileModel:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ModelConfigError(f"cannot read model script {path}: {exc}") from exc
        if not isinstance(data, list):
            raise ModelConfigError(f"{path}: a model script is a JSON list of turns")
        turns = [_turn(entry, f"{path}[{i}]") for i, entry in enumerate(data)]
        return cls(turns, model=f"script:{path.name}")

    async def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[JSONObject],
        *,
        on_text: TextSink | None = None,
    ) -> ModelTurn:
        if self._played >= len(self._turns):
            raise ScriptExhaustedError(
                f"model script {self.model} has {len(self._turns)} turns; a further one was asked"
            )
        turn, sleep = self._turns[self._played]
        self._played += 1
        if sleep:
            await asyncio.sleep(sleep)
        content = turn.message.content
        if on_text is not None and content:
            for piece in re.findall(r"\S+\s*|\s+", content):
                on_text(piece)
        return self._numbered(turn)

    def _numbered(self, turn: ModelTurn) -> ModelTurn:
        numbered = []
        for call in turn.message.tool_calls:
            self._ids += 1
            numbered.append(call.model_copy(update={"id": call.id or f"call_{self._ids}"}))
        message = turn.message.model_copy(update={"tool_calls": numbered})
        return turn.model_copy(update={"message": message, "model": self.model})

    async def aclose(self) -> None:
        return None


def script_path(name: str | None) -> str | None:
    """The script path when ``name`` is ``script:PATH``, else None."""
    if name and name.startswith(SCRIPT_PREFIX):
        return name[len(SCRIPT_PREFIX) :]
    return None
