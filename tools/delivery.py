"""Delivery of one call: the attempts (with retries) and the events that record each of them.

Owns the retry loop (tenacity's ``AsyncRetrying`` driven by ``tools.retry``'s rules), the
per-attempt total timeout, and turning every HTTP exchange into an ``HttpAttempt`` event:
redirect hops, retried attempts (with the reason and the wait) and the last attempt. Events
carry redacted URLs and error texts only.

After the last attempt a retryable *status* is returned as a result (a 503 is an answer); a
retryable *transport error* becomes ``CallTimeoutError`` / ``CallError``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx2
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from tools.errors import CallError, CallTimeoutError, RetryAfterTooLongError
from tools.events import EventSink, HttpAttempt, ToolEvent
from tools.exchange import RETRYABLE_ERRORS, Exchange, Hop, Outgoing, Reply
from tools.retry import (
    RETRY_STATUSES,
    BackoffWait,
    RetryableOutcomeError,
    may_retry,
    parse_retry_after,
)

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class RetrySettings:
    max_attempts: int
    backoff_base: float
    backoff_max: float
    retry_after_cap: float
    total_timeout: float


class Recorder:
    """Collects the events of one call and forwards each to the caller's sink as it happens."""

    def __init__(self, tool: str, redact: Callable[[str], str], sink: EventSink | None) -> None:
        self.tool = tool
        self.redact = redact
        self.sink = sink
        self.attempts: list[HttpAttempt] = []
        self._pending: HttpAttempt | None = None

    def emit(self, event: ToolEvent) -> None:
        if isinstance(event, HttpAttempt):
            self.attempts.append(event)
        if self.sink is not None:
            self.sink(event)

    def attempt(
        self, method: str, url: str, elapsed_ms: float, *, status: int | None = None,
        error: str | None = None, retry_reason: str | None = None,
    ) -> HttpAttempt:  # fmt: skip
        return HttpAttempt(
            tool=self.tool,
            attempt=len(self.attempts) + (self._pending is not None) + 1,
            method=method,
            url=self.redact(url),
            status=status,
            elapsed_ms=round(elapsed_ms, 3),
            error=None if error is None else self.redact(error),
            retry_reason=retry_reason,
        )

    def hop(self, hop: Hop) -> None:
        reason = f"redirect {hop.status} to {self.redact(hop.location)}"
        self.emit(
            self.attempt(
                hop.method, hop.url, hop.elapsed_ms, status=hop.status, retry_reason=reason
            )
        )

    def stage(self, attempt: HttpAttempt) -> None:
        """Hold the attempt until we know whether a retry follows (and after what wait)."""
        self.flush()
        self._pending = attempt

    def retrying(self, reason: str, wait_s: float) -> None:
        if self._pending is not None:
            update = {"retry_reason": reason, "wait_s": round(wait_s, 3)}
            self._pending = self._pending.model_copy(update=update)
        self.flush()

    def flush(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self.emit(pending)


class Delivery:
    """Sends one prepared request with the retry rules, recording every attempt."""

    def __init__(
        self,
        exchange: Exchange,
        recorder: Recorder,
        settings: RetrySettings,
        *,
        sleep: Sleep,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.exchange = exchange
        self.recorder = recorder
        self.settings = settings
        self.sleep = sleep
        self.wall = wall

    async def send(self, request: Outgoing) -> Reply:
        self.exchange.on_hop = self.recorder.hop
        retryable = may_retry(request.method, request.headers)
        attempts = self.settings.max_attempts if retryable else 1
        retrying = AsyncRetrying(
            stop=stop_after_attempt(attempts),
            wait=BackoffWait(self.settings.backoff_base, self.settings.backoff_max),
            retry=retry_if_exception_type(RetryableOutcomeError),
            sleep=self.sleep,
            before_sleep=self._before_sleep,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    last = attempt.retry_state.attempt_number >= attempts
                    return await self._attempt(request, last=last)
        except RetryableOutcomeError as final:
            self.recorder.flush()
            if isinstance(final.payload, Reply):
                return final.payload
            raise self._failure(final, request) from final.error
        finally:
            self.recorder.flush()
        raise AssertionError("unreachable: tenacity either returns or re-raises")

    def _before_sleep(self, state: RetryCallState) -> None:
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        reason = error.reason if isinstance(error, RetryableOutcomeError) else "retry"
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        self.recorder.retrying(reason, wait)

    async def _attempt(self, request: Outgoing, *, last: bool) -> Reply:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.settings.total_timeout):
                reply = await self.exchange.send(request)
        except RETRYABLE_ERRORS as exc:
            elapsed = (time.perf_counter() - started) * 1000
            reason = _reason(exc)
            text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            self.recorder.stage(
                self.recorder.attempt(request.method, request.url, elapsed, error=text)
            )
            raise RetryableOutcomeError(reason, error=exc) from exc
        elapsed = (time.perf_counter() - started) * 1000
        self.recorder.stage(
            self.recorder.attempt(request.method, reply.url, elapsed, status=reply.status)
        )
        if reply.status not in RETRY_STATUSES:
            return reply
        wait = parse_retry_after(reply.header("retry-after"), self.wall())
        if wait is not None and wait > self.settings.retry_after_cap and not last:
            raise RetryAfterTooLongError(
                f"{reply.status} with Retry-After {wait:.0f}s, above the "
                f"{self.settings.retry_after_cap:.0f}s cap; try again later",
                url=self.recorder.redact(reply.url),
            )
        raise RetryableOutcomeError(
            str(reply.status), status=reply.status, retry_after=wait, payload=reply
        )

    def _failure(self, final: RetryableOutcomeError, request: Outgoing) -> CallError:
        tries = len(
            [a for a in self.recorder.attempts if not (a.retry_reason or "").startswith("redirect")]
        )
        url = self.recorder.redact(request.url)
        detail = self.recorder.redact(str(final.error)) if final.error else final.reason
        message = f"{request.method} {url} failed after {tries} attempt(s): {final.reason}"
        if detail and detail != final.reason:
            message += f" ({detail})"
        cls = CallTimeoutError if final.reason == "timeout" else CallError
        return cls(message, tool=self.recorder.tool, url=url)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | httpx2.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx2.ConnectError):
        return "connect error"
    return "connection error"
