"""Arazzo runtime expressions: parse them, find them in strings, evaluate them in a scope.

Owns the grammar of the spec's ABNF (``$url``, ``$method``, ``$statusCode``,
``$request.{header,query,path,body}``, ``$response.{header,body}``, ``$inputs``, ``$outputs``,
``$steps``, ``$workflows``, ``$sourceDescriptions``, ``$components``, JSON pointers after
``#``), embedded ``{$...}`` templates, and JSON pointers (RFC 6901). It never sends a request.

Decisions recorded here:
- A string is a runtime expression when it starts with ``$`` and a letter; such a string that
  does not parse is an error, not a literal (catching typos like ``$input.id`` early). Other
  strings are literals, with ``{$...}`` parts substituted.
- An input the caller did not give evaluates to ``MISSING``: parameters and payload fields
  holding it are left out of the request (optional inputs), conditions read it as ``null``.
- Header names are case-insensitive (RFC 9110); everything else is case-sensitive.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from tools.arazzo.errors import ExpressionError
from tools.model import JSONObject, JSONValue


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()

_ROOTS = (
    "url",
    "method",
    "statusCode",
    "request",
    "response",
    "inputs",
    "outputs",
    "steps",
    "workflows",
    "sourceDescriptions",
    "components",
)
_LOOKS_LIKE = re.compile(r"^\$[A-Za-z]")
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_EMBEDDED = re.compile(r"\{(\$[^{}\s]+)\}")
_NAME_STOP = re.compile(r"[\s{}]")


@dataclass(frozen=True)
class Expression:
    text: str
    root: str
    parts: tuple[str, ...] = ()  # e.g. ("header", "X-Rate-Limit"), ("find-pet", "outputs", "id")
    pointer: str | None = None  # JSON pointer after '#', '' for the whole value


def looks_like_expression(value: object) -> bool:
    return isinstance(value, str) and bool(_LOOKS_LIKE.match(value))


def parse(text: str) -> Expression:
    """Parse one runtime expression; ExpressionError says what is wrong."""
    if not text.startswith("$"):
        raise ExpressionError(text, "does not start with '$'")
    body, sep, pointer = text[1:].partition("#")
    if sep and pointer and not pointer.startswith("/"):
        raise ExpressionError(text, "a JSON pointer after '#' must start with '/'")
    if _NAME_STOP.search(body):
        raise ExpressionError(text, "contains spaces or braces")
    root, _, rest = body.partition(".")
    if root not in _ROOTS:
        known = ", ".join(f"${r}" for r in _ROOTS)
        raise ExpressionError(text, f"unknown source ${root} (expected one of {known})")
    parts = _parts(text, root, rest)
    if sep and root not in ("request", "response", "inputs", "outputs", "steps", "workflows"):
        raise ExpressionError(text, f"${root} takes no JSON pointer")
    if sep and root in ("request", "response") and parts[0] != "body":
        raise ExpressionError(text, "only a body takes a JSON pointer")
    return Expression(text, root, parts, pointer if sep else None)


def _parts(text: str, root: str, rest: str) -> tuple[str, ...]:
    if root in ("url", "method", "statusCode"):
        if rest:
            raise ExpressionError(text, f"${root} has no parts")
        return ()
    if not rest:
        raise ExpressionError(text, f"${root} needs a name after '.'")
    if root in ("request", "response"):
        kind, _, name = rest.partition(".")
        allowed = ("header", "query", "path", "body") if root == "request" else ("header", "body")
        if kind not in allowed:
            raise ExpressionError(text, f"${root}.{kind} is not one of {', '.join(allowed)}")
        if kind == "body":
            if name:
                raise ExpressionError(text, "use '#/pointer' to reach into a body, not '.'")
            return ("body",)
        if not name or (kind == "header" and not _TOKEN.match(name)):
            raise ExpressionError(text, f"${root}.{kind} needs a valid name")
        return (kind, name)
    if root in ("inputs", "outputs"):
        return (rest,)
    head, _, tail = rest.partition(".")
    if root == "workflows":
        kind, _, name = tail.partition(".")
        if kind not in ("inputs", "outputs") or not name:
            raise ExpressionError(text, "expected $workflows.<workflowId>.inputs|outputs.<name>")
        return (head, kind, name)
    if root == "steps" and not tail:
        raise ExpressionError(text, "expected $steps.<stepId>.outputs.<name>")
    if root == "components" and head not in (
        "parameters",
        "inputs",
        "successActions",
        "failureActions",
    ):
        raise ExpressionError(text, f"$components.{head} is not a component kind")
    return (head, tail) if tail else (head,)


def embedded(text: str) -> list[str]:
    """The ``{$...}`` expressions inside a string, in order."""
    return _EMBEDDED.findall(text)


@dataclass(frozen=True)
class Exchange:
    """One HTTP exchange as expressions see it (redacted, as the executor returned it)."""

    url: str = ""
    method: str = ""
    status: int | None = None
    request_headers: Mapping[str, str] = field(default_factory=dict)
    request_query: Mapping[str, JSONValue] = field(default_factory=dict)
    request_path: Mapping[str, JSONValue] = field(default_factory=dict)
    request_body: JSONValue = None
    response_headers: Mapping[str, str] = field(default_factory=dict)
    response_body: JSONValue = None


@dataclass
class Scope:
    """What expressions can see at one point of a run."""

    inputs: JSONObject = field(default_factory=dict)
    outputs: JSONObject = field(default_factory=dict)
    steps: dict[str, JSONObject] = field(default_factory=dict)  # stepId -> outputs
    workflows: dict[str, dict[str, JSONObject]] = field(default_factory=dict)
    sources: dict[str, JSONObject] = field(default_factory=dict)  # name -> {"url": ...}
    components: JSONObject = field(default_factory=dict)
    exchange: Exchange | None = None

    def at(self, exchange: Exchange | None, *, outputs: JSONObject | None = None) -> Scope:
        """The same run state seen from one exchange (and, for workflow steps, its outputs)."""
        return Scope(
            inputs=self.inputs,
            outputs=self.outputs if outputs is None else outputs,
            steps=self.steps,
            workflows=self.workflows,
            sources=self.sources,
            components=self.components,
            exchange=exchange,
        )


def evaluate(expr: Expression | str, scope: Scope) -> JSONValue:
    """The value of an expression (type preserved). ExpressionError if it cannot be had."""
    e = parse(expr) if isinstance(expr, str) else expr
    value = _base(e, scope)
    if e.pointer and value is not MISSING:
        value = resolve_pointer(value, e.pointer, e.text)
    return value


def _base(e: Expression, scope: Scope) -> JSONValue:
    if e.root in ("url", "method", "statusCode", "request", "response"):
        return _exchange_value(e, scope.exchange)
    if e.root == "inputs":
        return _named(scope.inputs, e.parts[0], e, missing_ok=True)
    if e.root == "outputs":
        return _named(scope.outputs, e.parts[0], e, missing_ok=False)
    head = e.parts[0]
    if e.root == "steps":
        if head not in scope.steps:
            raise ExpressionError(e.text, f"step {head!r} has not run (yet) in this workflow")
        kind, _, name = e.parts[1].partition(".")
        if kind != "outputs" or not name:
            raise ExpressionError(e.text, "expected $steps.<stepId>.outputs.<name>")
        return _named(scope.steps[head], name, e, missing_ok=False)
    if e.root == "workflows":
        if head not in scope.workflows:
            raise ExpressionError(e.text, f"workflow {head!r} has not run (yet)")
        return _named(scope.workflows[head][e.parts[1]], e.parts[2], e, missing_ok=False)
    table = scope.sources if e.root == "sourceDescriptions" else scope.components
    if head not in table:
        raise ExpressionError(e.text, f"no ${e.root}.{head}")
    node: JSONValue = table[head]
    if len(e.parts) > 1:
        node = _named(node, e.parts[1], e, missing_ok=False)
    return node


def _named(table: JSONValue, name: str, e: Expression, *, missing_ok: bool) -> JSONValue:
    if isinstance(table, dict) and name in table:
        return table[name]
    if missing_ok:
        return MISSING
    known = ", ".join(sorted(table)) if isinstance(table, dict) else ""
    raise ExpressionError(
        e.text, f"no value named {name!r}" + (f" (have: {known})" if known else "")
    )


def _exchange_value(e: Expression, ex: Exchange | None) -> JSONValue:
    if ex is None:
        raise ExpressionError(e.text, "there is no request/response here")
    if e.root == "url":
        return ex.url
    if e.root == "method":
        return ex.method
    if e.root == "statusCode":
        return ex.status
    kind = e.parts[0]
    if kind == "body":
        return ex.request_body if e.root == "request" else ex.response_body
    name = e.parts[1]
    if kind == "header":
        headers = ex.request_headers if e.root == "request" else ex.response_headers
        lowered = {k.lower(): v for k, v in headers.items()}
        if name.lower() not in lowered:
            raise ExpressionError(e.text, f"no {name} header in the {e.root}")
        return lowered[name.lower()]
    values = ex.request_query if kind == "query" else ex.request_path
    if name not in values:
        raise ExpressionError(e.text, f"no {kind} parameter {name!r} in the request")
    return values[name]


def resolve_pointer(value: JSONValue, pointer: str, text: str = "") -> JSONValue:
    """RFC 6901: the part of ``value`` at ``pointer`` ('' is the whole value)."""
    if pointer == "":
        return value
    node = value
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise ExpressionError(text or pointer, f"nothing at {pointer} (no {token!r})")
    return node


def render(text: str, scope: Scope) -> JSONValue:
    """Substitute the ``{$...}`` parts of a string; a string that is one of them keeps its type."""
    found = embedded(text)
    if len(found) == 1 and text == "{" + found[0] + "}":
        return evaluate(found[0], scope)
    return _EMBEDDED.sub(lambda m: to_text(evaluate(m.group(1), scope)), text)


def to_text(value: JSONValue) -> str:
    """How a value reads inside a string (JSON for structures, ``true`` not ``True``)."""
    if value is MISSING or value is None:
        return "" if value is MISSING else "null"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def evaluate_value(value: JSONValue, scope: Scope) -> JSONValue:
    """A parameter/payload value: expressions evaluated, templates rendered, literals kept."""
    if isinstance(value, str):
        if looks_like_expression(value):
            return evaluate(value, scope)
        return render(value, scope) if "{$" in value else value
    if isinstance(value, dict):
        out = {k: evaluate_value(v, scope) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not MISSING}
    if isinstance(value, list):
        return [v for v in (evaluate_value(v, scope) for v in value) if v is not MISSING]
    return value


def expressions_in(value: JSONValue) -> list[str]:
    """Every runtime expression a value holds (whole-string and embedded), for validation."""
    if isinstance(value, str):
        if looks_like_expression(value):
            return [value]
        return embedded(value)
    if isinstance(value, dict):
        return [e for v in value.values() for e in expressions_in(v)]
    if isinstance(value, list):
        return [e for v in value for e in expressions_in(v)]
    return []
