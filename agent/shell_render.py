"""How the shell draws things with rich: live task progress, requests, results, trees, tables.

Owns presentation only. Everything drawn here comes from the transcript's steps, the catalog's
tools or the executor's results, which are redacted before they arrive: this module must never
receive a secret, so it never has to hide one. It does not run tasks or read input
(``agent.shell`` does).
"""

from __future__ import annotations

import json
import time
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.status import Status
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from agent.transcript import (
    AnswerStep,
    ConfirmationStep,
    ErrorStep,
    ModelTurnStep,
    Step,
    ToolCallStep,
    Transcript,
    UserStep,
)
from tools.call import CallResult, PreparedRequest
from tools.catalog import SearchHit
from tools.events import HttpAttempt
from tools.model import Tool

_MAX_BODY_CHARS = 4_000


def _json(value: Any, limit: int = _MAX_BODY_CHARS) -> str:
    text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + f"\n… ({len(text) - limit} more chars)"


def _ms(ms: float) -> str:
    return f"{ms / 1000:.1f} s" if ms >= 1000 else f"{ms:.0f} ms"


def _status_style(status: int | None) -> str:
    if status is None:
        return "red"
    return "green" if status < 300 else "yellow" if status < 500 else "red"


def attempts_note(attempts: list[HttpAttempt]) -> str:
    """'' for one clean attempt, else e.g. '3 attempts: 503 retry in 0.5 s, timeout, 200'."""
    if len(attempts) <= 1:
        return ""
    parts = []
    for a in attempts:
        what = str(a.status) if a.status is not None else (a.error or "no response")
        if a.wait_s is not None:
            what += f" retry in {a.wait_s:.1f} s"
        parts.append(what)
    return f"{len(attempts)} attempts: " + ", ".join(parts)


def tool_call_line(step: ToolCallStep) -> Text:
    """One line per tool call: mark, tool, method + URL (redacted), status, time, retries."""
    line = Text()
    status = step.result.status if step.result else None
    if step.error is not None:
        line.append("✗ ", style="red")
    elif step.result is None:
        line.append("○ ", style="cyan")  # dry run: prepared, not sent
    else:
        line.append("✓ " if step.result.ok else "! ", style=_status_style(status))
    line.append(step.tool, style="bold")
    target = _target(step)
    if target:
        line.append(f"  {target}", style="dim")
    if status is not None:
        line.append(f"  {status}", style=_status_style(status))
    elif step.error is None and step.request is not None and not step.attempts:
        line.append("  dry run, not sent", style="cyan")
    line.append(f"  {_ms(step.elapsed_ms)}", style="dim")
    note = attempts_note(step.attempts)
    if note:
        line.append(f"  ({note})", style="yellow")
    if step.error is not None:
        line.append(f"\n  {step.error_type or 'error'}: {step.error}", style="red")
    return line


def _target(step: ToolCallStep) -> str:
    """Method and URL (redacted) of the call: what was sent, else what was prepared."""
    if step.attempts:
        return f"{step.attempts[-1].method} {step.attempts[-1].url}"
    if step.request is not None:
        return f"{step.request.method} {step.request.url}"
    return ""


def prepared_request(request: PreparedRequest, *, title: str = "") -> Panel:
    """The request as it would be sent (secrets already redacted by the executor)."""
    head = Text()
    head.append(f"{request.method} ", style="bold")
    head.append(request.url)
    parts: list[RenderableType] = [head]
    for name, value in request.headers.items():
        parts.append(Text(f"{name}: {value}", style="dim"))
    if request.body is not None:
        parts.append(Syntax(_json(request.body), "json", word_wrap=True, theme="ansi_dark"))
    label = title or f"{request.tool} ({request.side_effect})"
    return Panel(Group(*parts), title=escape(label), title_align="left", border_style="yellow")


