"""Retries, Retry-After, timeouts, the rate limiter and the circuit breaker through the executor."""

from __future__ import annotations

import asyncio
import email.utils
import socket
import time
from typing import Any

import httpx2
import pytest

from tests.executor_api import BASE, FakeAPI, Sleeps, catalog
from tests.test_executor import call, executor
from tools.breaker import CircuitBreaker
from tools.delivery import Delivery, Recorder, RetrySettings
from tools.errors import CallError, CallTimeoutError, CircuitOpenError, RetryAfterTooLongError
from tools.events import HttpAttempt, ToolEvent
from tools.exchange import Exchange, ExchangeLimits, Outgoing
from tools.executor import ExecutorSettings
from tools.limiter import RateLimiter
from tools.policy import HostPolicy, Policy

APPROVED = Policy(approve_side_effects=True)
PET = {"body": {"id": 1, "name": "Rex"}}


def ok() -> httpx2.Response:
    return httpx2.Response(200, json={"id": 1, "name": "Rex"})


@pytest.mark.parametrize("status", [429, 502, 503, 504])
async def test_transient_statuses_are_retried_for_get(status: int) -> None:
    api = FakeAPI([httpx2.Response(status), ok()])
    sleeps = Sleeps()
    events: list[ToolEvent] = []
    async with executor(api, sleep=sleeps) as ex:
        result = await call(ex, "getPet", {"petId": 1}, on_event=events.append)
    assert result.status == 200
    assert [(a.status, a.retry_reason) for a in result.attempts] == [
        (status, str(status)),
        (200, None),
    ]
    assert result.attempts[0].wait_s == pytest.approx(sleeps.waits[0], abs=1e-3)
    assert 0 <= sleeps.waits[0] <= 0.5  # first backoff: base 0.5 s with full jitter
    assert [e for e in events if isinstance(e, HttpAttempt)] == result.attempts


async def test_other_statuses_are_not_retried() -> None:
    api = FakeAPI([httpx2.Response(500), ok()])
    async with executor(api) as ex:
        result = await call(ex, "getPet", {"petId": 1})
    assert result.status == 500
    assert len(api.requests) == 1


async def test_exhausted_retries_return_the_last_status() -> None:
    api = FakeAPI([httpx2.Response(503)])
    sleeps = Sleeps()
    async with executor(api, sleep=sleeps, settings=ExecutorSettings(max_attempts=3)) as ex:
        result = await call(ex, "getPet", {"petId": 1})
    assert result.status == 503
    assert [a.retry_reason for a in result.attempts] == ["503", "503", None]
    assert len(sleeps.waits) == 2
    assert sleeps.waits[1] <= 1.0  # second backoff ceiling: 0.5 * 2


async def test_retry_after_seconds_is_honoured() -> None:
    api = FakeAPI([httpx2.Response(429, headers={"Retry-After": "7"}), ok()])
    sleeps = Sleeps()
    async with executor(api, sleep=sleeps) as ex:
        result = await call(ex, "getPet", {"petId": 1})
    assert sleeps.waits == [7.0]
    assert result.attempts[0].wait_s == 7.0


async def test_retry_after_http_date_is_honoured() -> None:
    date = email.utils.formatdate(time.time() + 20, usegmt=True)
    api = FakeAPI([httpx2.Response(503, headers={"Retry-After": date}), ok()])
    sleeps = Sleeps()
    async with executor(api, sleep=sleeps) as ex:
        await call(ex, "getPet", {"petId": 1})
    assert 17 <= sleeps.waits[0] <= 20


async def test_retry_after_above_the_cap_fails_fast() -> None:
    api = FakeAPI([httpx2.Response(429, headers={"Retry-After": "3600"}), ok()])
    sleeps = Sleeps()
    async with executor(api, sleep=sleeps, settings=ExecutorSettings(retry_after_cap=60)) as ex:
        with pytest.raises(RetryAfterTooLongError, match="Retry-After 3600s, above the 60s cap"):
            await ex.call("getPet", {"petId": 1})
    assert sleeps.waits == []
    assert len(api.requests) == 1


async def test_post_is_not_retried() -> None:
    api = FakeAPI([httpx2.Response(503), ok()])
    async with executor(api, policy=APPROVED) as ex:
        result = await call(ex, "createPet", PET)
    assert result.status == 503
    assert len(api.requests) == 1
    assert result.attempts[0].retry_reason is None


