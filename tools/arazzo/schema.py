"""Baton's JSON Schema (draft 2020-12) for Arazzo 1.0.x documents, written from the spec text.

Owns the structural rules only: which fields each object has, their types, which are
required, and that nothing but ``x-`` extensions appears beside them. Rules that need more
than one object at once (unique ids, ``goto`` targets, exclusive ``operationId`` /
``operationPath`` / ``workflowId``, ``dependsOn`` cycles, expression syntax) live in
``tools.arazzo.document``, where the messages can say exactly what is wrong.

Why not the OpenAPI Initiative's published schema: it is not shipped in any package we can
depend on, and its ``oneOf``/``unevaluatedProperties`` constructs yield messages such as "is
valid under each of" that do not tell a user what to fix.
"""

from __future__ import annotations

from tools.model import JSONObject

_EXT: JSONObject = {"^x-": {}}
_KEY = "^[a-zA-Z0-9.\\-_]+$"
_ANY = {"type": ["string", "boolean", "object", "array", "number", "integer", "null"]}


def _obj(props: JSONObject, required: list[str] | None = None, **extra: object) -> JSONObject:
    """An object with exactly these fields plus ``x-`` extensions."""
    schema: JSONObject = {
        "type": "object",
        "properties": props,
        "patternProperties": _EXT,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    schema.update(extra)
    return schema


def _list(item: JSONObject, *, non_empty: bool = False) -> JSONObject:
    schema: JSONObject = {"type": "array", "items": item}
    if non_empty:
        schema["minItems"] = 1
    return schema


def _or_reusable(name: str) -> JSONObject:
    """A list item that is either a Reusable Object (has ``reference``) or the object itself."""
    return {
        "if": {"type": "object", "required": ["reference"]},
        "then": {"$ref": "#/$defs/reusable"},
        "else": {"$ref": f"#/$defs/{name}"},
    }


_STRING = {"type": "string"}
_OUTPUTS = {
    "type": "object",
    "propertyNames": {"pattern": _KEY},
    "additionalProperties": {"type": "string"},
}
_SCHEMA_OBJECT = {"type": ["object", "boolean"]}  # any JSON Schema; checked when it is used

_ACTION_COMMON: JSONObject = {
    "name": _STRING,
    "workflowId": _STRING,
    "stepId": _STRING,
    "criteria": _list({"$ref": "#/$defs/criterion"}),
}

ARAZZO_SCHEMA: JSONObject = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "urn:baton:arazzo-1.0",
    **_obj(
        {
            "arazzo": {"type": "string", "pattern": "^1\\.0\\.\\d+(-.+)?$"},
            "info": {"$ref": "#/$defs/info"},
            "sourceDescriptions": _list({"$ref": "#/$defs/source"}, non_empty=True),
            "workflows": _list({"$ref": "#/$defs/workflow"}, non_empty=True),
            "components": {"$ref": "#/$defs/components"},
        },
        ["arazzo", "info", "sourceDescriptions", "workflows"],
    ),
    "$defs": {
        "info": _obj(
            {"title": _STRING, "summary": _STRING, "description": _STRING, "version": _STRING},
            ["title", "version"],
        ),
        "source": _obj(
            {
                "name": {"type": "string", "pattern": "^[A-Za-z0-9_\\-]+$"},
                "url": _STRING,
                "type": {"enum": ["openapi", "arazzo"]},
            },
            ["name", "url"],
        ),
        "workflow": _obj(
            {
                "workflowId": _STRING,
                "summary": _STRING,
                "description": _STRING,
                "inputs": _SCHEMA_OBJECT,
                "dependsOn": _list(_STRING),
                "steps": _list({"$ref": "#/$defs/step"}, non_empty=True),
                "successActions": _list(_or_reusable("successAction")),
                "failureActions": _list(_or_reusable("failureAction")),
                "outputs": _OUTPUTS,
                "parameters": _list(_or_reusable("parameter")),
            },
            ["workflowId", "steps"],
        ),
        "step": _obj(
            {
                "stepId": _STRING,
                "description": _STRING,
                "operationId": _STRING,
                "operationPath": _STRING,
                "workflowId": _STRING,
                "parameters": _list(_or_reusable("parameter")),
                "requestBody": {"$ref": "#/$defs/requestBody"},
                "successCriteria": _list({"$ref": "#/$defs/criterion"}, non_empty=True),
                "onSuccess": _list(_or_reusable("successAction")),
                "onFailure": _list(_or_reusable("failureAction")),
                "outputs": _OUTPUTS,
            },
            ["stepId"],
        ),
        "parameter": _obj(
            {"name": _STRING, "in": {"enum": ["path", "query", "header", "cookie"]}, "value": _ANY},
            ["name", "value"],
        ),
        "reusable": {
            # The spec says extra fields of a Reusable Object "MUST be ignored": no closing.
            "type": "object",
            "properties": {"reference": _STRING, "value": _ANY},
            "required": ["reference"],
        },
        "successAction": _obj(
            {**_ACTION_COMMON, "type": {"enum": ["end", "goto"]}}, ["name", "type"]
        ),
        "failureAction": _obj(
            {
                **_ACTION_COMMON,
                "type": {"enum": ["end", "goto", "retry"]},
                "retryAfter": {"type": "number", "minimum": 0},
                "retryLimit": {"type": "integer", "minimum": 0},
            },
            ["name", "type"],
        ),
        "criterion": _obj(
            {
                "context": _STRING,
                "condition": _STRING,
                "type": {
                    "anyOf": [
                        {"enum": ["simple", "regex", "jsonpath", "xpath"]},
                        {"$ref": "#/$defs/expressionType"},
                    ]
                },
            },
            ["condition"],
        ),
        "expressionType": _obj(
            {
                "type": {"enum": ["jsonpath", "xpath"]},
                "version": {
                    "enum": [
                        "draft-goessner-dispatch-jsonpath-00",
                        "xpath-10",
                        "xpath-20",
                        "xpath-30",
                    ]
                },
            },
            ["type", "version"],
        ),
        "requestBody": _obj(
            {
                "contentType": _STRING,
                "payload": _ANY,
                "replacements": _list({"$ref": "#/$defs/replacement"}),
            }
        ),
        "replacement": _obj({"target": _STRING, "value": _ANY}, ["target", "value"]),
        "components": _obj(
            {
                "inputs": {"$ref": "#/$defs/map", "additionalProperties": _SCHEMA_OBJECT},
                "parameters": {
                    "$ref": "#/$defs/map",
                    "additionalProperties": {"$ref": "#/$defs/parameter"},
                },
                "successActions": {
                    "$ref": "#/$defs/map",
                    "additionalProperties": {"$ref": "#/$defs/successAction"},
                },
                "failureActions": {
                    "$ref": "#/$defs/map",
                    "additionalProperties": {"$ref": "#/$defs/failureAction"},
                },
            }
        ),
        "map": {"type": "object", "propertyNames": {"pattern": _KEY}},
    },
}
