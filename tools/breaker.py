"""Per-host circuit breaker: stop hammering a host that keeps failing.

Owns the state machine only:

- **closed**: requests pass; ``threshold`` consecutive failures (connection errors, timeouts,
  5xx) open the circuit. Any other response (2xx-4xx) proves the host is alive and resets the
  count.
- **open**: requests fail fast with ``CircuitOpenError`` until ``reset_s`` has passed.
- **half-open**: exactly one probe request is let through; success closes the circuit,
  failure opens it again for another ``reset_s``. A probe that never reports back (its task
  was cancelled) expires after ``reset_s`` so the host is not locked out forever.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from tools.errors import CircuitOpenError

State = Literal["closed", "open", "half_open"]


@dataclass
class _Circuit:
    failures: int = 0
    opened_at: float | None = None
    probe_since: float | None = None


class CircuitBreaker:
    def __init__(
        self,
        threshold: int = 5,
        reset_s: float = 30.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold  # 0 disables the breaker
        self.reset_s = reset_s
        self._clock = clock
        self._circuits: dict[str, _Circuit] = {}

    def state(self, host: str) -> State:
        circuit = self._circuits.get(host)
        if circuit is None or circuit.opened_at is None:
            return "closed"
        if self._clock() - circuit.opened_at < self.reset_s:
            return "open"
        return "half_open"

    def before(self, host: str) -> None:
        """Let a request to ``host`` through, or raise ``CircuitOpenError``."""
        if self.threshold <= 0:
            return
        state = self.state(host)
        if state == "closed":
            return
        circuit = self._circuits[host]
        now = self._clock()
        if state == "open":
            assert circuit.opened_at is not None
            left = self.reset_s - (now - circuit.opened_at)
            raise CircuitOpenError(
                f"circuit open for {host} after {circuit.failures} consecutive failures; "
                f"next probe in {left:.1f}s",
                url=host,
            )
        if circuit.probe_since is not None and now - circuit.probe_since < self.reset_s:
            raise CircuitOpenError(f"circuit half-open for {host}; a probe is in flight", url=host)
        circuit.probe_since = now

    def record(self, host: str, *, ok: bool) -> None:
        """Report the outcome of a request that ``before`` let through."""
        if self.threshold <= 0:
            return
        circuit = self._circuits.get(host)
        if ok:
            if circuit is not None:  # a healthy host keeps no state: nothing to reset
                del self._circuits[host]
            return
        if circuit is None:
            circuit = self._circuits[host] = _Circuit()
        circuit.failures += 1
        circuit.probe_since = None
        if circuit.opened_at is not None or circuit.failures >= self.threshold:
            circuit.opened_at = self._clock()