async def test_post_with_idempotency_key_is_retried() -> None:
    api = FakeAPI([httpx2.Response(503), ok()])
    async with executor(api, policy=APPROVED) as ex:
        result = await call(ex, "chargePet", {"key": "k-1", "body": {"amount": 5}})
    assert result.status == 200
    assert [r.headers["idempotency-key"] for r in api.requests] == ["k-1", "k-1"]


async def test_delete_is_retried() -> None:
    api = FakeAPI([httpx2.Response(502), httpx2.Response(204)])
    async with executor(api, policy=APPROVED) as ex:
        result = await call(ex, "deletePet", {"petId": 1})
    assert result.status == 204
    assert len(api.requests) == 2


async def test_connection_errors_are_retried_and_recorded() -> None:
    api = FakeAPI([httpx2.ConnectError("connection refused"), ok()])
    async with executor(api) as ex:
        result = await call(ex, "getPet", {"petId": 1})
    first, second = result.attempts
    assert first.status is None
    assert first.error == "ConnectError: connection refused"
    assert first.retry_reason == "connect error"
    assert second.status == 200


async def test_persistent_connection_errors_fail_with_every_attempt_recorded() -> None:
    api = FakeAPI([httpx2.ConnectError("connection refused")])
    events: list[ToolEvent] = []
    async with executor(api) as ex:
        with pytest.raises(CallError, match=r"failed after 4 attempt\(s\): connect error"):
            await ex.call("getPet", {"petId": 1}, on_event=events.append)
    assert len(api.requests) == 4
    assert [getattr(e, "retry_reason", "") for e in events] == ["connect error"] * 3 + [None]


async def test_read_timeouts_become_call_timeouts() -> None:
    api = FakeAPI([httpx2.ReadTimeout("timed out")])
    async with executor(api, settings=ExecutorSettings(max_attempts=2)) as ex:
        with pytest.raises(CallTimeoutError, match="timeout"):
            await ex.call("getPet", {"petId": 1})
    assert len(api.requests) == 2


async def test_total_timeout_bounds_a_slow_attempt() -> None:
    api = FakeAPI(delay=5.0)
    settings = ExecutorSettings(total_timeout=0.1, max_attempts=2)
    async with executor(api, settings=settings) as ex:
        started = time.perf_counter()
        with pytest.raises(CallTimeoutError):
            await ex.call("getPet", {"petId": 1})
    assert time.perf_counter() - started < 1.0


async def test_post_timeouts_are_not_retried() -> None:
    api = FakeAPI([httpx2.ReadTimeout("timed out"), ok()])
    async with executor(api, policy=APPROVED) as ex:
        with pytest.raises(CallTimeoutError):
            await ex.call("createPet", PET)
    assert len(api.requests) == 1


async def test_breaker_opens_and_rejects_fast() -> None:
    api = FakeAPI([httpx2.Response(500)])
    settings = ExecutorSettings(breaker_threshold=3, breaker_reset_s=60)
    async with executor(api, settings=settings) as ex:
        for _ in range(3):
            assert (await call(ex, "getPet", {"petId": 1})).status == 500
        with pytest.raises(CircuitOpenError, match=r"circuit open for api\.example\.com"):
            await ex.call("getPet", {"petId": 1})
    assert len(api.requests) == 3


async def test_breaker_counts_retried_failures() -> None:
    api = FakeAPI([httpx2.Response(503)])
    settings = ExecutorSettings(breaker_threshold=2, max_attempts=4)
    async with executor(api, settings=settings) as ex:
        with pytest.raises(CircuitOpenError):
            await ex.call("getPet", {"petId": 1})
    assert len(api.requests) == 2


async def test_rate_limit_setting_paces_calls() -> None:
    api = FakeAPI()
    sleeps = Sleeps()
    settings = ExecutorSettings(rate_limit_per_s=2.0)
    async with executor(api, sleep=sleeps, settings=settings) as ex:
        for i in range(4):
            await call(ex, "getPet", {"petId": i + 1})
    # A burst of 2, then pacing; the injected sleep does not let time pass, so the fourth
    # call queues behind the third.
    assert sleeps.waits == pytest.approx([0.5, 1.0], abs=0.05)


async def test_spent_quota_header_pauses_the_next_call() -> None:
    spent = httpx2.Response(200, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "9"})
    api = FakeAPI([spent, ok()])
    sleeps = Sleeps()
    async with executor(api, sleep=sleeps) as ex:
        await call(ex, "getPet", {"petId": 1})
        assert sleeps.waits == []
        await call(ex, "getPet", {"petId": 2})
    assert len(sleeps.waits) == 1
    assert 8.5 <= sleeps.waits[0] <= 9.0


