"""The executor end to end over an injected transport: build, send, parse, redact."""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest

from tests.executor_api import API_KEY, BASE, FakeAPI, Sleeps, catalog
from tools.call import CallResult, PreparedRequest
from tools.catalog import Catalog
from tools.credentials import Credentials
from tools.errors import (
    ArgumentError,
    CredentialsError,
    HostNotAllowedError,
    ResponseTooLargeError,
    ServerURLError,
    SpecError,
    UnknownToolError,
)
from tools.events import ContractDrift, ToolEvent
from tools.executor import Executor, ExecutorSettings
from tools.model import Server
from tools.policy import Policy


def credentials(key: str = API_KEY) -> Credentials:
    return Credentials(env={"BATON_AUTH_API_KEY": key})


def executor(api: FakeAPI, **kwargs: Any) -> Executor:
    kwargs.setdefault("credentials", credentials())
    kwargs.setdefault("sleep", Sleeps())
    return Executor(kwargs.pop("catalog", catalog()), transport=api.transport(), **kwargs)


async def call(ex: Executor, name: str, args: dict[str, Any], **kwargs: Any) -> CallResult:
    result = await ex.call(name, args, **kwargs)
    assert isinstance(result, CallResult)
    return result


async def test_get_is_built_sent_and_parsed() -> None:
    api = FakeAPI([httpx2.Response(200, json={"id": 7, "name": "Rex"})])
    async with executor(api) as ex:
        result = await call(ex, "getPet", {"petId": 7})
    assert result.status == 200
    assert result.ok
    assert result.body == {"id": 7, "name": "Rex"}
    assert result.media_type == "application/json"
    assert result.warnings == []
    [request] = api.requests
    assert str(request.url) == f"{BASE}/pets/7"
    assert request.headers["x-api-key"] == API_KEY
    [attempt] = result.attempts
    assert (attempt.attempt, attempt.method, attempt.status) == (1, "GET", 200)
    assert attempt.url == f"{BASE}/pets/7"


async def test_error_statuses_are_results() -> None:
    api = FakeAPI([httpx2.Response(404, json={"message": "no such pet"})])
    async with executor(api) as ex:
        result = await call(ex, "getPet", {"petId": 9})
    assert result.status == 404
    assert not result.ok
    assert result.body == {"message": "no such pet"}


async def test_unknown_tool_is_reported() -> None:
    api = FakeAPI()
    async with executor(api) as ex:
        with pytest.raises(UnknownToolError, match="getPets"):
            await ex.call("getPets", {})
    assert api.requests == []


async def test_invalid_arguments_are_never_sent() -> None:
    api = FakeAPI()
    async with executor(api) as ex:
        with pytest.raises(ArgumentError) as info:
            await ex.call("getPet", {"petId": "seven"})
    assert info.value.problems == [("/petId", 'expected integer, got string "seven"')]
    assert api.requests == []


async def test_missing_credentials_name_the_variable() -> None:
    api = FakeAPI()
    async with executor(api, credentials=Credentials(env={})) as ex:
        with pytest.raises(CredentialsError, match="BATON_AUTH_API_KEY"):
            await ex.call("getPet", {"petId": 1})
    assert api.requests == []


async def test_dry_run_sends_nothing_and_shows_no_secret() -> None:
    api = FakeAPI()
    events: list[ToolEvent] = []
    async with executor(api) as ex:
        prepared = await ex.call(
            "createPet", {"body": {"id": 1, "name": "Rex"}}, dry_run=True, on_event=events.append
        )
    assert isinstance(prepared, PreparedRequest)
    assert api.requests == []
    assert (prepared.method, prepared.url) == ("POST", f"{BASE}/pets")
    assert prepared.body == {"id": 1, "name": "Rex"}
    assert prepared.side_effect == "unsafe"
    assert API_KEY not in prepared.model_dump_json()
    assert "x-api-key" in {k.lower() for k in prepared.headers}
    assert [e.kind for e in events] == ["policy"]


async def test_prepare_validates_builds_and_checks_the_host() -> None:
    api = FakeAPI()
    async with executor(api) as ex:
        prepared = await ex.prepare("listPets", {"limit": 5, "name": "a b"})
    assert prepared.url == f"{BASE}/pets?limit=5&name=a%20b" or prepared.url == (
        f"{BASE}/pets?limit=5&name=a+b"
    )
    assert api.requests == []


