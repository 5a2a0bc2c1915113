"""Policy through the executor: redirects re-checked, side effects confirmed, events emitted."""

from __future__ import annotations

import httpx2
import pytest

from tests.executor_api import API_KEY, BASE, FakeAPI
from tests.test_executor import call, executor
from tools.call import PreparedRequest
from tools.errors import (
    CallError,
    HostNotAllowedError,
    RedirectRefusedError,
    SideEffectDeniedError,
)
from tools.events import HttpAttempt, PolicyDecision, ToolEvent
from tools.executor import ExecutorSettings
from tools.policy import Decision, Policy

PET = {"body": {"id": 1, "name": "Rex"}}


def redirect(location: str, status: int = 302) -> httpx2.Response:
    return httpx2.Response(status, headers={"Location": location})


async def test_same_host_redirects_are_followed_and_recorded() -> None:
    api = FakeAPI([redirect("/v1/pets/8"), httpx2.Response(200, json={"id": 8, "name": "Rex"})])
    async with executor(api) as ex:
        result = await call(ex, "getPet", {"petId": 7})
    assert result.status == 200
    assert [str(r.url) for r in api.requests] == [f"{BASE}/pets/7", f"{BASE}/pets/8"]
    assert api.requests[1].headers["x-api-key"] == API_KEY  # same host keeps credentials
    first, second = result.attempts
    assert (first.status, first.retry_reason) == (302, f"redirect 302 to {BASE}/pets/8")
    assert (second.url, second.status) == (f"{BASE}/pets/8", 200)


async def test_redirect_to_a_foreign_host_is_refused() -> None:
    # QA Q14: the API's redirect is at fault, not the user's input: a recoverable CallError
    # naming the request, not the HostNotAllowedError that ends a run as bad input.
    api = FakeAPI([redirect("https://evil.example.net/collect")])
    events: list[ToolEvent] = []
    async with executor(api) as ex:
        with pytest.raises(RedirectRefusedError) as caught:
            await ex.call("getPet", {"petId": 7}, on_event=events.append)
    assert not isinstance(caught.value, HostNotAllowedError)
    assert caught.value.recoverable
    assert caught.value.host == "evil.example.net"
    assert caught.value.tool == "getPet"
    assert str(caught.value).startswith(
        f"GET {BASE}/pets/7: redirect refused: host 'evil.example.net' is not allowed"
    )
    assert "(redirect from api.example.com)" in str(caught.value)
    assert len(api.requests) == 1
    [attempt] = [e for e in events if isinstance(e, HttpAttempt)]
    assert attempt.error is not None
    assert "RedirectRefusedError" in attempt.error


async def test_redirect_to_a_private_address_is_refused() -> None:
    api = FakeAPI([redirect("http://169.254.169.254/latest/meta-data/")])
    policy = Policy(extra_hosts=frozenset({"169.254.169.254"}))
    async with executor(api, policy=policy) as ex:
        with pytest.raises(RedirectRefusedError, match="link-local"):
            await ex.call("getPet", {"petId": 7})
    assert len(api.requests) == 1


async def test_cross_host_redirect_drops_credentials() -> None:
    api = FakeAPI([redirect("https://cdn.example.org/pets/7"), httpx2.Response(200, json={})])
    policy = Policy(extra_hosts=frozenset({"cdn.example.org"}))
    async with executor(api, policy=policy) as ex:
        await call(ex, "getPet", {"petId": 7})
    assert api.requests[0].headers["x-api-key"] == API_KEY
    assert "x-api-key" not in api.requests[1].headers
    assert "authorization" not in api.requests[1].headers


async def test_see_other_turns_a_post_into_a_get() -> None:
    api = FakeAPI([redirect("/v1/pets/1", 303), httpx2.Response(200, json={"id": 1, "name": "R"})])
    async with executor(api, policy=Policy(approve_side_effects=True)) as ex:
        await call(ex, "createPet", PET)
    assert [r.method for r in api.requests] == ["POST", "GET"]
    assert api.requests[1].content == b""
    assert "content-type" not in api.requests[1].headers


