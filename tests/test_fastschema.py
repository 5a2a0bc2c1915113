"""The fast validity check agrees with jsonschema on every schema it accepts to handle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tools.fastschema import compile_check
from tools.ingest import ingest_spec

FORMATS = frozenset(Draft202012Validator.FORMAT_CHECKER.checkers)

SCHEMAS: list[Any] = [
    {},
    True,
    {"type": "integer"},
    {"type": "number", "minimum": 1, "exclusiveMaximum": 10},
    {"type": ["string", "null"], "minLength": 2, "maxLength": 3},
    {"type": "string", "pattern": "^[A-Z]{3}$"},
    {"type": "string", "pattern": "[0-9]"},  # search, not match
    {"enum": ["a", "b"]},
    {"const": "x"},
    {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 2},
    {"type": "object", "additionalProperties": False},
    {"type": "integer", "format": "int64", "maximum": 5},
    {"minimum": 0},  # applies to numbers only
    {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string", "description": "annotations never fail"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "owner": {"$ref": "#/$defs/Owner"},
        },
        "required": ["id"],
        "additionalProperties": False,
        "$defs": {
            "Owner": {
                "type": "object",
                "properties": {"id": {"type": "integer"}, "boss": {"$ref": "#/$defs/Owner"}},
                "required": ["id"],
                "x-internal": True,
            }
        },
    },
]

INSTANCES: list[Any] = [
    None, True, False, 0, 1, 1.0, 1.5, 5, 10, -3, "", "a", "ab", "ABC", "abc", "x", "a1", [],
    [1], [1, 2], [1, 2, 3], ["a"], [True], {}, {"id": 1}, {"id": True}, {"id": 1.0},
    {"id": 1, "name": "Rex", "tags": ["a"]}, {"id": 1, "extra": 1}, {"name": "no id"},
    {"id": 1, "owner": {"id": 2, "boss": {"id": 3}}}, {"id": 1, "owner": {"boss": {"id": 3}}},
    {"id": 1, "owner": {"id": 2, "boss": {"id": "x"}}}, {"id": 1, "tags": [1]},
]  # fmt: skip


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda s: str(s)[:40])
def test_agrees_with_jsonschema(schema: Any) -> None:
    check = compile_check(schema, formats=FORMATS)
    assert check is not None
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    for instance in INSTANCES:
        assert check(instance) == validator.is_valid(instance), instance


@pytest.mark.parametrize(
    "schema",
    [
        {"allOf": [{"type": "integer"}]},
        {"oneOf": [{"type": "integer"}]},
        {"type": "string", "format": "date-time"},  # a format the validator checks
        {"type": "object", "additionalProperties": {"type": "integer"}},
        {"type": "object", "properties": {}, "patternProperties": {"^x": {}}},
        {"enum": [1, True]},  # Python's 1 == True is not JSON Schema's equality
        {"$ref": "#/components/schemas/Pet"},
        {"$id": "https://example.com/s", "type": "object"},
        {"type": "tuple"},
        {"prefixItems": [{"type": "integer"}]},
        False,
    ],
    ids=lambda s: str(s)[:40],
)
def test_what_it_does_not_handle_is_left_to_jsonschema(schema: Any) -> None:
    assert compile_check(schema, formats=FORMATS) is None


def test_an_unchecked_format_is_an_annotation() -> None:
    check = compile_check({"type": "string", "format": "date-time"})
    assert check is not None
    assert check("not a date")
    assert Draft202012Validator({"type": "string", "format": "date-time"}).is_valid("not a date")


def test_bundled_specs_agree_with_jsonschema_on_sample_arguments() -> None:
    # Every tool of the bundled specs: where the fast check applies, it gives jsonschema's
    # verdict for a few argument objects and response bodies.
    specs = sorted(Path(__file__).resolve().parents[1].joinpath("specs").glob("*.yaml"))
    assert specs
    compared = 0
    for path in specs:
        catalog = ingest_spec(path)
        for tool in catalog:
            check = compile_check(tool.parameters, formats=FORMATS)
            if check is None:
                continue
            validator = Draft202012Validator(
                tool.parameters, format_checker=Draft202012Validator.FORMAT_CHECKER
            )
            names = list(tool.parameters.get("properties", {}))
            for value in (1, "x", 2.5, None, [], {}, {"name": "x"}, ["a"]):
                for args in ({}, dict.fromkeys(names, value), {"unknown": value}):
                    assert check(args) == validator.is_valid(args), (tool.name, args)
                    compared += 1
            for ref in (r for r in tool.binding.responses if r.status.isdigit()):
                schema = catalog.response_schema(tool.name, int(ref.status), ref.media_type)
                if schema is None or (fast := compile_check(schema)) is None:
                    continue
                plain = Draft202012Validator(schema)
                for body in (1, "x", None, [], {}, {"id": 1, "name": "x"}, [{"id": "x"}]):
                    assert fast(body) == plain.is_valid(body), (tool.name, body)
                    compared += 1
    assert compared > 0


@pytest.mark.timeout(30)
def test_patterns_are_time_bounded_for_responses_too() -> None:
    # QA Q20: a server's string against a spec's catastrophic pattern must not hang the call.
    import time

    from tools.patterns import search
    from tools.response import check_contract

    evil = {"type": "string", "pattern": "^(a|aa)+$"}
    started = time.monotonic()
    assert search("^(a|aa)+$", "a" * 60 + "!") is None  # undecided: past the bound
    assert check_contract(evil, "a" * 60 + "!") == []
    check = compile_check(evil)
    assert check is not None
    assert not check("a" * 60 + "!")  # "not sure": the caller asks jsonschema (bounded)
    assert time.monotonic() - started < 2
    assert search("^[0-9]+$", "123") is True
    assert search("[", "x") is None  # does not compile: not enforced
