"""Retry rules: what may be sent again, why, and how long to wait first.

Owns the rules only; the executor drives them through tenacity's ``AsyncRetrying``.

- Only requests that are safe to repeat are retried: the idempotent methods of RFC 9110
  (GET, HEAD, OPTIONS, PUT, DELETE, TRACE); POST and PATCH only when the request carries an
  ``Idempotency-Key`` header (the IETF draft and Stripe's convention), because the server then
  de-duplicates a repeat.
- Retried: connection errors, timeouts, and the statuses that mean "try again later"
  (429, 502, 503, 504). Every other status is a result for the caller.
- The wait is exponential with full jitter (AWS's recommendation against synchronized retry
  storms), unless the server said ``Retry-After`` (delta-seconds or an HTTP-date), which is
  honoured as given. A ``Retry-After`` above the cap fails fast with ``RetryAfterTooLongError``
  rather than stalling a conversation for minutes.
"""

from __future__ import annotations

import email.utils
from collections.abc import Iterable
from dataclasses import dataclass

from tenacity import RetryCallState
from tenacity.wait import wait_random_exponential

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})


def may_retry(method: str, headers: Iterable[tuple[str, str]]) -> bool:
    """True when sending this request twice cannot do harm twice."""
    if method.upper() in IDEMPOTENT_METHODS:
        return True
    return any(name.lower() == "idempotency-key" and value for name, value in headers)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP-date); None if unusable.

    ``now`` is the wall clock (seconds since the epoch) an HTTP-date is measured from.
    """
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; a naive parse means the zone was absent
        return None
    return max(0.0, when.timestamp() - now)


class RetryableOutcomeError(Exception):
    """Raised inside an attempt to tell tenacity this outcome may be retried.

    Carries the response (a retryable status) or the transport error, so that after the last
    attempt the executor can return the response as a result or report the error.
    """

    def __init__(
        self,
        reason: str,
        *,
        status: int | None = None,
        error: BaseException | None = None,
        retry_after: float | None = None,
        payload: object = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.error = error
        self.retry_after = retry_after
        self.payload = payload


@dataclass(frozen=True)
class BackoffWait:
    """tenacity wait strategy: the server's Retry-After, else exponential backoff with jitter."""

    base: float
    maximum: float

    def __call__(self, state: RetryCallState) -> float:
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        if isinstance(error, RetryableOutcomeError) and error.retry_after is not None:
            return error.retry_after
        jitter = wait_random_exponential(multiplier=self.base, max=self.maximum)
        return float(jitter(state))
