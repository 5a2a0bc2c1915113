"""One tool call of the model, carried out: the step for the transcript and what the model sees.

Owns the path from a ``ToolCall`` (raw JSON arguments, maybe invalid) to a ``ToolCallStep``:
parsing the arguments, answering the meta-tools (``search_operations``, ``extract``), calling
the executor, storing the result under a handle and writing the observation. Errors the model
can fix (bad JSON, unknown tool, invalid arguments, a denied side effect, an HTTP error status)
become observations written for it (texts in ``prompts/``). So do ``CallError``s (a timeout
after retries, an open circuit, a response over the size cap): the model cannot fix the server,
but it can try another way or report the failure, and the consecutive-errors limit bounds the
attempts. Any other error (missing credentials, a refused host, a bug) is returned as ``fatal``
for the planner to end the run with. It never raises for a tool's failure, so that
concurrent calls of one turn all finish and all land in the transcript.

Everything that reaches the step or the model passes through the executor's redactor.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent.observe import DEFAULT_VIEW_CHARS, ResultStore, dumps, extract, view
from agent.prompts import render
from agent.toolview import ToolView, summary_line
from agent.transcript import ToolCallStep
from tools.call import CallResult, PreparedRequest
from tools.errors import (
    ArgumentError,
    CallError,
    SideEffectDeniedError,
    ToolsError,
    UnknownToolError,
)
from tools.events import HttpAttempt, ToolEvent
from tools.model import JSONObject, JSONValue

if TYPE_CHECKING:
    from agent.messages import ToolCall
    from tools.executor import Executor


@dataclass(frozen=True)
class Outcome:
    """A finished call: its step, and the error that must end the run (None if none)."""

    step: ToolCallStep
    fatal: BaseException | None = None

    @property
    def failed(self) -> bool:
        """The call did not do what the model wanted (counts toward consecutive errors)."""
        result = self.step.result
        return self.step.error is not None or (result is not None and result.status >= 400)


class _ArgumentsNotJSONError(ValueError):
    pass


def _not_json(constant: str) -> float:
    # json.loads accepts NaN and Infinity, which are not JSON: sent on, they make a body no
    # server can parse. The model can fix them, so they are argument errors like bad syntax.
    raise _ArgumentsNotJSONError(f"{constant} is not a JSON value; use a number or null")


def parse_arguments(raw: str) -> JSONObject:
    """The model's argument text as an object; empty text means no arguments."""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw, parse_constant=_not_json)
    except json.JSONDecodeError as exc:
        raise _ArgumentsNotJSONError(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    if isinstance(value, str):
        # Some models (small local ones especially) JSON-encode the object twice.
        with contextlib.suppress(json.JSONDecodeError):
            value = json.loads(value, parse_constant=_not_json)
    if not isinstance(value, dict):
        raise _ArgumentsNotJSONError(f"expected an object, got {type(value).__name__}")
    return value


class Dispatcher:
    """Carries out tool calls for one conversation (shares its result store and tool view)."""

    def __init__(
        self,
        executor: Executor,
        view: ToolView,
        store: ResultStore,
        *,
        view_chars: int = DEFAULT_VIEW_CHARS,
    ) -> None:
        self.executor = executor
        self.view = view
        self.store = store
        self.view_chars = view_chars

    def redact(self, value: JSONValue) -> JSONValue:
        return self.executor.redact(value)

    async def dispatch(self, call: ToolCall) -> Outcome:
        started = time.perf_counter()
        try:
            outcome = await self._dispatch(call)
        except Exception as exc:  # a bug or an unexpected library error: end the run, keep the step
            text = render("obs_call_failed", tool=call.name, error=type(exc).__name__)
            outcome = Outcome(self._failed(call, None, text, exc).step, exc)
        elapsed = (time.perf_counter() - started) * 1000
        return Outcome(outcome.step.model_copy(update={"elapsed_ms": elapsed}), outcome.fatal)

    async def _dispatch(self, call: ToolCall) -> Outcome:
        try:
            args = parse_arguments(call.arguments)
        except _ArgumentsNotJSONError as exc:
            text = render("obs_bad_json", tool=call.name, error=exc)
            return self._failed(call, None, text, exc, "InvalidJSONError")
        if self.view.offers(call.name):
            is_search = call.name == self.view.search_name
            return self._search(call, args) if is_search else self._extract(call, args)
        return await self._execute(call, args)

    # -- meta-tools ------------------------------------------------------------------------
    def _search(self, call: ToolCall, args: JSONObject) -> Outcome:
        query, limit = args.get("query"), args.get("limit") or 8
        if not isinstance(query, str) or not isinstance(limit, int):
            problem = ("/query", "a string of keywords is required")
            error = ArgumentError(call.name, [problem])
            return self._failed(call, args, self._explain(error, call.name), error)
        hits = self.view.search(query, limit)
        if not hits:
            # Echo at most a line of the query: a model that pasted a page should not pay twice.
            shown = query if len(query) <= 200 else query[:200] + "..."
            return self._ok(call, args, render("obs_search_empty", query=shown))
        found = [
            {"name": h.tool.name, "http": f"{h.tool.binding.method} {h.tool.binding.path}",
             "summary": summary_line(h.tool)}
            for h in hits
        ]  # fmt: skip
        return self._ok(
            call, args, dumps({"operations": found, "note": render("obs_search_results")})
        )

    def _extract(self, call: ToolCall, args: JSONObject) -> Outcome:
        handle, expression = args.get("handle"), args.get("expression")
        if not isinstance(handle, str) or not isinstance(expression, str):
            problem = ("/", "both handle and expression are required strings")
            error = ArgumentError(call.name, [problem])
            return self._failed(call, args, self._explain(error, call.name), error)
        text, worked = extract(
            self.store, handle, expression, limit=self.view_chars, tool=self.view.extract_name
        )
        step = self._step(call, args, text, handle=handle)
        if not worked:
            update = {"error": step.observation, "error_type": "ExtractError"}
            step = step.model_copy(update=update)
        return Outcome(step)

    # -- API operations --------------------------------------------------------------------
    async def _execute(self, call: ToolCall, args: JSONObject) -> Outcome:
        attempts: list[HttpAttempt] = []

        def on_event(event: ToolEvent) -> None:
            if isinstance(event, HttpAttempt):
                attempts.append(event)

        try:
            outcome = await self.executor.call(call.name, args, on_event=on_event)
        except ToolsError as exc:
            if isinstance(exc, UnknownToolError):
                self.view.bring_into_view(exc.suggestions)
            failed = self._failed(call, args, self._explain(exc, call.name), exc)
            step = failed.step.model_copy(update={"attempts": attempts})
            recoverable = exc.recoverable or isinstance(exc, CallError)
            return Outcome(step, None if recoverable else exc)
        self.view.bring_into_view([call.name])
        if isinstance(outcome, PreparedRequest):
            request = dumps(outcome.model_dump(mode="json", exclude_defaults=True))
            text = render("obs_dry_run", tool=call.name, request=request)
            return Outcome(self._step(call, args, text, request=outcome, attempts=attempts))
        return Outcome(self._observe(call, args, outcome, attempts))

    def _observe(
        self, call: ToolCall, args: JSONObject, result: CallResult, attempts: list[HttpAttempt]
    ) -> ToolCallStep:
        body: JSONValue = result.body
        if result.binary is not None:
            body = result.binary.model_dump(mode="json")
        handle = self.store.put(body)
        payload: JSONObject = {"status": result.status, "handle": handle}
        if result.warnings:
            payload["warnings"] = result.warnings
        text = view(
            payload,
            body,
            handle=handle,
            headers=result.headers,
            limit=self.view_chars,
            extract_tool=self.view.extract_name,
        )
        if result.status >= 400:
            text = render(
                "obs_http_error",
                tool=call.name,
                status=result.status,
                advice=_advice(result.status),
                body=text,
            )
        return self._step(
            call, args, text, result=result, handle=handle, attempts=result.attempts or attempts
        )

    def _explain(self, exc: ToolsError, tool: str) -> str:
        if isinstance(exc, UnknownToolError):
            if exc.suggestions:
                hint = render("obs_unknown_tool_suggest", names=", ".join(exc.suggestions))
            else:
                search = self.view.search_name
                offered = self.view.offers(search)
                hint = render("obs_unknown_tool_search", search=search) if offered else ""
            name = _clip(exc.name, 100)
            return render("obs_unknown_tool", tool=name, suggestions=hint).strip()
        if isinstance(exc, ArgumentError):
            # The validator already caps how many problems it lists; each one is clipped here.
            lines = "\n".join(_clip(f"- {ptr or '/'}: {msg}", 600) for ptr, msg in exc.problems)
            return render("obs_invalid_arguments", tool=exc.tool, problems=lines)
        if isinstance(exc, SideEffectDeniedError):
            return render("obs_denied", tool=exc.tool, reason=exc)
        # The executor's CallErrors do not all carry the tool's name; the model needs it.
        return render("obs_call_failed", tool=getattr(exc, "tool", "") or tool, error=exc)

    # -- steps -----------------------------------------------------------------------------
    def _step(
        self, call: ToolCall, args: JSONObject | None, text: str, **extra: object
    ) -> ToolCallStep:
        redacted_args = self.redact(args) if args is not None else None
        return ToolCallStep.model_validate(
            {"call_id": call.id, "tool": call.name, "arguments": redacted_args,
             "observation": self.redact(text), **extra}
        )  # fmt: skip

    def _ok(self, call: ToolCall, args: JSONObject, text: str) -> Outcome:
        return Outcome(self._step(call, args, text))

    def _failed(
        self,
        call: ToolCall,
        args: JSONObject | None,
        text: str,
        exc: BaseException,
        error_type: str | None = None,
    ) -> Outcome:
        step = self._step(call, args, text)
        update = {"error": self.redact(str(exc)), "error_type": error_type or type(exc).__name__}
        return Outcome(step.model_copy(update=update))


def _clip(text: str, limit: int) -> str:
    """At most ``limit`` characters of text the model wrote and gets back (names, arguments):
    echoing a 50,000-character tool name costs the model 50,000 characters of context."""
    return text if len(text) <= limit else text[:limit] + "..."


def _advice(status: int) -> str:
    if status == 404:
        return render("advice_404")
    return render("advice_5xx") if status >= 500 else render("advice_4xx")
