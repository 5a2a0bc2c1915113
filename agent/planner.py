"""The planner loop: the model chooses tool calls, Baton carries them out, until an answer.

Owns the loop and its limits, nothing else: the conversation (system prompt from
``prompts/system.md``, then user, assistant and tool messages), one model turn at a time with
the tools in view (``agent.toolview``), the turn's tool calls carried out concurrently
(``agent.dispatch``; results appended in the model's order, as Chat Completions requires), and
the steps recorded through ``emit``. Reads top to bottom: ``run`` -> ``_loop`` -> ``_turn`` ->
``_calls``.

Ending: an ``AnswerStep`` when the model answers without calling a tool; otherwise a typed
error that carries the partial transcript: ``LimitExceededError`` (steps, tokens, wall time,
consecutive failed turns) or ``RunError`` (an unrecoverable tool error such as missing
credentials or a refused host, a model error, or a bug), with an ``ErrorStep`` recorded first.
The conversation stays valid for a next task either way: calls that never ran get a tool
message saying so.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from agent.dispatch import Dispatcher, Outcome
from agent.errors import LimitExceededError, LimitKind, RunError
from agent.llm import ModelClient, TextSink
from agent.messages import Message, ModelTurn, ToolCall, Usage
from agent.prompts import load_prompt, render
from agent.tokens import count_tokens, count_tool_tokens
from agent.toolview import ToolView
from agent.transcript import (
    AnswerStep,
    ErrorStep,
    ModelTurnStep,
    Step,
    Transcript,
    UserStep,
)
from tools.model import JSONObject

Emit = Callable[[Step], None]


@dataclass(frozen=True)
class Limits:
    """When a run stops without an answer. Turns count model turns, not tool calls."""

    max_turns: int = 25
    max_tokens: int = 500_000  # prompt + completion, summed over the run's turns
    max_seconds: float = 600.0  # wall time of the whole run, model and HTTP included
    max_consecutive_errors: int = 4  # turns in a row whose every call failed


class Planner:
    """One conversation: the messages persist across ``run`` calls (multi-turn)."""

    def __init__(
        self,
        model: ModelClient,
        dispatcher: Dispatcher,
        *,
        limits: Limits | None = None,
        on_text: TextSink | None = None,
    ) -> None:
        self.model = model
        self.dispatcher = dispatcher
        self.view: ToolView = dispatcher.view
        self.limits = limits or Limits()
        self.on_text = on_text
        self.messages: list[Message] = []
        self._transcript = Transcript()
        self._emit: Emit = lambda step: None
        self._tokens = 0  # used by the current run
        self.reset()

    def reset(self) -> None:
        """Forget the conversation (the system prompt stays)."""
        # A small model gets a short prompt: it sees two tools and no meta-tools, and every
        # sentence about search or handles would only distract it.
        if self.view.mode == "small":
            prompt = load_prompt("system_small")
        else:
            prompt = render("system", search=self.view.search_name, extract=self.view.extract_name)
        self.messages = [Message(role="system", content=prompt)]

    async def run(self, task: str, transcript: Transcript, emit: Emit) -> str:
        """Work on ``task`` until the model answers; returns the answer text."""
        self._transcript, self._emit = transcript, emit
        self._tokens = 0
        try:
            async with asyncio.timeout(self.limits.max_seconds) as deadline:
                return await self._loop(task)
        except TimeoutError as exc:
            if not deadline.expired():
                raise self._fail(exc) from exc
            message = f"the run took longer than {self.limits.max_seconds:g} s"
            raise self._limit("time", message) from None
        except (LimitExceededError, RunError):
            raise
        except Exception as exc:  # model errors, unrecoverable tool errors, bugs
            raise self._fail(exc) from exc
        finally:
            self._close_open_calls()

    async def _loop(self, task: str) -> str:
        self.messages.append(Message(role="user", content=task))
        self._emit(UserStep(text=str(self.dispatcher.redact(task))))
        self.view.focus(task)
        failed_turns = 0
        for _ in range(self.limits.max_turns):
            turn = await self._turn()
            if not turn.message.tool_calls:
                answer = str(self.dispatcher.redact(turn.message.content or ""))
                self._emit(AnswerStep(text=answer))
                return answer
            if self._tokens > self.limits.max_tokens:
                raise self._limit("tokens", f"the run used {self._tokens} tokens")
            outcomes = await self._calls(turn.message.tool_calls)
            failed_turns = failed_turns + 1 if all(o.failed for o in outcomes) else 0
            if failed_turns >= self.limits.max_consecutive_errors:
                raise self._limit("consecutive_errors", f"{failed_turns} turns in a row failed")
        raise self._limit("steps", f"no answer after {self.limits.max_turns} model turns")

    async def _turn(self) -> ModelTurn:
        names = self.view.names()
        tools = self.view.tools(names)
        started = time.perf_counter()
        turn = await self.model.complete(self.messages, tools, on_text=self.on_text)
        elapsed = (time.perf_counter() - started) * 1000
        calls = _with_ids(turn.message.tool_calls, len(self.messages))
        message = turn.message.model_copy(update={"tool_calls": calls})
        usage = turn.usage if turn.usage.total_tokens else estimate_usage(
            self.messages, tools, message
        )  # fmt: skip
        self.messages.append(message)
        self._tokens += usage.total_tokens
        redact = self.dispatcher.redact
        shown = [c.model_copy(update={"arguments": redact(c.arguments)}) for c in calls]
        text = redact(message.content) if message.content else None
        self._emit(ModelTurnStep(text=text, tool_calls=shown, usage=usage, elapsed_ms=elapsed,
                                 tools_in_view=names))  # fmt: skip
        return turn.model_copy(update={"message": message, "usage": usage})

    async def _calls(self, calls: Sequence[ToolCall]) -> list[Outcome]:
        # Concurrently: a model emits several calls in one turn only when they are independent.
        # ``dispatch`` never raises for a tool's failure, so every call finishes and is recorded.
        outcomes = await asyncio.gather(*(self.dispatcher.dispatch(c) for c in calls))
        for call, outcome in zip(calls, outcomes, strict=True):
            self.messages.append(_tool_message(call, outcome.step.observation))
            self._emit(outcome.step)
        fatal = next((o.fatal for o in outcomes if o.fatal is not None), None)
        if fatal is not None:
            raise self._fail(fatal) from fatal
        return list(outcomes)

    # -- endings ---------------------------------------------------------------------------
    def _limit(self, kind: LimitKind, message: str) -> LimitExceededError:
        text = f"limit reached ({kind}): {message}"
        self._emit(ErrorStep(message=text, error_type="LimitExceededError"))
        return LimitExceededError(kind, text, transcript=self._transcript)

    def _fail(self, exc: BaseException) -> RunError:
        text = str(self.dispatcher.redact(f"{type(exc).__name__}: {exc}"))
        self._emit(ErrorStep(message=text, error_type=type(exc).__name__))
        error = RunError(text, transcript=self._transcript)
        error.__cause__ = exc
        return error

    def _close_open_calls(self) -> None:
        """Answer calls that never ran, so the conversation stays valid for the next task."""
        last = next((m for m in reversed(self.messages) if m.role == "assistant"), None)
        if last is None or not last.tool_calls:
            return
        answered = {m.tool_call_id for m in self.messages if m.role == "tool"}
        for call in last.tool_calls:
            if call.id not in answered:
                reason = render("obs_not_run", tool=call.name, reason="limit or error")
                self.messages.append(_tool_message(call, reason))


def _tool_message(call: ToolCall, content: str) -> Message:
    return Message(role="tool", tool_call_id=call.id, name=call.name, content=content)


def _with_ids(calls: Sequence[ToolCall], salt: int) -> list[ToolCall]:
    """Ids unique within the turn: some local servers omit them or repeat one for every call,
    and each tool message must answer exactly one call."""
    seen: set[str] = set()
    out: list[ToolCall] = []
    for i, call in enumerate(calls):
        if not call.id or call.id in seen:
            call = call.model_copy(update={"id": f"call_{salt}_{i}"})
        seen.add(call.id)
        out.append(call)
    return out


def estimate_usage(
    messages: Sequence[Message], tools: Sequence[JSONObject], reply: Message
) -> Usage:
    """Tokens of a turn counted with tiktoken, for models that do not report usage.

    Approximate by design: message texts plus ~4 tokens of framing each (OpenAI's cookbook
    figure for chat formatting), the tools array's JSON, and the reply.
    """
    prompt = sum(4 + _count(_message_text(m)) for m in messages)
    prompt += count_tool_tokens(tools) if tools else 0
    return Usage(prompt_tokens=prompt, completion_tokens=_count(_message_text(reply)))


@functools.lru_cache(maxsize=2048)
def _count(text: str) -> int:
    # Each turn re-sends the whole conversation: remember the counts of earlier messages
    # instead of tokenizing them again on every turn.
    return count_tokens(text)


def _message_text(message: Message) -> str:
    parts = [message.content or ""]
    parts.extend(f"{c.name}({c.arguments})" for c in message.tool_calls)
    return "\n".join(parts)
