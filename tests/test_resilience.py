"""Retry rules, the per-host rate limiter and the circuit breaker, on a fake clock."""

from __future__ import annotations

import asyncio
import email.utils

import pytest
from tenacity import RetryCallState

from tools.breaker import CircuitBreaker
from tools.errors import CircuitOpenError
from tools.limiter import RateLimiter
from tools.retry import BackoffWait, RetryableOutcomeError, may_retry, parse_retry_after


class FakeClock:
    """A monotonic clock whose sleep advances time instantly and records the waits."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.mark.parametrize(
    ("method", "headers", "expected"),
    [
        ("GET", [], True),
        ("head", [], True),
        ("PUT", [], True),
        ("DELETE", [], True),
        ("OPTIONS", [], True),
        ("POST", [], False),
        ("PATCH", [], False),
        ("POST", [("Idempotency-Key", "k1")], True),
        ("PATCH", [("idempotency-key", "k1")], True),
        ("POST", [("Idempotency-Key", "")], False),
    ],
)
def test_only_repeatable_requests_are_retried(
    method: str, headers: list[tuple[str, str]], expected: bool
) -> None:
    assert may_retry(method, headers) is expected


def test_retry_after_seconds_and_dates() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after("7", now) == 7.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after(date, now) == pytest.approx(30.0)
    past = email.utils.formatdate(now - 30, usegmt=True)
    assert parse_retry_after(past, now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("-3", now) is None
    assert parse_retry_after(None, now) is None


def _state(attempt: int, error: BaseException) -> RetryCallState:
    state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
    state.attempt_number = attempt
    state.set_exception((type(error), error, None))
    return state


def test_wait_honours_retry_after() -> None:
    wait = BackoffWait(base=0.5, maximum=8.0)
    assert wait(_state(1, RetryableOutcomeError("503", status=503, retry_after=20.0))) == 20.0


def test_wait_backs_off_exponentially_with_jitter() -> None:
    wait = BackoffWait(base=0.5, maximum=8.0)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (6, 8.0)]:
        waits = [wait(_state(attempt, RetryableOutcomeError("timeout"))) for _ in range(50)]
        assert all(0 <= w <= ceiling for w in waits)
        assert len(set(waits)) > 1  # jittered, not synchronized


async def test_bucket_allows_a_burst_then_paces() -> None:
    clock = FakeClock()
    limiter = RateLimiter(2.0, burst=2, clock=clock, sleep=clock.sleep)
    waits = [await limiter.acquire("a.example") for _ in range(4)]
    assert waits == [0.0, 0.0, pytest.approx(0.5), pytest.approx(0.5)]
    assert await limiter.acquire("b.example") == 0.0  # hosts are independent


async def test_concurrent_acquires_queue_up() -> None:
    clock = FakeClock()

    async def overlapping_sleep(seconds: float) -> None:
        await asyncio.sleep(0)  # concurrent sleeps overlap: time does not add up

    limiter = RateLimiter(10.0, burst=1, clock=clock, sleep=overlapping_sleep)
    waits = await asyncio.gather(*(limiter.acquire("h") for _ in range(5)))
    assert sorted(waits) == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])


async def test_no_rate_means_no_waiting() -> None:
    clock = FakeClock()
    limiter = RateLimiter(None, clock=clock, sleep=clock.sleep)
    assert [await limiter.acquire("h") for _ in range(100)] == [0.0] * 100


@pytest.mark.parametrize(
    "headers",
    [
        {"RateLimit-Remaining": "0", "RateLimit-Reset": "12"},
        {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "12"},
        {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(1_700_000_012)},
        {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(1_700_000_012_000)},
        {"RateLimit": "limit=100, remaining=0, reset=12"},
        {"RateLimit": '"default";r=0;t=12'},
    ],
)
async def test_spent_quota_pauses_until_reset(headers: dict[str, str]) -> None:
    clock = FakeClock()
    limiter = RateLimiter(None, clock=clock, wall=lambda: 1_700_000_000.0, sleep=clock.sleep)
    assert limiter.observe("h", headers) == pytest.approx(12.0)
    assert await limiter.acquire("h") == pytest.approx(12.0)
    assert await limiter.acquire("h") == 0.0
    assert await limiter.acquire("other") == 0.0


async def test_quota_pause_is_capped_and_ignored_while_remaining() -> None:
    clock = FakeClock()
    limiter = RateLimiter(None, max_pause=5.0, clock=clock, sleep=clock.sleep)
    assert limiter.observe("h", {"RateLimit-Remaining": "3", "RateLimit-Reset": "60"}) is None
    assert limiter.observe("h", {"RateLimit-Remaining": "0", "RateLimit-Reset": "3600"}) == 5.0
    assert await limiter.acquire("h") == 5.0


def test_limiter_rejects_a_non_positive_rate() -> None:
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(0)


def test_breaker_opens_after_consecutive_failures() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(3, 10.0, clock=clock)
    for _ in range(2):
        breaker.before("h")
        breaker.record("h", ok=False)
    assert breaker.state("h") == "closed"
    breaker.record("h", ok=True)  # a success resets the count
    for _ in range(3):
        breaker.before("h")
        breaker.record("h", ok=False)
    assert breaker.state("h") == "open"
    with pytest.raises(CircuitOpenError, match=r"circuit open for h after 3 consecutive failures"):
        breaker.before("h")
    breaker.before("other")  # per host


def test_breaker_half_opens_for_one_probe() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(1, 10.0, clock=clock)
    breaker.record("h", ok=False)
    clock.now += 10.0
    assert breaker.state("h") == "half_open"
    breaker.before("h")  # the probe
    with pytest.raises(CircuitOpenError, match="probe is in flight"):
        breaker.before("h")
    breaker.record("h", ok=True)
    assert breaker.state("h") == "closed"
    breaker.before("h")


def test_failed_probe_reopens_the_circuit() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(2, 10.0, clock=clock)
    breaker.record("h", ok=False)
    breaker.record("h", ok=False)
    clock.now += 11.0
    breaker.before("h")
    breaker.record("h", ok=False)
    assert breaker.state("h") == "open"
    clock.now += 9.0
    with pytest.raises(CircuitOpenError):
        breaker.before("h")


def test_lost_probe_expires() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(1, 10.0, clock=clock)
    breaker.record("h", ok=False)
    clock.now += 10.0
    breaker.before("h")  # probe whose task is cancelled and never records
    clock.now += 10.0
    breaker.before("h")  # a new probe is allowed


def test_threshold_zero_disables_the_breaker() -> None:
    breaker = CircuitBreaker(0, 10.0)
    for _ in range(50):
        breaker.record("h", ok=False)
        breaker.before("h")
