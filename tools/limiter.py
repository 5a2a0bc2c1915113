"""Per-host rate limiting: a token bucket, plus pauses the server asks for in its headers.

Owns pacing only. The bucket (``rate_per_s`` requests per second, bursts up to ``burst``) is
off unless configured. Independently, when a response says the quota is spent
(``RateLimit-Remaining: 0`` / ``X-RateLimit-Remaining: 0``, or the draft's combined
``RateLimit: remaining=0, reset=30`` / ``r=0;t=30``), requests to that host wait until the
reset, capped at ``max_pause`` so a far-off reset never stalls a conversation.

Reset values are seconds from now (IETF draft) unless they look like an epoch timestamp
(GitHub's ``X-RateLimit-Reset``), in seconds or milliseconds.

Concurrency: each ``acquire`` reserves its token synchronously (no await between reading and
updating the bucket), so concurrent callers on one event loop queue up correctly without a lock.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

_EPOCH_S = 1_000_000_000  # larger than any sane delta: an absolute time in seconds
_EPOCH_MS = 1_000_000_000_000
_REMAINING = re.compile(r"(?:\bremaining=|\br=)(\d+)")
_RESET = re.compile(r"(?:\breset=|\bt=)(\d+)")


@dataclass
class _Bucket:
    tokens: float
    last: float
    paused_until: float = 0.0


class RateLimiter:
    def __init__(
        self,
        rate_per_s: float | None = None,
        *,
        burst: float | None = None,
        max_pause: float = 60.0,
        clock: Clock = time.monotonic,
        wall: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate_per_s is not None and rate_per_s <= 0:
            raise ValueError("rate_per_s must be positive (or None for no limit)")
        self.rate = rate_per_s
        self.burst = burst if burst is not None else max(1.0, rate_per_s or 1.0)
        self.max_pause = max_pause
        self._clock = clock
        self._wall = wall
        self._sleep = sleep
        self._buckets: dict[str, _Bucket] = {}

    def _bucket(self, host: str, now: float) -> _Bucket:
        bucket = self._buckets.get(host)
        if bucket is None:
            bucket = self._buckets[host] = _Bucket(tokens=self.burst, last=now)
        return bucket

    async def acquire(self, host: str) -> float:
        """Wait until a request to ``host`` may go; return the seconds waited."""
        now = self._clock()
        bucket = self._bucket(host, now)
        wait = max(0.0, bucket.paused_until - now)
        if self.rate is not None:
            elapsed = now - bucket.last
            bucket.tokens = min(self.burst, bucket.tokens + elapsed * self.rate)
            bucket.last = now
            bucket.tokens -= 1.0  # reserve now; a negative balance is the queue ahead of us
            if bucket.tokens < 0:
                wait = max(wait, -bucket.tokens / self.rate)
        if wait > 0:
            await self._sleep(wait)
        return wait

    def observe(self, host: str, headers: Mapping[str, str]) -> float | None:
        """Pause ``host`` when the response says its quota is spent; return the pause set."""
        remaining, reset = _quota(headers)
        if remaining is None or remaining > 0 or reset is None:
            return None
        if reset >= _EPOCH_MS:
            delay = reset / 1000 - self._wall()
        elif reset >= _EPOCH_S:
            delay = reset - self._wall()
        else:
            delay = reset
        delay = min(max(0.0, delay), self.max_pause)
        now = self._clock()
        bucket = self._bucket(host, now)
        bucket.paused_until = max(bucket.paused_until, now + delay)
        return delay


def _quota(headers: Mapping[str, str]) -> tuple[int | None, float | None]:
    if not any("ratelimit" in k.lower() for k in headers):  # most responses: nothing to read
        return None, None
    lower = {k.lower(): v for k, v in headers.items()}
    remaining = _int(lower.get("ratelimit-remaining") or lower.get("x-ratelimit-remaining"))
    reset = _int(lower.get("ratelimit-reset") or lower.get("x-ratelimit-reset"))
    combined = lower.get("ratelimit")
    if combined and remaining is None:
        found = _REMAINING.search(combined)
        remaining = int(found.group(1)) if found else None
        found = _RESET.search(combined)
        reset = int(found.group(1)) if found else None
    return remaining, None if reset is None else float(reset)


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(float(value.strip()))
    except ValueError:
        return None
