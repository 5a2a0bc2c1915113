"""A small generator of valid example arguments from a tool's JSON Schema (for Prism tests).

Honest about its limits: a schema it cannot satisfy with confidence (a ``pattern`` none of a
few simple candidates matches, a binary file part, ``not``) raises ``Unsupported`` so the
caller skips and counts the operation instead of sending a guess.
"""

from __future__ import annotations

import re
from typing import Any

from tools.model import JSONObject, JSONValue

MAX_DEPTH = 8

_FORMATS: dict[str, str] = {
    "date-time": "2024-01-02T03:04:05Z",
    "date": "2024-01-02",
    "time": "03:04:05Z",
    "email": "someone@example.com",
    "idn-email": "someone@example.com",
    "uri": "https://example.com/x",
    "url": "https://example.com/x",
    "uri-reference": "https://example.com/x",
    "iri": "https://example.com/x",
    "uuid": "123e4567-e89b-12d3-a456-426614174000",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "byte": "aGVsbG8=",
    "password": "example-password",
    "int32": "1",
    "int64": "1",
}


_PATTERN_CANDIDATES = (
    "1",
    "123",
    "example",
    "abc123",
    "ABC",
    "a",
    "123e4567-e89b-12d3-a456-426614174000",
    "2024-01-02",
    "someone@example.com",
    "https://example.com/x",
)


class Unsupported(Exception):
    """The generator cannot produce a value it is sure the schema accepts."""


def example_args(parameters: JSONObject, *, optional_top_level: bool = True) -> JSONObject:
    """Arguments for a tool: every top-level property (or the required ones), valid values."""
    value = _example(parameters, parameters, 0, all_props=optional_top_level)
    if not isinstance(value, dict):
        raise Unsupported("the argument schema is not an object")
    return value


def _example(schema: JSONValue, root: JSONObject, depth: int, *, all_props: bool = False) -> Any:
    if depth > MAX_DEPTH:
        raise Unsupported("schema nests too deeply")
    if not isinstance(schema, dict):
        return "x"
    if "$ref" in schema:
        return _example(_resolve(schema["$ref"], root), root, depth + 1)
    for key in ("const", "example"):
        if key in schema:
            return schema[key]
    if "examples" in schema and isinstance(schema["examples"], list) and schema["examples"]:
        return schema["examples"][0]
    if schema.get("enum"):
        return next((v for v in schema["enum"] if v is not None), schema["enum"][0])
    if "default" in schema:
        return schema["default"]
    if "allOf" in schema:
        return _all_of(schema, root, depth)
    for key in ("oneOf", "anyOf"):
        if schema.get(key):
            return _example(schema[key][0], root, depth + 1)
    if "not" in schema:
        raise Unsupported("'not' schemas are not generated")
    return _typed(schema, root, depth, all_props)


def _typed(schema: JSONObject, root: JSONObject, depth: int, all_props: bool) -> Any:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    if kind == "object":
        return _object(schema, root, depth, all_props)
    if kind == "array":
        count = max(1, int(schema.get("minItems", 1)))
        return [_example(schema.get("items", {}), root, depth + 1) for _ in range(count)]
    if kind == "string":
        return _string(schema)
    if kind in ("integer", "number"):
        return _number(schema, kind)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    raise Unsupported(f"unknown type {kind!r}")


def _object(schema: JSONObject, root: JSONObject, depth: int, all_props: bool) -> JSONObject:
    props: JSONObject = schema.get("properties", {})
    wanted = list(props) if all_props else list(schema.get("required", []))
    if len(wanted) < int(schema.get("minProperties", 0)):
        wanted = list(props)
    out: JSONObject = {}
    for name in wanted:
        if name in props:
            out[name] = _example(props[name], root, depth + 1)
        else:
            out[name] = "x"
    return out


def _all_of(schema: JSONObject, root: JSONObject, depth: int) -> Any:
    merged: JSONObject = {}
    for part in schema["allOf"]:
        value = _example(part, root, depth + 1)
        if not isinstance(value, dict):
            return value
        merged.update(value)
    rest = {k: v for k, v in schema.items() if k != "allOf"}
    if rest.get("properties") or rest.get("required"):
        merged.update(_object(rest, root, depth, False))
    return merged


def _string(schema: JSONObject) -> str:
    fmt = schema.get("format")
    if fmt == "binary":
        raise Unsupported("binary string (a file) is not generated")
    value = _FORMATS.get(str(fmt), "example")
    if "pattern" in schema:
        value = _matching(str(schema["pattern"]), value)
    low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
    if len(value) < low:
        value = value + "x" * (low - len(value))
    if high is not None and len(value) > int(high):
        if fmt in _FORMATS:
            raise Unsupported(f"format {fmt} longer than maxLength {high}")
        value = value[: int(high)]
    return value


def _matching(pattern: str, preferred: str) -> str:
    """A simple candidate that matches ``pattern`` (ECMA regexes read as Python ones)."""
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise Unsupported(f"pattern {pattern!r} is not readable: {exc}") from exc
    for candidate in (preferred, *_PATTERN_CANDIDATES):
        if regex.search(candidate):
            return candidate
    raise Unsupported(f"pattern {pattern!r} without an example")


def _number(schema: JSONObject, kind: str) -> int | float:
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    value: float = 1
    if isinstance(low, int | float):
        value = low + (1 if "exclusiveMinimum" in schema and "minimum" not in schema else 0)
    if isinstance(high, int | float) and value > high:
        value = high
    step = schema.get("multipleOf")
    if isinstance(step, int | float) and step:
        value = step * max(1, round(value / step))
    return int(value) if kind == "integer" else value


def _resolve(ref: str, root: JSONObject) -> JSONValue:
    if not ref.startswith("#/"):
        raise Unsupported(f"external reference {ref}")
    node: JSONValue = root
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            raise Unsupported(f"unresolvable reference {ref}")
        node = node[part]
    return node
