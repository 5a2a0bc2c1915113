"""Spec shapes that used to pass silently: each now warns (naming its pointer) or fails clearly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tools.errors import SpecError
from tools.ingest import ingest_spec

INFO = {"title": "t", "version": "1"}


def spec(paths: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"openapi": "3.0.3", "info": INFO, "paths": paths, **extra}


def op(**fields: Any) -> dict[str, Any]:
    return {"responses": {"200": {"description": "ok"}}, **fields}


def test_swagger_1_2_says_to_convert(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    path.write_text('{"swaggerVersion": "1.2", "apis": []}')
    with pytest.raises(
        SpecError, match=r"old\.json#/swaggerVersion: not an OpenAPI document: Swagger 1\.2 is not"
    ):
        ingest_spec(path)


def test_renamed_duplicate_operation_id_is_named_in_a_warning() -> None:
    catalog = ingest_spec(
        spec({"/a": {"get": op(operationId="dup")}, "/b": {"get": op(operationId="dup")}})
    )
    assert catalog.names() == ["dup", "dup_2"]
    assert catalog.warnings == [
        "/paths/~1b/get: operationId 'dup' is not unique; this operation's tool is named 'dup_2'"
    ]


def test_parameters_and_servers_of_the_wrong_shape_warn() -> None:
    catalog = ingest_spec(
        spec({"/x": {"get": op(operationId="a", parameters={"q": {}})}}, servers="http://x")
    )
    assert catalog.warnings == [
        "/servers: servers must be a list of server objects, ignored",
        "/paths/~1x/get/parameters: parameters must be a list, ignored",
    ]


def test_server_with_an_undefined_variable_is_ignored_with_a_warning() -> None:
    catalog = ingest_spec(
        spec(
            {"/x": {"get": op(operationId="a")}},
            servers=[
                {"url": "https://{region}.example.com"},
                {"url": "https://{env}.example.com", "variables": {"env": {"default": "prod"}}},
            ],
        )
    )
    assert [s.url for s in catalog.get("a").binding.servers] == ["https://{env}.example.com"]
    assert catalog.warnings == [
        "/servers/0: server URL 'https://{region}.example.com' uses variable 'region', which "
        "its 'variables' do not define; server ignored"
    ]


def test_undefined_security_schemes_are_named_with_their_pointer() -> None:
    schemes = {"securitySchemes": {"key": {"type": "apiKey", "name": "k", "in": "header"}}}
    catalog = ingest_spec(
        spec(
            {"/x": {"get": op(operationId="a", security=[{"key": []}, {"other": []}])}},
            security=[{"nope": []}],
            components=schemes,
        )
    )
    assert catalog.warnings == [
        "/security/0/nope: security scheme 'nope' is not defined in the spec; calls needing "
        "it cannot be authenticated",
        "/paths/~1x/get/security/1/other: security scheme 'other' is not defined in the spec; "
        "calls needing it cannot be authenticated",
    ]


def test_paths_whose_every_operation_is_malformed_are_a_spec_error() -> None:
    with pytest.raises(SpecError, match=r"no operation could be mapped; first problem: /paths"):
        ingest_spec(spec({"/x": {"get": [1]}, "/y": "nope"}))
    # One good operation among malformed ones: a catalog, the rest as warnings.
    catalog = ingest_spec(spec({"/x": {"get": [1]}, "/y": {"get": op(operationId="y")}}))
    assert catalog.names() == ["y"]
    assert catalog.warnings == ["/paths/~1x/get: operation is not an object, skipped"]
