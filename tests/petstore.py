"""A hand-built pet-store catalog and an in-memory API behind ``httpx2.MockTransport``.

Shared by the planner and agent tests: the catalog is built from ``Tool`` objects (no spec
parsing involved), the API keeps its pets in a dict so calls have observable effects, and two
endpoints wait on each other (``/pair/a`` and ``/pair/b``) so a test can prove that the calls of
one model turn run concurrently.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

import httpx2

from tools.catalog import Catalog
from tools.model import (
    ArgBinding,
    BodyBinding,
    HttpBinding,
    SecurityScheme,
    Server,
    SideEffect,
    Tool,
)

BASE = "https://pets.example.com/v1"
SERVERS = [Server(url=BASE)]


def _arg(name: str, location: str, *, required: bool = False) -> ArgBinding:
    style = "simple" if location in ("path", "header") else "form"
    return ArgBinding.model_validate(
        {"name": name, "wire_name": name, "location": location, "style": style,
         "explode": location == "query", "required": required}
    )  # fmt: skip


def _tool(name: str, summary: str, method: str, path: str, params: dict[str, object],
          args: list[ArgBinding], *, required: list[str] | None = None,
          body: BodyBinding | None = None, secured: bool = False) -> Tool:  # fmt: skip
    side_effect: SideEffect = "safe" if method == "GET" else "unsafe"
    return Tool(
        name=name,
        summary=summary,
        description=summary,
        parameters={"type": "object", "properties": params, "required": required or [],
                    "additionalProperties": False},
        binding=HttpBinding(method=method, path=path, servers=SERVERS, args=args, body=body,
                            side_effect=side_effect,
                            security=[{"api_key": []}] if secured else []),
    )  # fmt: skip


def pet_catalog() -> Catalog:
    tools = [
        _tool("listPets", "List pets, optionally limited", "GET", "/pets",
              {"limit": {"type": "integer", "minimum": 1}}, [_arg("limit", "query")]),
        _tool("getPet", "Get one pet by its id", "GET", "/pets/{petId}",
              {"petId": {"type": "integer"}}, [_arg("petId", "path", required=True)],
              required=["petId"]),
        _tool("createPet", "Create a pet", "POST", "/pets",
              {"body": {"type": "object", "required": ["name"],
                        "properties": {"name": {"type": "string"}}}},
              [], required=["body"],
              body=BodyBinding(arg="body", media_type="application/json", kind="json",
                               required=True)),
        _tool("pairA", "Wait for pairB", "GET", "/pair/a", {}, []),
        _tool("pairB", "Wait for pairA", "GET", "/pair/b", {}, []),
        _tool("getSecret", "A call that needs the API key", "GET", "/secret", {}, [],
              secured=True),
    ]  # fmt: skip
    scheme = SecurityScheme(
        name="api_key", type="apiKey", param_name="X-API-Key", location="header"
    )
    return Catalog(tools, security_schemes={"api_key": scheme}, title="Pets", source="pets")


@dataclass
class PetAPI:
    """The in-memory API; ``requests`` records every request it received."""

    pets: dict[int, dict[str, object]] = field(
        default_factory=lambda: {i: {"id": i, "name": f"pet{i}", "tag": "dog"} for i in range(1, 4)}
    )
    requests: list[httpx2.Request] = field(default_factory=list)
    big: int = 0  # when > 0, listPets returns this many pets with long descriptions
    a_ready: asyncio.Event = field(default_factory=asyncio.Event)
    b_ready: asyncio.Event = field(default_factory=asyncio.Event)

    def transport(self) -> httpx2.MockTransport:
        return httpx2.MockTransport(self.handle)

    async def handle(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        path = request.url.path.removeprefix("/v1")
        if path == "/pets" and request.method == "GET":
            return self._list(request)
        if path == "/pets" and request.method == "POST":
            data = json.loads(request.content)
            pet = {"id": max(self.pets) + 1, "name": data["name"], "tag": None}
            self.pets[int(pet["id"])] = pet
            return httpx2.Response(201, json=pet)
        if path.startswith("/pets/"):
            pet_id = int(path.rsplit("/", 1)[1])
            if pet_id in self.pets:
                return httpx2.Response(200, json=self.pets[pet_id])
            return httpx2.Response(404, json={"message": f"no pet {pet_id}"})
        if path == "/pair/a":
            return await self._pair(self.a_ready, self.b_ready, "a")
        if path == "/pair/b":
            return await self._pair(self.b_ready, self.a_ready, "b")
        if path == "/secret":
            return httpx2.Response(200, json={"you_sent": request.headers.get("X-API-Key")})
        return httpx2.Response(404, json={"message": "no route"})

    def _list(self, request: httpx2.Request) -> httpx2.Response:
        if self.big:
            pets = [{"id": i, "name": f"pet{i}", "notes": "n" * 200} for i in range(self.big)]
            link = f'<{BASE}/pets?page=2>; rel="next"'
            return httpx2.Response(200, json=pets, headers={"Link": link})
        limit = int(request.url.params.get("limit", "100"))
        return httpx2.Response(200, json=list(self.pets.values())[:limit])

    async def _pair(self, mine: asyncio.Event, other: asyncio.Event, name: str) -> httpx2.Response:
        # Each side waits for the other: only concurrent calls can both finish.
        mine.set()
        await asyncio.wait_for(other.wait(), timeout=2.0)
        return httpx2.Response(200, json={"side": name})