def call_result(result: CallResult) -> RenderableType:
    head = Text()
    head.append(f"{result.status}", style=_status_style(result.status))
    head.append(f"  {result.tool}  {_ms(result.elapsed_ms)}", style="dim")
    note = attempts_note(result.attempts)
    if note:
        head.append(f"  ({note})", style="yellow")
    parts: list[RenderableType] = [head]
    if result.binary is not None:
        parts.append(Text(f"binary body: {result.binary.media_type}, {result.binary.size} bytes"))
    elif result.body is not None:
        parts.append(Syntax(_json(result.body), "json", word_wrap=True, theme="ansi_dark"))
    parts.extend(Text(f"warning: {w}", style="yellow") for w in result.warnings)
    return Group(*parts)


def tools_table(tools: list[Tool] | list[SearchHit], *, title: str = "") -> Table:
    table = Table(title=title or None, title_justify="left", expand=False, show_lines=False)
    table.add_column("tool", style="bold", no_wrap=True)
    table.add_column("method", no_wrap=True)
    table.add_column("path", no_wrap=True)
    table.add_column("summary")
    for item in tools:
        tool = item.tool if isinstance(item, SearchHit) else item
        effect = "" if tool.binding.side_effect == "safe" else " *"
        table.add_row(tool.name, tool.binding.method + effect, tool.binding.path, tool.summary)
    return table


def describe_tool(tool: Tool) -> RenderableType:
    head = Text()
    head.append(tool.name, style="bold")
    head.append(f"  {tool.binding.method} {tool.binding.path}  ({tool.binding.side_effect})")
    parts: list[RenderableType] = [head]
    if tool.description:
        parts.append(Text(tool.description))
    if tool.binding.security:
        alternatives = [" + ".join(req) or "none" for req in tool.binding.security]
        parts.append(Text("auth: " + " | ".join(alternatives), style="dim"))
    parts.append(Text("arguments (JSON Schema):", style="bold"))
    parts.append(Syntax(_json(tool.parameters, 20_000), "json", word_wrap=True, theme="ansi_dark"))
    return Group(*parts)


def trace_tree(transcript: Transcript) -> Tree:
    """The run as a tree: each step, with tool calls' HTTP attempts nested under them."""
    tree = Tree(f"run {transcript.run_id}  model {transcript.model or '-'}", guide_style="dim")
    for step in transcript.steps:
        _add_step(tree, step)
    return tree


def _add_step(tree: Tree, step: Step) -> None:
    match step:
        case UserStep():
            tree.add(Text(f"user: {step.text}", style="bold"))
        case ModelTurnStep():
            node = tree.add(
                Text(
                    f"model turn  {step.usage.total_tokens} tokens  {_ms(step.elapsed_ms)}"
                    f"  {len(step.tools_in_view)} tools in view",
                    style="magenta",
                )
            )
            if step.text:
                node.add(Text(step.text))
            for call in step.tool_calls:
                node.add(Text(f"calls {call.name} {call.arguments}", style="dim"))
        case ToolCallStep():
            node = tree.add(tool_call_line(step))
            for attempt in step.attempts:
                node.add(_attempt_line(attempt))
            if step.observation:
                node.add(Text("observation: " + _json(step.observation, 300), style="dim"))
        case ConfirmationStep():
            tree.add(Text(f"confirmation {step.tool}: {step.decision}", style="yellow"))
        case ErrorStep():
            kind = "recoverable error" if step.recoverable else "error"
            tree.add(Text(f"{kind} {_error_text(step)}", style="red"))
        case AnswerStep():
            tree.add(Text(f"answer: {step.text}", style="green"))


def _error_text(step: ErrorStep) -> str:
    # The planner's messages often start with the error's type already.
    if step.message.startswith(step.error_type):
        return step.message
    return f"{step.error_type}: {step.message}"


