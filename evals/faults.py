"""Fault injection per case: a transport that breaks chosen requests on purpose.

It wraps the replay (or recording) transport, so plans and the executor are tested against
the failures real APIs produce: 429 with Retry-After, 5xx, timeouts, slow responses and
malformed bodies. A fault applies to the first ``times`` requests that match it.
"""

from __future__ import annotations

import asyncio
import fnmatch
from typing import Literal

import httpx2
from pydantic import BaseModel, ConfigDict, Field

FaultKind = Literal["status", "timeout", "slow", "malformed"]


class FaultMatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: str | None = None  # None matches every method
    path: str = "*"  # fnmatch pattern over the URL path


class Fault(BaseModel):
    model_config = ConfigDict(extra="forbid")

    match: FaultMatch = Field(default_factory=FaultMatch)
    kind: FaultKind
    status: int = 503  # for kind "status"
    retry_after: str | None = None  # Retry-After header value, seconds or HTTP date
    delay_s: float = 0.0  # for kind "slow": wait, then answer normally
    times: int = 1  # how many matching requests get the fault

    def matches(self, request: httpx2.Request) -> bool:
        if self.match.method and self.match.method.upper() != request.method:
            return False
        return fnmatch.fnmatchcase(request.url.path, self.match.path)


class FaultTransport(httpx2.AsyncBaseTransport):
    def __init__(self, inner: httpx2.AsyncBaseTransport, faults: list[Fault]) -> None:
        self.inner = inner
        self.faults = faults
        self.remaining = [f.times for f in faults]
        self.injected: list[str] = []  # "kind METHOD path" per injected fault

    def _pick(self, request: httpx2.Request) -> Fault | None:
        for index, fault in enumerate(self.faults):
            if self.remaining[index] > 0 and fault.matches(request):
                self.remaining[index] -= 1
                self.injected.append(f"{fault.kind} {request.method} {request.url.path}")
                return fault
        return None

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        fault = self._pick(request)
        if fault is None:
            return await self.inner.handle_async_request(request)
        if fault.kind == "timeout":
            raise httpx2.ReadTimeout("injected timeout", request=request)
        if fault.kind == "slow":
            await asyncio.sleep(fault.delay_s)
            return await self.inner.handle_async_request(request)
        if fault.kind == "malformed":
            real = await self.inner.handle_async_request(request)
            await real.aread()
            return httpx2.Response(
                real.status_code,
                headers={"content-type": "application/json"},
                content=b'{"truncated": [1, 2,',
                request=request,
            )
        headers = {"content-type": "application/json"}
        if fault.retry_after is not None:
            headers["retry-after"] = fault.retry_after
        return httpx2.Response(
            fault.status, headers=headers, json={"error": "injected fault"}, request=request
        )

    async def aclose(self) -> None:
        await self.inner.aclose()