async def test_concurrent_retries_do_not_mix_attempts() -> None:
    seen: dict[str, int] = {}

    def flaky(request: httpx2.Request) -> httpx2.Response:
        seen[request.url.path] = seen.get(request.url.path, 0) + 1
        return httpx2.Response(503 if seen[request.url.path] == 1 else 200)

    api = FakeAPI([flaky])

    async def one(ex: Any, i: int) -> list[int | None]:
        result = await call(ex, "getPet", {"petId": i})
        return [a.status for a in result.attempts]

    # The breaker would rightly open after 5 failures on the host; this test is about isolation.
    settings = ExecutorSettings(breaker_threshold=0)
    async with executor(api, sleep=lambda _: asyncio.sleep(0), settings=settings) as ex:
        statuses = await asyncio.gather(*(one(ex, i) for i in range(1, 21)))
    assert statuses == [[503, 200]] * 20


async def test_total_timeout_is_one_deadline_for_every_attempt() -> None:
    # A GET that hangs: the deadline covers all attempts and waits, not each attempt (QA Q1:
    # 4 attempts x a per-attempt bound made a hanging call take minutes).
    api = FakeAPI(delay=5.0)
    settings = ExecutorSettings(total_timeout=0.3, max_attempts=4)
    async with executor(api, settings=settings) as ex:
        started = time.perf_counter()
        with pytest.raises(CallTimeoutError, match=r"gave up at the 0\.3s total timeout"):
            await ex.call("getPet", {"petId": 1})
    assert time.perf_counter() - started < 0.6
    assert len(api.requests) <= 2


async def test_retry_after_past_the_deadline_fails_fast() -> None:
    api = FakeAPI([httpx2.Response(503, headers={"Retry-After": "30"}), ok()])
    sleeps = Sleeps()
    settings = ExecutorSettings(total_timeout=10, retry_after_cap=60)
    async with executor(api, sleep=sleeps, settings=settings) as ex:
        with pytest.raises(
            RetryAfterTooLongError, match=r"Retry-After 30s, more than the \d+s left"
        ):
            await ex.call("getPet", {"petId": 1})
    assert sleeps.waits == []
    assert len(api.requests) == 1


async def test_retry_after_errors_name_the_request_and_read_as_durations() -> None:
    # QA Q3: the error named neither method nor URL, and a far HTTP-date printed 2307109289s.
    date = email.utils.formatdate(time.time() + 3e9, usegmt=True)
    api = FakeAPI([httpx2.Response(429, headers={"Retry-After": date})])
    async with executor(api, sleep=Sleeps()) as ex:
        with pytest.raises(RetryAfterTooLongError) as caught:
            await ex.call("getPet", {"petId": 1})
    message = str(caught.value)
    assert message.startswith(f"GET {BASE}/pets/1: 429 with Retry-After more than a day")
    assert caught.value.tool == "getPet"


async def test_errors_httpx_raises_while_sending_name_the_request() -> None:
    # Not retryable and not a ToolsError: it used to escape as a raw httpx2 exception.
    api = FakeAPI([httpx2.DecodingError("bad gzip stream")])
    async with executor(api) as ex:
        with pytest.raises(CallError, match=rf"^GET {BASE}/pets/1: bad gzip stream$"):
            await ex.call("getPet", {"petId": 1})
    assert len(api.requests) == 1


async def test_unresolvable_host_is_a_connect_error_naming_the_host() -> None:
    # QA Q5: socket.gaierror from the private-address DNS check escaped as a traceback.
    async def resolve(host: str) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    api = FakeAPI()
    hosts = HostPolicy(catalog().get("getPet"), Policy())
    async with httpx2.AsyncClient(transport=api.transport()) as client:
        exchange = Exchange(
            client,
            hosts,
            limiter=RateLimiter(),
            breaker=CircuitBreaker(),
            limits=ExchangeLimits(1_000_000),
            resolve=resolve,
        )
        recorder = Recorder("getPet", str, None)
        delivery = Delivery(
            exchange, recorder, RetrySettings(2, 0.0, 0.0, 60.0, 10.0), sleep=Sleeps()
        )
        with pytest.raises(CallError) as caught:
            await delivery.send(Outgoing("GET", f"{BASE}/pets/1", [], None))
    assert str(caught.value) == (
        f"GET {BASE}/pets/1 failed after 2 attempt(s): connect error "
        "(cannot resolve host 'api.example.com': Name or service not known)"
    )
    assert api.requests == []
    assert [a.retry_reason for a in recorder.attempts] == ["connect error", None]
