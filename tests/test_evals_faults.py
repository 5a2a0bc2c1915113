from __future__ import annotations

import httpx2
import pytest

from evals.faults import Fault, FaultMatch, FaultTransport


def _ok(request: httpx2.Request) -> httpx2.Response:
    return httpx2.Response(200, json={"ok": True})


async def test_status_fault_applies_the_given_number_of_times() -> None:
    fault = Fault(
        match=FaultMatch(method="GET", path="/tasks*"),
        kind="status",
        status=429,
        retry_after="2",
        times=2,
    )
    transport = FaultTransport(httpx2.MockTransport(_ok), [fault])
    async with httpx2.AsyncClient(transport=transport) as client:
        statuses = [(await client.get("http://x/tasks")).status_code for _ in range(3)]
        other = await client.get("http://x/projects")
    assert statuses == [429, 429, 200]
    assert other.status_code == 200
    assert transport.injected == ["status GET /tasks", "status GET /tasks"]


async def test_timeout_fault_raises_a_read_timeout() -> None:
    transport = FaultTransport(httpx2.MockTransport(_ok), [Fault(kind="timeout")])
    async with httpx2.AsyncClient(transport=transport) as client:
        with pytest.raises(httpx2.ReadTimeout):
            await client.get("http://x/a")
        assert (await client.get("http://x/a")).status_code == 200


async def test_malformed_fault_breaks_the_body() -> None:
    transport = FaultTransport(httpx2.MockTransport(_ok), [Fault(kind="malformed")])
    async with httpx2.AsyncClient(transport=transport) as client:
        response = await client.get("http://x/a")
    with pytest.raises(ValueError, match="Expecting"):
        response.json()
