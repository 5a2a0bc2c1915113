"""A small hand-built catalog and a scriptable fake API for the executor's unit tests.

The fake API is an ``httpx2.MockTransport`` handler: each test scripts the responses it wants
(in order, or by path) and inspects the requests that actually reached the "network".
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import httpx2

from tools.catalog import Catalog
from tools.model import (
    ArgBinding,
    BodyBinding,
    HttpBinding,
    JSONObject,
    ResponseRef,
    SecurityScheme,
    Server,
    SideEffect,
    Tool,
)

BASE = "https://api.example.com/v1"
API_KEY = "sk-live-very-secret-0123456789"

PET_SCHEMA: JSONObject = {
    "type": "object",
    "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
    "required": ["id", "name"],
}


def arg(name: str, location: str, *, required: bool = False, wire: str | None = None) -> ArgBinding:
    return ArgBinding.model_validate(
        {
            "name": name,
            "wire_name": wire or name,
            "location": location,
            "style": "simple" if location in ("path", "header") else "form",
            "explode": location == "query",
            "required": required,
        }
    )


def tool(
    name: str,
    method: str,
    path: str,
    properties: JSONObject,
    args: Iterable[ArgBinding] = (),
    *,
    required: Iterable[str] = (),
    body: BodyBinding | None = None,
    side_effect: SideEffect | None = None,
    security: list[dict[str, list[str]]] | None = None,
    servers: list[Server] | None = None,
    responses: list[ResponseRef] | None = None,
) -> Tool:
    effect: SideEffect = side_effect or ("safe" if method in ("GET", "HEAD") else "unsafe")
    return Tool(
        name=name,
        description=name,
        parameters={
            "type": "object",
            "properties": properties,
            "required": list(required),
            "additionalProperties": False,
        },
        binding=HttpBinding(
            method=method,
            path=path,
            servers=servers if servers is not None else [Server(url=BASE)],
            args=list(args),
            body=body,
            security=security if security is not None else [{"api_key": []}],
            side_effect=effect,
            responses=responses or [],
        ),
    )


def catalog(*extra: Tool, servers: list[Server] | None = None) -> Catalog:
    pet_id = {"type": "integer", "minimum": 1}
    tools = [
        tool(
            "getPet",
            "GET",
            "/pets/{petId}",
            {"petId": pet_id},
            [arg("petId", "path", required=True)],
            required=["petId"],
            servers=servers,
            responses=[ResponseRef(status="200", media_type="application/json", pointer="/pet")],
        ),
        tool(
            "listPets",
            "GET",
            "/pets",
            {"limit": {"type": "integer"}, "name": {"type": "string"}},
            [arg("limit", "query"), arg("name", "query")],
            servers=servers,
        ),
        tool(
            "createPet",
            "POST",
            "/pets",
            {"body": PET_SCHEMA},
            body=BodyBinding(arg="body", media_type="application/json", kind="json", required=True),
            required=["body"],
            servers=servers,
        ),
        tool(
            "chargePet",
            "POST",
            "/pets/charge",
            {"key": {"type": "string"}, "body": {"type": "object"}},
            [arg("key", "header", wire="Idempotency-Key", required=True)],
            body=BodyBinding(arg="body", media_type="application/json", kind="json", required=True),
            required=["key", "body"],
            servers=servers,
        ),
        tool(
            "deletePet",
            "DELETE",
            "/pets/{petId}",
            {"petId": pet_id},
            [arg("petId", "path", required=True)],
            required=["petId"],
            side_effect="idempotent",
            servers=servers,
        ),
        *extra,
    ]
    schemes = {
        "api_key": SecurityScheme(
            name="api_key", type="apiKey", param_name="X-Api-Key", location="header"
        )
    }

    def resolve(pointer: str) -> JSONObject | None:
        return PET_SCHEMA if pointer == "/pet" else None

    return Catalog(tools, security_schemes=schemes, title="pets", schema_resolver=resolve)


Handler = Callable[[httpx2.Request], httpx2.Response]


@dataclass
class FakeAPI:
    """Answers with scripted responses (in order; the last one repeats) and logs requests."""

    responses: list[httpx2.Response | Exception | Handler] = field(default_factory=list)
    requests: list[httpx2.Request] = field(default_factory=list)
    delay: float = 0.0

    async def handle(self, request: httpx2.Request) -> httpx2.Response:
        await request.aread()
        self.requests.append(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        index = min(len(self.requests), len(self.responses)) - 1
        answer = self.responses[index] if self.responses else httpx2.Response(200, json={})
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        return answer

    def transport(self) -> httpx2.MockTransport:
        return httpx2.MockTransport(self.handle)


class Sleeps:
    """An injected sleep that records the waits and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