async def test_secrets_echoed_by_the_server_never_reach_the_result() -> None:
    def echo(request: httpx2.Request) -> httpx2.Response:
        key = request.headers["x-api-key"]
        return httpx2.Response(
            200,
            json={"you_sent": key, "nested": [{"auth": f"Key {key}"}]},
            headers={"X-Echo": key, "Location": f"{BASE}/?key={key}"},
        )

    api = FakeAPI([echo])
    events: list[ToolEvent] = []
    async with executor(api) as ex:
        result = await call(ex, "getPet", {"petId": 1}, on_event=events.append)
        assert API_KEY not in json.dumps(ex.redact({"k": API_KEY}))
    assert API_KEY not in result.model_dump_json()
    assert all(API_KEY not in e.model_dump_json() for e in events)
    assert result.body["you_sent"] != API_KEY


async def test_path_arguments_cannot_change_the_host_or_path() -> None:
    api = FakeAPI()
    big = {"type": "string"}
    extra = (
        catalog()
        .get("getPet")
        .model_copy(
            update={
                "name": "getFile",
                "parameters": {
                    "type": "object",
                    "properties": {"petId": big},
                    "required": ["petId"],
                },
            }
        )
    )
    async with executor(api, catalog=catalog(extra)) as ex:
        await call(ex, "getFile", {"petId": "../../admin/https://evil.example.net/x"})
    [request] = api.requests
    assert request.url.host == "api.example.com"
    assert request.url.raw_path.startswith(b"/v1/pets/")
    assert request.url.raw_path.count(b"/") == 3


async def test_body_past_the_cap_stops_the_read() -> None:
    produced: list[int] = []

    async def endless() -> AsyncIterator[bytes]:
        for i in range(10_000):
            produced.append(i)
            yield b"x" * 1024

    api = FakeAPI([lambda _: httpx2.Response(200, content=endless())])
    settings = ExecutorSettings(max_response_bytes=64 * 1024)
    async with executor(api, settings=settings) as ex:
        with pytest.raises(ResponseTooLargeError, match="65536-byte cap"):
            await ex.call("getPet", {"petId": 1})
    assert len(produced) < 100  # streamed: stopped soon after the cap, not after 10 MB


async def test_declared_length_past_the_cap_fails_before_reading() -> None:
    api = FakeAPI([httpx2.Response(200, content=b"x" * 2048)])
    async with executor(api, settings=ExecutorSettings(max_response_bytes=1024)) as ex:
        with pytest.raises(ResponseTooLargeError, match="2048 bytes"):
            await ex.call("getPet", {"petId": 1})


async def test_lying_content_type_is_a_warning() -> None:
    html = b"<html><body>Service down</body></html>"
    api = FakeAPI(
        [httpx2.Response(200, content=html, headers={"Content-Type": "application/json"})]
    )
    async with executor(api) as ex:
        result = await call(ex, "getPet", {"petId": 1})
    assert isinstance(result.body, str)
    assert "Service down" in result.body
    assert result.warnings


async def test_contract_drift_is_a_warning_and_an_event() -> None:
    api = FakeAPI([httpx2.Response(200, json={"id": "seven"})])
    events: list[ToolEvent] = []
    async with executor(api) as ex:
        result = await call(ex, "getPet", {"petId": 7}, on_event=events.append)
    assert result.status == 200
    assert result.warnings
    [drift] = [e for e in events if isinstance(e, ContractDrift)]
    assert drift.status == 200
    assert drift.problems == result.warnings


async def test_many_calls_share_one_executor_concurrently() -> None:
    api = FakeAPI(delay=0.1)
    async with executor(api) as ex:
        started = time.perf_counter()
        results = await asyncio.gather(*(call(ex, "getPet", {"petId": i}) for i in range(1, 101)))
        elapsed = time.perf_counter() - started
    assert [r.status for r in results] == [200] * 100
    assert elapsed < 2.0  # 100 x 100 ms in parallel, not in series
    assert sorted(str(r.url) for r in api.requests) == sorted(
        f"{BASE}/pets/{i}" for i in range(1, 101)
    )


async def test_cookies_set_by_one_call_are_not_sent_by_the_next() -> None:
    api = FakeAPI(
        [httpx2.Response(200, headers={"Set-Cookie": "session=abc; Path=/"}), httpx2.Response(200)]
    )
    async with executor(api) as ex:
        await call(ex, "getPet", {"petId": 1})
        await call(ex, "getPet", {"petId": 2})
    assert "cookie" not in api.requests[1].headers


async def test_server_override_is_used_and_allowed() -> None:
    api = FakeAPI()
    async with executor(api, server="http://127.0.0.1:4010") as ex:
        await call(ex, "getPet", {"petId": 3})
    assert str(api.requests[0].url) == "http://127.0.0.1:4010/pets/3"