def _attempt_line(attempt: HttpAttempt) -> Text:
    text = Text(f"attempt {attempt.attempt}  {attempt.method} {attempt.url}  ")
    text.append(
        str(attempt.status) if attempt.status is not None else (attempt.error or "no response"),
        style=_status_style(attempt.status),
    )
    text.append(f"  {_ms(attempt.elapsed_ms)}", style="dim")
    if attempt.retry_reason:
        text.append(f"  retry: {attempt.retry_reason}", style="yellow")
    if attempt.wait_s is not None:
        text.append(f" after {attempt.wait_s:.1f} s", style="yellow")
    return text


def summary_line(transcript: Transcript, elapsed_s: float, *, outcome: str = "done") -> Text:
    calls = transcript.tool_calls()
    failed = sum(1 for c in calls if c.error is not None or (c.result and not c.result.ok))
    usage = transcript.usage
    text = Text(style="dim")
    text.append(f"{outcome}: {len(calls)} call{'s' if len(calls) != 1 else ''}")
    if failed:
        text.append(f" ({failed} failed)")
    text.append(
        f", {usage.total_tokens} tokens ({usage.prompt_tokens} in, {usage.completion_tokens} out)"
        f", {elapsed_s:.1f} s"
    )
    return text


class TaskView:
    """Live display of one running task: streamed text, tool calls as they happen, spinner.

    The planner emits steps; the model client streams text deltas. A spinner runs while the
    model thinks or a call is in flight, and is paused while the user is asked something.
    """

    def __init__(self, console: Console) -> None:
        self.console = console
        self._status: Status | None = None
        self._streamed = ""  # text streamed since the last model turn step
        self._last_text = ""  # the last model text shown, so the answer is not shown twice
        self._pending: dict[str, str] = {}  # call id -> tool name, calls in flight
        self.started = time.monotonic()

    def spin(self, message: str) -> None:
        if not self.console.is_terminal:
            return
        if self._status is None:
            self._status = self.console.status(message, spinner="dots")
            self._status.start()
        else:
            self._status.update(message)

    def pause(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def on_text(self, delta: str) -> None:
        self.pause()
        self._streamed += delta
        self.console.print(delta, end="", markup=False, highlight=False, soft_wrap=True)

    def on_step(self, step: Step) -> None:
        self.pause()
        if isinstance(step, ModelTurnStep):
            self._model_turn(step)
            if not step.tool_calls:
                return  # the answer follows at once: no spinner in between
        elif isinstance(step, ToolCallStep):
            self._pending.pop(step.call_id, None)
            self.console.print(tool_call_line(step), soft_wrap=True)
        elif isinstance(step, ConfirmationStep):
            style = "green" if step.decision in ("allow", "always") else "yellow"
            self.console.print(Text(f"  {step.decision}: {step.tool}", style=style))
        elif isinstance(step, ErrorStep):
            self.console.print(Text(_error_text(step), style="red"))
            if not step.recoverable:
                return  # the run ends here: no spinner after a fatal error
        elif isinstance(step, AnswerStep):
            if step.text.strip() != self._last_text.strip():
                self.console.print(Text(step.text))
            return  # the run is over: no spinner after the answer
        self._spin_next()

    def _model_turn(self, step: ModelTurnStep) -> None:
        if self._streamed:
            if not self._streamed.endswith("\n"):
                self.console.print()
            self._last_text = self._streamed
        elif step.text:
            self.console.print(Text(step.text))
            self._last_text = step.text
        self._streamed = ""
        for call in step.tool_calls:
            self._pending[call.id] = call.name

    def _spin_next(self) -> None:
        if self._pending:
            self.spin("calling " + ", ".join(dict.fromkeys(self._pending.values())) + " …")
        else:
            self.spin("thinking …")

    def finish(self, transcript: Transcript, *, outcome: str = "done") -> None:
        self.pause()
        if self._streamed and not self._streamed.endswith("\n"):
            self.console.print()
        elapsed = time.monotonic() - self.started
        self.console.print(summary_line(transcript, elapsed, outcome=outcome))
