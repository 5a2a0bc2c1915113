"""Every parameter style and body kind, judged by Prism: a request Baton builds is one Prism
accepts (Prism answers 422 when a request does not match its spec, as the control shows)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.servers import PrismFactory, prism
from tools.call import CallResult
from tools.credentials import Credentials
from tools.executor import Executor, ExecutorSettings
from tools.ingest import ingest_spec
from tools.model import JSONObject
from tools.policy import Policy

pytestmark = pytest.mark.integration
__all__ = ["prism"]  # the fixture, imported for pytest to find

INTS = {"type": "array", "items": {"type": "integer"}}
WORDS = {"type": "array", "items": {"type": "string"}}
RGB = {
    "type": "object",
    "properties": {"R": {"type": "integer"}, "G": {"type": "integer"}},
    "required": ["R", "G"],
    "additionalProperties": False,
}


def _p(name: str, where: str, schema: JSONObject, **extra: Any) -> JSONObject:
    return {"name": name, "in": where, "required": True, "schema": schema, **extra}


def _op(op_id: str, params: list[JSONObject], **extra: Any) -> JSONObject:
    ok = {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}
    return {"operationId": op_id, "parameters": params, "responses": {"200": ok}, **extra}


def _path_ops() -> JSONObject:
    paths: JSONObject = {}
    for style in ("simple", "label", "matrix"):
        for explode in (False, True):
            suffix = f"{style}{'X' if explode else ''}"
            # Primitives only: Prism 5 crashes deserializing array path values.
            params = [
                _p("n", "path", {"type": "integer"}, style=style, explode=explode),
                _p("word", "path", {"type": "string"}, style=style, explode=explode),
            ]
            paths[f"/path/{suffix}/{{n}}/{{word}}"] = {"get": _op(f"path_{suffix}", params)}
    return paths


QUERY_PARAMS = [
    _p("formX", "query", WORDS, style="form", explode=True),
    _p("form", "query", INTS, style="form", explode=False),
    _p("space", "query", WORDS, style="spaceDelimited", explode=False),
    _p("pipe", "query", INTS, style="pipeDelimited", explode=False),
    # No deepObject: Prism 5 rejects every form of it (its own examples included); the unit
    # tests and the httpbin echo test check it instead.
    _p("text", "query", {"type": "string"}),
    _p("X-Ids", "header", INTS),
    _p("session", "cookie", {"type": "string"}),
]


def _body(media: str, schema: JSONObject, **extra: Any) -> JSONObject:
    return {"required": True, "content": {media: {"schema": schema, **extra}}}


PET = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}, "tags": WORDS},
    "required": ["name", "age"],
}
UPLOAD = {
    "type": "object",
    "properties": {
        "note": {"type": "string"},
        "meta": RGB,
        "file": {"type": "string", "format": "binary"},
    },
    "required": ["note", "file"],
}
SPEC: JSONObject = {
    "openapi": "3.0.3",
    "info": {"title": "styles", "version": "1"},
    "servers": [{"url": "https://styles.example.com/v1"}],
    "paths": {
        **_path_ops(),
        "/query": {"get": _op("query", QUERY_PARAMS)},
        "/json": {"post": _op("postJson", [], requestBody=_body("application/json", PET))},
        "/form": {
            "post": _op(
                "postForm",
                [],
                requestBody=_body(
                    "application/x-www-form-urlencoded",
                    PET,
                    encoding={"tags": {"style": "form", "explode": True}},
                ),
            )
        },
        "/multipart": {
            "post": _op("postMultipart", [], requestBody=_body("multipart/form-data", UPLOAD))
        },
        "/text": {"post": _op("postText", [], requestBody=_body("text/plain", {"type": "string"}))},
    },
}
CALLS: list[tuple[str, JSONObject]] = [
    *[
        (f"path_{s}{x}", {"n": 5, "word": "a/b?c#d e"})
        for s in ("simple", "label", "matrix")
        for x in ("", "X")
    ],
    (
        "query",
        {
            "formX": ["a b", "c&d"],
            "form": [1, 2],
            "space": ["x", "y"],
            "pipe": [7, 8],
            "text": "50% /?#&=+ off",
            "X-Ids": [1, 2],
            "session": "s 1",
        },
    ),
    ("postJson", {"body": {"name": "Rex", "age": 3, "tags": ["a"]}}),
    ("postForm", {"body": {"name": "Rex & co", "age": 3, "tags": ["a", "b"]}}),
    # Prism does not parse JSON parts of multipart bodies; tests/test_serialize.py checks them.
    ("postMultipart", {"body": {"note": "hi", "file": "f.txt"}}),
    ("postText", {"body": "plain text body"}),
]


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("styles") / "styles.json"
    path.write_text(json.dumps(SPEC))
    return path


@pytest.mark.parametrize(("tool", "args"), CALLS, ids=[c[0] for c in CALLS])
async def test_prism_accepts_what_baton_builds(
    prism: PrismFactory, spec_file: Path, tmp_path: Path, tool: str, args: JSONObject
) -> None:
    (tmp_path / "f.txt").write_text("file content\n")
    catalog = ingest_spec(spec_file)
    async with Executor(
        catalog,
        server=prism(spec_file),
        policy=Policy(approve_side_effects=True),
        settings=ExecutorSettings(max_attempts=1),
        credentials=Credentials(env={}),
        files_root=tmp_path,
    ) as executor:
        result = await executor.call(tool, args)
    assert isinstance(result, CallResult)
    assert result.status == 200, (result.body, result.attempts[-1].url)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/query?formX=a&form=x&space=a&pipe=1&text=t", None),
        ("POST", "/json", {"name": 1}),
    ],
)
async def test_control_prism_rejects_what_does_not_match(
    prism: PrismFactory, spec_file: Path, method: str, path: str, body: JSONObject | None
) -> None:
    headers = {"X-Ids": "1", "Cookie": "session=s"}
    async with httpx2.AsyncClient() as client:
        url = prism(spec_file) + path
        reply = await client.request(method, url, json=body, headers=headers)
    assert reply.status_code == 422