async def test_spec_server_on_a_private_address_is_refused() -> None:
    api = FakeAPI()
    events: list[ToolEvent] = []
    async with executor(api, catalog=catalog(servers=[Server(url="http://10.0.0.8/api")])) as ex:
        with pytest.raises(HostNotAllowedError, match="private address"):
            await ex.call("getPet", {"petId": 1}, on_event=events.append)
    assert api.requests == []
    assert [(e.kind, getattr(e, "decision", None)) for e in events] == [("policy", "deny")]


async def test_relative_server_needs_an_explicit_one() -> None:
    api = FakeAPI()
    async with executor(api, catalog=catalog(servers=[Server(url="/api/v3")])) as ex:
        with pytest.raises(SpecError, match="pass --server URL"):
            await ex.call("getPet", {"petId": 1})


async def test_extra_hosts_policy_allows_another_host() -> None:
    api = FakeAPI()
    policy = Policy(extra_hosts=frozenset({"mirror.example.org"}))
    async with executor(api, policy=policy, server="https://mirror.example.org") as ex:
        await call(ex, "getPet", {"petId": 1})
    assert api.requests[0].url.host == "mirror.example.org"


async def test_compressed_bomb_is_capped_on_decoded_bytes() -> None:
    bomb = gzip.compress(b"0" * 5_000_000)
    headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
    api = FakeAPI([httpx2.Response(200, content=bomb, headers=headers)])
    async with executor(api, settings=ExecutorSettings(max_response_bytes=1_000_000)) as ex:
        with pytest.raises(ResponseTooLargeError, match="stopped reading"):
            await ex.call("getPet", {"petId": 1})
    assert len(bomb) < 1_000_000  # the declared length alone would not have caught it


async def test_broken_response_schema_is_reported_as_drift_not_failure() -> None:
    broken = catalog().get("getPet")

    def resolve(pointer: str) -> dict[str, Any]:
        return {"$ref": "#/nowhere"}

    cat = Catalog([broken], security_schemes=catalog().security_schemes, schema_resolver=resolve)
    api = FakeAPI([httpx2.Response(200, json={"id": 1, "name": "Rex"})])
    async with executor(api, catalog=cat) as ex:
        result = await call(ex, "getPet", {"petId": 1})
    assert result.status == 200
    assert result.warnings
    assert "could not be checked" in result.warnings[0]


async def test_null_optional_arguments_count_as_not_given() -> None:
    api = FakeAPI()
    async with executor(api) as ex:
        await call(ex, "listPets", {"limit": None, "name": "Rex"})
    assert str(api.requests[0].url) == f"{BASE}/pets?name=Rex"


async def test_size_cap_errors_name_the_request() -> None:
    # QA Q9: "response exceeds the cap" without saying which call.
    api = FakeAPI([httpx2.Response(200, content=b"x" * 2048)])
    async with executor(api, settings=ExecutorSettings(max_response_bytes=1024)) as ex:
        with pytest.raises(ResponseTooLargeError) as caught:
            await ex.call("getPet", {"petId": 1})
    assert str(caught.value) == (
        f"GET {BASE}/pets/1: response of 2048 bytes exceeds the 1024-byte cap"
    )
    assert caught.value.tool == "getPet"


async def test_a_url_over_the_length_limit_is_an_argument_error() -> None:
    # QA Q10: httpx2.InvalidURL ("URL too long") escaped as a traceback and ended agent runs.
    api = FakeAPI()
    async with executor(api) as ex:
        for dry_run in (True, False):
            with pytest.raises(ArgumentError) as caught:
                await ex.call("listPets", {"limit": 1, "name": "A" * 70_000}, dry_run=dry_run)
            assert caught.value.recoverable
            [(pointer, message)] = caught.value.problems
            assert pointer == "/name"
            assert "over the 65536 limit" in message
    assert api.requests == []


@pytest.mark.parametrize(
    ("server", "reason"),
    [
        ("http://127.0.0.1:99999", "is not a valid URL"),
        ("notaurl", "is not an http(s) URL with a host"),
        ("ftp://files.example.com", "is not an http(s) URL with a host"),
        ("http://user:pw-SECRET@127.0.0.1:8765", "must not hold a user or password"),
        ("http://127.0.0.1:8765/base?x=1#f", "must not have a query or fragment"),
        ("http://a b", "must not contain spaces"),
    ],
)
def test_an_unusable_explicit_server_is_refused_up_front(server: str, reason: str) -> None:
    # QA Q26: a bad --server gave a traceback (port), printed its password in every attempt,
    # or glued the path after its query; refuse it before anything is built.
    with pytest.raises(ServerURLError) as caught:
        Executor(catalog(), server=server)
    shown = server.replace("user:pw-SECRET@", "***@")
    assert str(caught.value).startswith(f"--server {shown!r} {reason}")
    assert "SECRET" not in str(caught.value)