async def test_permanent_redirect_resends_the_body() -> None:
    api = FakeAPI([redirect("/v1/pets2", 308), httpx2.Response(201, json={})])
    async with executor(api, policy=Policy(approve_side_effects=True)) as ex:
        await call(ex, "createPet", PET)
    assert [r.method for r in api.requests] == ["POST", "POST"]
    assert api.requests[0].content == api.requests[1].content


async def test_redirect_loops_stop() -> None:
    api = FakeAPI([redirect("/v1/pets/7")])
    async with executor(api, settings=ExecutorSettings(max_redirects=3)) as ex:
        with pytest.raises(CallError, match="more than 3 redirects"):
            await ex.call("getPet", {"petId": 7})
    assert len(api.requests) == 4


async def test_unsafe_call_without_confirmation_is_denied() -> None:
    api = FakeAPI()
    events: list[ToolEvent] = []
    async with executor(api) as ex:
        with pytest.raises(SideEffectDeniedError, match="--yes") as info:
            await ex.call("createPet", PET, on_event=events.append)
    assert info.value.recoverable
    assert api.requests == []
    assert events == [
        PolicyDecision(tool="createPet", decision="deny", reason=str(info.value).split(": ", 1)[1])
    ]


async def test_safe_calls_skip_confirmation() -> None:
    async def confirm(request: PreparedRequest) -> Decision:
        raise AssertionError("a GET must not ask")

    api = FakeAPI()
    async with executor(api, policy=Policy(confirm=confirm)) as ex:
        await call(ex, "getPet", {"petId": 1})


async def test_confirmation_sees_the_redacted_request() -> None:
    seen: list[PreparedRequest] = []

    async def confirm(request: PreparedRequest) -> Decision:
        seen.append(request)
        return "allow"

    api = FakeAPI([httpx2.Response(201, json={"id": 1, "name": "Rex"})])
    events: list[ToolEvent] = []
    async with executor(api, policy=Policy(confirm=confirm)) as ex:
        result = await call(ex, "createPet", PET, on_event=events.append)
    assert result.status == 201
    [request] = seen
    assert (request.method, request.url, request.body) == ("POST", f"{BASE}/pets", PET["body"])
    assert API_KEY not in request.model_dump_json()
    assert events[0] == PolicyDecision(tool="createPet", decision="allow", reason="confirmed")


async def test_declined_confirmation_sends_nothing() -> None:
    async def confirm(request: PreparedRequest) -> Decision:
        return "deny"

    api = FakeAPI()
    async with executor(api, policy=Policy(confirm=confirm)) as ex:
        with pytest.raises(SideEffectDeniedError, match="declined"):
            await ex.call("deletePet", {"petId": 1})
    assert api.requests == []


async def test_dry_run_at_confirmation_returns_the_prepared_request() -> None:
    async def confirm(request: PreparedRequest) -> Decision:
        return "dry_run"

    api = FakeAPI()
    async with executor(api, policy=Policy(confirm=confirm)) as ex:
        prepared = await ex.call("createPet", PET)
    assert isinstance(prepared, PreparedRequest)
    assert api.requests == []


async def test_always_is_remembered_by_the_executor() -> None:
    asked: list[str] = []

    async def confirm(request: PreparedRequest) -> Decision:
        asked.append(request.tool)
        return "always"

    api = FakeAPI([httpx2.Response(201, json={"id": 1, "name": "Rex"})])
    async with executor(api, policy=Policy(confirm=confirm)) as ex:
        for _ in range(3):
            await call(ex, "createPet", PET)
    assert asked == ["createPet"]
    assert len(api.requests) == 3


async def test_approve_side_effects_runs_without_asking() -> None:
    api = FakeAPI([httpx2.Response(204)])
    async with executor(api, policy=Policy(approve_side_effects=True)) as ex:
        assert (await call(ex, "deletePet", {"petId": 1})).status == 204
