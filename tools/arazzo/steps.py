"""One operation step: build the tool arguments, make the call through the executor, and
describe the exchange for runtime expressions.

Owns the mapping from evaluated Arazzo values to the executor's call (argument names from
``tools.arazzo.sources``; small scalar coercions, since ``--input id=7`` and ``value: 1``
must reach an argument typed string or integer as the operation declares) and the
``Exchange`` that ``$url``, ``$request.*``, ``$response.*`` and ``$statusCode`` read. Calls go
through the executor only: same validation, credentials, policy and retries as agent runs.
Errors the executor raises (invalid arguments, a denied side effect, a transport failure)
become a failed step, which ``onFailure`` actions may handle.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Protocol

from tools.arazzo.expressions import MISSING, Exchange, Scope, evaluate_value
from tools.arazzo.model import ArazzoDocument, Step, Workflow
from tools.arazzo.payload import build_body
from tools.arazzo.sources import BoundStep, argument_for, step_parameters
from tools.call import CallResult, PreparedRequest
from tools.errors import CredentialsError, HostNotAllowedError, ToolsError
from tools.events import EventSink, HttpAttempt, ToolEvent
from tools.model import JSONObject, JSONValue, Tool


class CallExecutor(Protocol):
    """What the runner needs of ``tools.executor.Executor``."""

    async def prepare(self, tool: str, args: JSONObject) -> PreparedRequest: ...

    async def call(
        self,
        tool: str,
        args: JSONObject,
        *,
        dry_run: bool = False,
        on_event: EventSink | None = None,
    ) -> CallResult | PreparedRequest: ...

    def redact(self, obj: JSONValue) -> JSONValue: ...


@dataclass
class CallOutcome:
    arguments: JSONObject | None = None
    request: PreparedRequest | None = None
    result: CallResult | None = None
    exchange: Exchange | None = None
    attempts: list[HttpAttempt] = field(default_factory=list)
    error: str | None = None
    error_type: str | None = None
    elapsed_ms: float = 0.0


async def call_operation(
    doc: ArazzoDocument,
    wf: Workflow,
    step: Step,
    bound: BoundStep,
    scope: Scope,
    executor: CallExecutor,
) -> CallOutcome:
    """Evaluate the step's parameters and body, then call. Never raises for a failed call."""
    outcome = CallOutcome()
    started = time.perf_counter()
    try:
        args = build_arguments(doc, wf, step, bound, scope)
        outcome.arguments = _redacted(executor, args)
        outcome.request = await executor.prepare(bound.tool.name, args)
        events: list[ToolEvent] = []
        sent = await executor.call(bound.tool.name, args, on_event=events.append)
        outcome.attempts = [e for e in events if isinstance(e, HttpAttempt)]
        if isinstance(sent, PreparedRequest):
            outcome.error, outcome.error_type = "the call was not sent (dry run)", "DryRun"
        else:
            outcome.result = sent
            outcome.exchange = exchange_for(bound.tool, args, outcome.request, sent)
    except (CredentialsError, HostNotAllowedError):
        raise  # the user's setup, not the step: the run stops with exit 2
    except ToolsError as exc:  # ArgumentError, SideEffectDeniedError, CallError, ExpressionError
        outcome.error, outcome.error_type = str(exc), type(exc).__name__
    outcome.elapsed_ms = round((time.perf_counter() - started) * 1000, 3)
    return outcome


def _redacted(executor: CallExecutor, args: JSONObject) -> JSONObject:
    cleaned = executor.redact(args)
    return cleaned if isinstance(cleaned, dict) else dict(args)


def build_arguments(
    doc: ArazzoDocument, wf: Workflow, step: Step, bound: BoundStep, scope: Scope
) -> JSONObject:
    tool = bound.tool
    args: JSONObject = {}
    for param in step_parameters(doc, wf, step):
        arg = argument_for(doc, bound, param)
        value = evaluate_value(param.value, scope)
        if value is not MISSING:
            args[arg.name] = coerce(_arg_schema(tool, arg.name), value)
    body = tool.binding.body
    if step.requestBody is not None and body is not None:
        media = step.requestBody.contentType or body.media_type
        value = build_body(step.requestBody, media, scope)
        if value is not None:
            args[body.arg] = value
    return args


def _arg_schema(tool: Tool, name: str) -> JSONObject:
    props = tool.parameters.get("properties") or {}
    schema = props.get(name)
    return schema if isinstance(schema, dict) else {}


def coerce(schema: JSONObject, value: JSONValue) -> JSONValue:
    """Scalar conversions the schema asks for; anything else is left to the validator."""
    kind = schema.get("type")
    if kind == "string" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if kind == "string" and isinstance(value, bool):
        return "true" if value else "false"
    if kind in ("integer", "number") and isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if kind == "integer" and number.is_integer() else number
    if kind == "boolean" and isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if kind == "array" and not isinstance(value, list) and value is not None:
        items = schema.get("items")
        return [coerce(items if isinstance(items, dict) else {}, value)]
    return value


def exchange_for(
    tool: Tool, args: JSONObject, request: PreparedRequest, result: CallResult
) -> Exchange:
    query = {
        a.wire_name: args[a.name]
        for a in tool.binding.args
        if a.location == "query" and a.name in args
    }
    path = {
        a.wire_name: args[a.name]
        for a in tool.binding.args
        if a.location == "path" and a.name in args
    }
    body_arg = tool.binding.body.arg if tool.binding.body else None
    url = result.attempts[-1].url if result.attempts else request.url
    return Exchange(
        url=url,
        method=request.method,
        status=result.status,
        request_headers=request.headers,
        request_query=query,
        request_path=path,
        request_body=args.get(body_arg) if body_arg else None,
        response_headers=result.headers,
        response_body=result.body,
    )


def evaluate_outputs(outputs: dict[str, str], scope: Scope) -> JSONObject:
    """Step or workflow outputs; ExpressionError names the first that cannot be had."""
    values: JSONObject = {}
    for name, expr in outputs.items():
        value = evaluate_value(expr, scope)
        values[name] = None if value is MISSING else value
    return values


def retry_after_seconds(result: CallResult | None) -> float | None:
    """The Retry-After header in seconds (delta or HTTP date), if the response had one."""
    if result is None:
        return None
    value = result.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
