"""Test doubles for the model seam, shipped for users' tests as well as Baton's own.

- ``ScriptedModel``: returns a queue of turns in order, records every request, raises
  ``ScriptExhaustedError`` when asked for more, and ``assert_consumed()`` fails when turns were
  left unplayed (a test that stopped early is a test that proved less than it claims).
- ``FunctionModel``: each turn is computed by a function of the messages and tools, for doubles
  that must react to what they were sent (e.g. answer with the id the API just returned).
- Builders: ``text("...")`` and ``calls(tool_call("name", {...}), ...)``; a script may also hold
  plain strings (final answers), ``ToolCall`` objects or lists of them (one assistant turn), full
  ``ModelTurn``/``Message`` objects, or an exception instance to raise at that point.
- ``block_remote_models()``: sets ``BATON_BLOCK_REMOTE_MODELS=1`` so that
  ``OpenAIClient`` refuses any base URL that is not loopback before sending anything. Baton's
  ``tests/conftest.py`` sets it for every test, next to its socket guard that fails any
  non-loopback connection: the socket guard catches everything (including code that bypasses
  the client), the model guard fails earlier with a message that names the model and URL.

Tool-call ids left empty (``tool_call(..., id=None)``) are numbered per model instance
(``call_1``, ``call_2``, ...), so transcripts are deterministic whatever the test order.
"""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from agent.errors import ScriptExhaustedError
from agent.llm import BLOCK_REMOTE_MODELS_ENV, TextSink
from agent.messages import Message, ModelTurn, ToolCall, Usage
from tools.model import JSONObject

__all__ = [
    "BLOCK_REMOTE_MODELS_ENV",
    "FunctionModel",
    "FunctionResult",
    "ModelFunction",
    "ModelRequest",
    "ScriptedModel",
    "TurnLike",
    "block_remote_models",
    "calls",
    "text",
    "tool_call",
]
TurnLike = ModelTurn | Message | str | ToolCall | list[ToolCall] | BaseException
"""What a script entry may be; see the module docstring."""

FunctionResult = ModelTurn | Message | str | ToolCall | list[ToolCall]
ModelFunction = Callable[
    [list[Message], list[JSONObject]], FunctionResult | Awaitable[FunctionResult]
]


def tool_call(
    name: str, args: JSONObject | str | None = None, *, id: str | None = None
) -> ToolCall:
    """A tool call as the model would emit it. ``args`` as a str is sent verbatim (bad JSON too)."""
    arguments = args if isinstance(args, str) else json.dumps(args or {})
    return ToolCall(id=id or "", name=name, arguments=arguments)


def text(content: str, *, usage: Usage | None = None) -> ModelTurn:
    """A turn that answers with text and calls no tool (the planner's final answer)."""
    return ModelTurn(
        message=Message(role="assistant", content=content),
        usage=usage or Usage(),
        finish_reason="stop",
    )


def calls(
    *tool_calls: ToolCall, content: str | None = None, usage: Usage | None = None
) -> ModelTurn:
    """One turn with one or more (parallel) tool calls, optionally with text beside them."""
    return ModelTurn(
        message=Message(role="assistant", content=content, tool_calls=list(tool_calls)),
        usage=usage or Usage(),
        finish_reason="tool_calls",
    )


@dataclass(frozen=True)
class ModelRequest:
    """What a test double was sent for one turn (copies, safe to keep)."""

    messages: list[Message]
    tools: list[JSONObject]

    @property
    def tool_names(self) -> list[str]:
        names: list[str] = []
        for tool in self.tools:
            function = tool.get("function")
            if isinstance(function, dict) and isinstance(function.get("name"), str):
                names.append(str(function["name"]))
        return names

    @property
    def last(self) -> Message:
        return self.messages[-1]


@dataclass
class _Recorder:
    model: str
    requests: list[ModelRequest] = field(default_factory=list)
    closed: bool = False
    _next_id: int = 0

    def _record(self, messages: Sequence[Message], tools: Sequence[JSONObject]) -> None:
        self.requests.append(ModelRequest(list(messages), [dict(t) for t in tools]))

    def _to_turn(self, value: FunctionResult) -> ModelTurn:
        if isinstance(value, str):
            turn = text(value)
        elif isinstance(value, ToolCall):
            turn = calls(value)
        elif isinstance(value, list):
            turn = calls(*value)
        elif isinstance(value, Message):
            turn = ModelTurn(message=value)
        else:
            turn = value
        if turn.message.role != "assistant":
            raise TypeError(f"a model turn must be an assistant message, got {turn.message.role!r}")
        numbered = [self._number(c) for c in turn.message.tool_calls]
        message = turn.message.model_copy(update={"tool_calls": numbered})
        return turn.model_copy(update={"message": message, "model": turn.model or self.model})

    def _number(self, call: ToolCall) -> ToolCall:
        if call.id:
            return call
        self._next_id += 1
        return call.model_copy(update={"id": f"call_{self._next_id}"})

    async def aclose(self) -> None:
        self.closed = True


class ScriptedModel(_Recorder):
    """Plays ``turns`` in order, one per ``complete`` call."""

    def __init__(self, turns: Sequence[TurnLike], *, model: str = "scripted") -> None:
        super().__init__(model=model)
        self._script: list[TurnLike] = list(turns)
        self._played = 0

    @property
    def remaining(self) -> int:
        return len(self._script) - self._played

    async def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[JSONObject],
        *,
        on_text: TextSink | None = None,
    ) -> ModelTurn:
        self._record(messages, tools)
        if self._played >= len(self._script):
            last = messages[-1].content if messages else None
            raise ScriptExhaustedError(
                f"ScriptedModel {self.model!r} was asked for turn {self._played + 1} but its "
                f"script has {len(self._script)}; last message: {last!r}"
            )
        entry = self._script[self._played]
        self._played += 1
        if isinstance(entry, BaseException):
            raise entry
        turn = self._to_turn(entry)
        if on_text is not None and turn.message.content:
            on_text(turn.message.content)
        return turn

    def assert_consumed(self) -> None:
        """Fail when some scripted turns were never requested."""
        if self.remaining:
            left = self._script[self._played :]
            raise AssertionError(
                f"ScriptedModel {self.model!r}: {self.remaining} of {len(self._script)} turns "
                f"were not played: {left!r}"
            )


class FunctionModel(_Recorder):
    """Each turn is ``fn(messages, tools)`` (sync or async); see the module docstring."""

    def __init__(self, fn: ModelFunction, *, model: str = "function") -> None:
        super().__init__(model=model)
        self._fn = fn

    async def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[JSONObject],
        *,
        on_text: TextSink | None = None,
    ) -> ModelTurn:
        self._record(messages, tools)
        result = self._fn(list(messages), [dict(t) for t in tools])
        if inspect.isawaitable(result):
            result = await result
        turn = self._to_turn(result)
        if on_text is not None and turn.message.content:
            on_text(turn.message.content)
        return turn


@contextmanager
def block_remote_models() -> Iterator[None]:
    """Make ``OpenAIClient`` refuse non-loopback base URLs while the block is active."""
    previous = os.environ.get(BLOCK_REMOTE_MODELS_ENV)
    os.environ[BLOCK_REMOTE_MODELS_ENV] = "1"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(BLOCK_REMOTE_MODELS_ENV, None)
        else:
            os.environ[BLOCK_REMOTE_MODELS_ENV] = previous
