"""The OpenAI strict-mode variant of a tool's argument schema, or None when it cannot be had.

OpenAI structured outputs (``strict: true``) accept a subset of JSON Schema: every object must
list all its properties in ``required`` and set ``additionalProperties: false``; optional
properties are expressed as nullable; ``allOf``, ``oneOf``, ``not``, conditionals,
``patternProperties`` and free-form maps are not supported; nesting is limited. This module
rewrites what can be rewritten and returns None for the rest, so a caller can fall back to the
non-strict schema. It drops keywords the subset ignores or rejects (length bounds, examples,
defaults, ...) since the executor still validates arguments against the full schema.
"""

from __future__ import annotations

from typing import Any

from tools.model import JSONObject, JSONValue

_MAX_DEPTH = 10  # OpenAI: "up to 10 levels of nesting"
_MAX_PROPERTIES = 5000
_UNSUPPORTED = frozenset(
    {
        "allOf",
        "oneOf",
        "not",
        "if",
        "then",
        "else",
        "patternProperties",
        "dependentSchemas",
        "dependentRequired",
        "unevaluatedProperties",
        "unevaluatedItems",
        "prefixItems",
        "contains",
        "propertyNames",
    }
)
_KEEP = frozenset(
    {
        "type",
        "description",
        "title",
        "enum",
        "const",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "anyOf",
        "$ref",
        "$defs",
        "pattern",
        "format",
        "multipleOf",
        "maximum",
        "minimum",
        "exclusiveMaximum",
        "exclusiveMinimum",
        "minItems",
        "maxItems",
    }
)
_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}
)


class _NotExpressible(Exception):
    pass


def strict_variant(schema: JSONObject) -> JSONObject | None:
    """Strict-mode copy of ``schema`` (a tool's parameters object), or None."""
    try:
        out = _Strict().convert(schema, 0, root=True)
    except _NotExpressible:
        return None
    return out if isinstance(out, dict) else None


class _Strict:
    def __init__(self) -> None:
        self.properties = 0

    def convert(self, node: JSONValue, depth: int, *, root: bool = False) -> JSONValue:
        if node is True or node == {}:
            raise _NotExpressible("an unconstrained value")
        if not isinstance(node, dict) or depth > _MAX_DEPTH:
            raise _NotExpressible("not expressible")
        if _UNSUPPORTED & node.keys():
            raise _NotExpressible("unsupported keyword")
        out: JSONObject = {}
        for key, value in node.items():
            if key not in _KEEP:
                continue
            if key == "format" and value not in _FORMATS:
                continue
            out[key] = value
        if "$defs" in out:
            out["$defs"] = {k: self.convert(v, 1) for k, v in out["$defs"].items()}
        if "anyOf" in out:
            if root:
                raise _NotExpressible("anyOf at the root")
            out["anyOf"] = [self.convert(v, depth + 1) for v in out["anyOf"]]
        if "items" in out:
            out["items"] = self.convert(out["items"], depth + 1)
        if _is_object(out):
            self._object(out, node, depth, root=root)
        elif "additionalProperties" in out or "required" in out:
            out.pop("additionalProperties", None)
            out.pop("required", None)
        if not {"$ref", "type", "anyOf", "enum", "const"} & out.keys():
            raise _NotExpressible("no type")
        return out

    def _object(self, out: JSONObject, node: JSONObject, depth: int, *, root: bool) -> None:
        extra = node.get("additionalProperties")
        props = node.get("properties") or {}
        if extra not in (False, None):
            raise _NotExpressible("free-form map")
        if not props and extra is not False and not root:
            # An object with no declared properties accepts anything; strict mode would
            # narrow it to {} and the model could not pass what the API expects.
            raise _NotExpressible("object without properties")
        self.properties += len(props)
        if self.properties > _MAX_PROPERTIES:
            raise _NotExpressible("too many properties")
        required = set(node.get("required") or ())
        converted: JSONObject = {}
        for name, sub in props.items():
            value = self.convert(sub, depth + 1)
            converted[name] = value if name in required else _nullable(value)
        out["properties"] = converted
        out["required"] = list(props)
        out["additionalProperties"] = False


def _is_object(node: JSONObject) -> bool:
    kind = node.get("type")
    return (
        kind == "object"
        or (isinstance(kind, list) and "object" in kind)
        or (kind is None and "properties" in node)
    )


def _nullable(node: Any) -> JSONObject:
    kind = node.get("type")
    if "$ref" in node or "anyOf" in node or kind is None:
        if "anyOf" in node and {"type": "null"} in node["anyOf"]:
            return dict(node)
        desc = node.get("description")
        wrapped: JSONObject = {"anyOf": [node, {"type": "null"}]}
        if isinstance(desc, str) and "$ref" in node:
            wrapped["description"] = desc
        return wrapped
    out = dict(node)
    if isinstance(kind, str):
        out["type"] = [kind, "null"] if kind != "null" else kind
    elif "null" not in kind:
        out["type"] = [*kind, "null"]
    if isinstance(out.get("enum"), list) and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    return out
