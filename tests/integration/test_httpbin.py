"""The executor against a real httpbin on 127.0.0.1: what was sent is what the spec says.

httpbin echoes requests (``/anything``), so these tests prove that parameter styles, headers,
cookies and bodies leave the executor as built, that statuses are results, that delays trip
timeouts, that redirects are followed on the same host and refused to a foreign one, that 503s
are retried with every attempt recorded, and that credentials work without leaking.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.servers import httpbin_url
from tools.call import CallResult
from tools.catalog import Catalog
from tools.credentials import Credentials
from tools.errors import CallTimeoutError, RedirectRefusedError
from tools.executor import Executor, ExecutorSettings
from tools.ingest import ingest_spec
from tools.model import JSONObject

pytestmark = pytest.mark.integration
__all__ = ["httpbin_url"]  # the fixture, imported for pytest to find

USER, PASSWORD, TOKEN = "baton-user", "pa55-w0rd-s3cret-xyz", "tok-9f8e7d6c5b4a-secret"
ENV = {
    "BATON_AUTH_BASIC_USERNAME": USER,
    "BATON_AUTH_BASIC_PASSWORD": PASSWORD,
    "BATON_AUTH_BEARER": TOKEN,
}
SECRETS = (PASSWORD, TOKEN)


def _param(name: str, where: str, schema: JSONObject, **extra: Any) -> JSONObject:
    return {"name": name, "in": where, "schema": schema, **extra}


STRINGS = {"type": "array", "items": {"type": "string"}}
ANYTHING_PARAMS = [
    _param("tags", "query", STRINGS, style="form", explode=True),
    _param("ids", "query", {"type": "array", "items": {"type": "integer"}}, explode=False),
    _param("words", "query", STRINGS, style="spaceDelimited", explode=False),
    _param("pipes", "query", STRINGS, style="pipeDelimited", explode=False),
    _param(
        "filter",
        "query",
        {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}},
        style="deepObject",
        explode=True,
    ),
    _param("X-Trace-Id", "header", {"type": "string"}),
    _param("session", "cookie", {"type": "string"}),
]
OBJECT_BODY = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "n": {"type": "integer"}},
}


def _op(op_id: str, params: list[JSONObject] | None = None, **extra: Any) -> JSONObject:
    return {
        "operationId": op_id,
        "parameters": params or [],
        "responses": {"200": {"description": "ok"}},
        **extra,
    }


def _body(media: str, schema: JSONObject) -> JSONObject:
    return {"required": True, "content": {media: {"schema": schema}}}


HTTPBIN_SPEC: JSONObject = {
    "openapi": "3.0.3",
    "info": {"title": "httpbin", "version": "1"},
    "servers": [{"url": "https://httpbin.example.com"}],
    "components": {
        "securitySchemes": {
            "basic": {"type": "http", "scheme": "basic"},
            "bearer": {"type": "http", "scheme": "bearer"},
        }
    },
    "paths": {
        "/status/{code}": {
            "get": _op("status", [_param("code", "path", {"type": "integer"}, required=True)])
        },
        "/delay/{seconds}": {
            "get": _op("delay", [_param("seconds", "path", {"type": "number"}, required=True)])
        },
        "/redirect/{n}": {
            "get": _op("redirect", [_param("n", "path", {"type": "integer"}, required=True)])
        },
        "/redirect-to": {
            "get": _op("redirectTo", [_param("url", "query", {"type": "string"}, required=True)])
        },
        "/anything": {
            "get": _op("echoQuery", ANYTHING_PARAMS),
            "post": _op("echoJson", requestBody=_body("application/json", OBJECT_BODY)),
            "put": _op(
                "echoForm", requestBody=_body("application/x-www-form-urlencoded", OBJECT_BODY)
            ),
            "patch": _op(
                "echoMultipart",
                requestBody=_body(
                    "multipart/form-data",
                    {
                        "type": "object",
                        "properties": {
                            "note": {"type": "string"},
                            "file": {"type": "string", "format": "binary"},
                        },
                    },
                ),
            ),
        },
        "/basic-auth/{user}/{passwd}": {
            "get": _op(
                "basicAuth",
                [
                    _param("user", "path", {"type": "string"}, required=True),
                    _param("passwd", "path", {"type": "string"}, required=True),
                ],
                security=[{"basic": []}],
            )
        },
        "/bearer": {"get": _op("bearer", security=[{"bearer": []}])},
    },
}


async def _noop_sleep(seconds: float) -> None:
    return None


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return ingest_spec(HTTPBIN_SPEC)


def _executor(catalog: Catalog, url: str, **kwargs: Any) -> Executor:
    from tools.policy import Policy

    kwargs.setdefault("policy", Policy(approve_side_effects=True))
    return Executor(
        catalog, server=url, credentials=Credentials(env=ENV), sleep=_noop_sleep, **kwargs
    )


async def _call(ex: Executor, tool: str, args: JSONObject) -> CallResult:
    result = await ex.call(tool, args)
    assert isinstance(result, CallResult)
    dumped = result.model_dump_json()
    assert all(secret not in dumped for secret in SECRETS)
    return result


async def test_statuses_are_results(catalog: Catalog, httpbin_url: str) -> None:
    async with _executor(catalog, httpbin_url) as ex:
        for code in (200, 204, 404, 418, 500):
            result = await _call(ex, "status", {"code": code})
            assert result.status == code
            assert len(result.attempts) == 1


async def test_delay_within_and_past_the_read_timeout(catalog: Catalog, httpbin_url: str) -> None:
    settings = ExecutorSettings(read_timeout=0.5, max_attempts=2)
    async with _executor(catalog, httpbin_url, settings=settings) as ex:
        assert (await _call(ex, "delay", {"seconds": 0.1})).status == 200
        with pytest.raises(CallTimeoutError, match=r"failed after 2 attempt\(s\): timeout"):
            await ex.call("delay", {"seconds": 2})


async def test_same_host_redirects_are_followed(catalog: Catalog, httpbin_url: str) -> None:
    async with _executor(catalog, httpbin_url) as ex:
        result = await _call(ex, "redirect", {"n": 2})
    assert result.status == 200
    assert [a.status for a in result.attempts] == [302, 302, 200]
    assert result.attempts[-1].url == f"{httpbin_url}/get"


async def test_redirect_to_a_foreign_host_is_refused(catalog: Catalog, httpbin_url: str) -> None:
    async with _executor(catalog, httpbin_url) as ex:
        # The API's redirect is refused as a failed call, not as bad input (QA Q14).
        with pytest.raises(RedirectRefusedError, match=r"evil\.example\.net"):
            await ex.call("redirectTo", {"url": "https://evil.example.net/steal"})


async def test_503_is_retried_with_every_attempt_recorded(
    catalog: Catalog, httpbin_url: str
) -> None:
    async with _executor(catalog, httpbin_url, settings=ExecutorSettings(max_attempts=3)) as ex:
        result = await _call(ex, "status", {"code": 503})
    assert result.status == 503
    assert [(a.status, a.retry_reason) for a in result.attempts] == [
        (503, "503"),
        (503, "503"),
        (503, None),
    ]
    assert all(a.wait_s is not None for a in result.attempts[:2])


async def test_query_styles_headers_and_cookies_arrive_as_built(
    catalog: Catalog, httpbin_url: str
) -> None:
    args = {
        "tags": ["a", "b c"],
        "ids": [1, 2, 3],
        "words": ["x", "y"],
        "pipes": ["p", "q"],
        "filter": {"name": "Rex", "age": 3},
        "X-Trace-Id": "trace-42",
        "session": "s-1",
    }
    async with _executor(catalog, httpbin_url) as ex:
        result = await _call(ex, "echoQuery", args)
    echo = result.body
    assert echo["args"] == {
        "tags": ["a", "b c"],
        "ids": "1,2,3",
        "words": "x y",
        "pipes": "p|q",
        "filter[name]": "Rex",
        "filter[age]": "3",
    }
    assert echo["headers"]["X-Trace-Id"] == "trace-42"
    assert echo["headers"]["Cookie"] == "session=s-1"


async def test_json_body_arrives_as_built(catalog: Catalog, httpbin_url: str) -> None:
    async with _executor(catalog, httpbin_url) as ex:
        result = await _call(ex, "echoJson", {"body": {"name": "Rex", "n": 3}})
    assert result.body["json"] == {"name": "Rex", "n": 3}
    assert result.body["headers"]["Content-Type"] == "application/json"


async def test_form_body_arrives_as_built(catalog: Catalog, httpbin_url: str) -> None:
    async with _executor(catalog, httpbin_url) as ex:
        result = await _call(ex, "echoForm", {"body": {"name": "Rex & co", "n": 3}})
    assert result.body["form"] == {"name": "Rex & co", "n": "3"}
    assert result.body["headers"]["Content-Type"].startswith("application/x-www-form-urlencoded")


async def test_multipart_body_arrives_as_built(
    catalog: Catalog, httpbin_url: str, tmp_path: Path
) -> None:
    (tmp_path / "report.txt").write_text("hello from a file\n")
    async with _executor(catalog, httpbin_url, files_root=tmp_path) as ex:
        result = await _call(ex, "echoMultipart", {"body": {"note": "hi", "file": "report.txt"}})
    assert result.body["form"] == {"note": "hi"}
    assert result.body["files"] == {"file": "hello from a file\n"}
    assert result.body["headers"]["Content-Type"].startswith("multipart/form-data; boundary=")


async def test_basic_auth_from_the_environment(catalog: Catalog, httpbin_url: str) -> None:
    async with _executor(catalog, httpbin_url) as ex:
        ok = await _call(ex, "basicAuth", {"user": USER, "passwd": "pa55-w0rd-s3cret-xyz"})
        wrong = await _call(ex, "basicAuth", {"user": USER, "passwd": "other"})
    assert ok.status == 200
    assert ok.body["authenticated"] is True
    assert wrong.status == 401


async def test_bearer_token_from_the_environment(catalog: Catalog, httpbin_url: str) -> None:
    async with _executor(catalog, httpbin_url) as ex:
        result = await _call(ex, "bearer", {})
    assert result.status == 200
    assert result.body["authenticated"] is True
    assert result.body["token"] != TOKEN  # echoed, then redacted
