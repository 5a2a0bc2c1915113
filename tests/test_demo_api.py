"""The demo API answers exactly as specs/demo.yaml describes, and keeps its state."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx2
import jsonschema
import pytest
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from agent import demo_api
from agent.demo_api import DemoServer, running_demo_api
from agent.resources import demo_spec
from tests.servers import free_port

SPEC: dict[str, Any] = yaml.safe_load(demo_spec().read_text())
_REGISTRY: Registry[Any] = Registry().with_resource(
    "urn:demo", Resource.from_contents(SPEC, default_specification=DRAFT202012)
)
METHODS = ("get", "post", "put", "patch", "delete")


def _deref(node: dict[str, Any]) -> dict[str, Any]:
    """Follow a local ``$ref`` to a non-schema component (responses, parameters)."""
    while "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def _check_response(path: str, method: str, response: httpx2.Response) -> None:
    """The response status is documented and its body validates against the spec's schema."""
    responses = SPEC["paths"][path][method]["responses"]
    status = str(response.status_code)
    assert status in responses, f"{method.upper()} {path} answered undocumented {status}"
    declared = _deref(responses[status])
    content = declared.get("content")
    if content is None:
        assert response.content == b"", f"{method.upper()} {path} {status} must have no body"
        return
    assert response.headers["content-type"] == "application/json"
    ref = "urn:demo#/" + _pointer(
        "paths", path, method, "responses", status, "content", "application/json", "schema"
    )
    if "$ref" in responses[status]:  # the response itself is a component
        name = responses[status]["$ref"].rsplit("/", 1)[1]
        ref = "urn:demo#/" + _pointer(
            "components", "responses", name, "content", "application/json", "schema"
        )
    validator = jsonschema.Draft202012Validator(
        {"$ref": ref},
        registry=_REGISTRY,
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )
    validator.validate(response.json())


@pytest.fixture
def server() -> Iterator[DemoServer]:
    with DemoServer() as running:
        yield running


@pytest.fixture
def client(server: DemoServer) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=server.base_url, timeout=5) as c:
        yield c


# One request per (operation, documented status): the conformance table.
CASES: list[tuple[str, str, str, dict[str, Any], int]] = [
    ("/health", "get", "/health", {}, 200),
    ("/projects", "get", "/projects", {}, 200),
    ("/projects/{project_id}", "get", "/projects/web", {}, 200),
    ("/projects/{project_id}", "get", "/projects/nope", {}, 404),
    ("/members", "get", "/members", {}, 200),
    ("/tasks", "get", "/tasks", {"params": {"status": "open", "label": "bug"}}, 200),
    ("/tasks", "get", "/tasks", {"params": {"limit": "0"}}, 422),
    ("/tasks", "post", "/tasks", {"json": {"project_id": "api", "title": "New"}}, 201),
    ("/tasks", "post", "/tasks", {"json": {"title": "no project"}}, 422),
    ("/tasks/{task_id}", "get", "/tasks/2", {}, 200),
    ("/tasks/{task_id}", "get", "/tasks/999", {}, 404),
    ("/tasks/{task_id}", "patch", "/tasks/2", {"json": {"assignee": None}}, 200),
    ("/tasks/{task_id}", "patch", "/tasks/999", {"json": {"status": "done"}}, 404),
    ("/tasks/{task_id}", "patch", "/tasks/2", {"json": {"colour": "red"}}, 422),
    ("/tasks/{task_id}", "delete", "/tasks/4", {}, 204),
    ("/tasks/{task_id}", "delete", "/tasks/999", {}, 404),
    ("/tasks/{task_id}/comments", "get", "/tasks/1/comments", {}, 200),
    ("/tasks/{task_id}/comments", "get", "/tasks/999/comments", {}, 404),
    ("/tasks/{task_id}/comments", "post", "/tasks/1/comments", {"json": {"body": "hi"}}, 201),
    ("/tasks/{task_id}/comments", "post", "/tasks/999/comments", {"json": {"body": "x"}}, 404),
    ("/tasks/{task_id}/comments", "post", "/tasks/1/comments", {"json": {"body": ""}}, 422),
]


@pytest.mark.parametrize(("path", "method", "url", "kwargs", "status"), CASES)
def test_every_documented_answer_matches_the_spec(
    client: httpx2.Client, path: str, method: str, url: str, kwargs: dict[str, Any], status: int
) -> None:
    response = client.request(method.upper(), url, **kwargs)
    assert response.status_code == status, response.text
    _check_response(path, method, response)


def test_the_conformance_table_covers_every_documented_status_except_401() -> None:
    documented = {
        (path, method, int(status))
        for path, item in SPEC["paths"].items()
        for method in METHODS
        if method in item
        for status in item[method]["responses"]
        if status != "401"  # covered by test_a_configured_key_is_required_everywhere
    }
    assert documented == {(p, m, s) for p, m, _, _, s in CASES}


def test_server_routes_are_exactly_the_documented_operations() -> None:
    served = {(m.lower(), pattern.pattern) for m, pattern, _ in demo_api._ROUTES}
    documented = {
        (method, "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$")
        for path, item in SPEC["paths"].items()
        for method in METHODS
        if method in item
    }
    assert served == documented


def test_operation_ids_are_unique_and_every_operation_has_a_summary() -> None:
    ops = [item[m] for item in SPEC["paths"].values() for m in METHODS if m in item]
    ids = [op["operationId"] for op in ops]
    assert len(ids) == len(set(ids)) == 11
    assert all(op.get("summary") for op in ops)


def test_pagination_walks_every_matching_task_once(client: httpx2.Client) -> None:
    seen: list[int] = []
    params: dict[str, Any] = {"limit": 7, "status": "open"}
    total = None
    while True:
        response = client.get("/tasks", params=params)
        _check_response("/tasks", "get", response)
        page = response.json()
        total = page["total"]
        seen.extend(t["id"] for t in page["items"])
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert len(seen) == len(set(seen)) == total > 7
    response = client.get("/tasks", params={"cursor": "not-a-cursor"})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "cursor"


def test_filters_combine_and_newest_comes_first(client: httpx2.Client) -> None:
    page = client.get(
        "/tasks", params=[("status", "open"), ("label", "bug"), ("label", "ui"), ("limit", "3")]
    ).json()
    assert page["items"], "the seed must hold open bug+ui tasks"
    for task in page["items"]:
        assert task["status"] == "open"
        assert {"bug", "ui"} <= set(task["labels"])
    stamps = [t["created_at"] for t in page["items"]]
    assert stamps == sorted(stamps, reverse=True)
    oldest = client.get("/tasks", params={"order": "oldest", "limit": 1}).json()
    assert oldest["items"][0]["id"] == 1


def test_state_persists_across_requests(client: httpx2.Client) -> None:
    created = client.post(
        "/tasks", json={"project_id": "web", "title": "Ship it", "labels": ["bug", "bug"]}
    ).json()
    assert created["labels"] == ["bug"]
    newest = client.get("/tasks", params={"limit": 1}).json()["items"][0]
    assert newest["id"] == created["id"]
    updated = client.patch(f"/tasks/{created['id']}", json={"status": "done"}).json()
    assert updated["status"] == "done"
    assert updated["updated_at"] > created["updated_at"]
    client.post(f"/tasks/{created['id']}/comments", json={"body": "done!", "author": "ada"})
    comments = client.get(f"/tasks/{created['id']}/comments").json()["items"]
    assert [c["body"] for c in comments] == ["done!"]
    assert client.delete(f"/tasks/{created['id']}").status_code == 204
    assert client.get(f"/tasks/{created['id']}").status_code == 404


def test_each_server_starts_from_the_same_seed() -> None:
    with running_demo_api() as first, httpx2.Client(base_url=first) as c:
        c.delete("/tasks/1")
        a = c.get("/tasks", params={"limit": 100}).json()
    second = DemoServer().start()
    try:
        b = httpx2.get(f"{second.base_url}/tasks", params={"limit": 100}).json()
    finally:
        second.stop()
    assert b["total"] == a["total"] + 1 == 60


def test_a_configured_key_is_required_everywhere_but_health() -> None:
    with DemoServer(api_key="s3cret") as server, httpx2.Client(base_url=server.base_url) as c:
        for path, method, url, kwargs, _ in CASES:
            if path == "/health":
                continue
            for headers in ({}, {"X-API-Key": "wrong"}):
                response = c.request(method.upper(), url, headers=headers, **kwargs)
                assert response.status_code == 401, (method, url)
                _check_response(path, method, response)
                assert "s3cret" not in response.text
        assert c.get("/health").status_code == 200
        assert c.get("/members", headers={"X-API-Key": "s3cret"}).status_code == 200


def test_bad_requests_get_json_errors(client: httpx2.Client) -> None:
    not_json = client.post("/tasks", content=b"{", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400
    assert not_json.json()["error"]["code"] == "bad_json"
    form = client.post("/tasks", data={"title": "x"})
    assert form.status_code == 415
    assert client.put("/tasks/1", json={}).status_code == 405
    assert client.get("/nowhere").json()["error"]["code"] == "not_found"
    bad_id = client.get("/tasks/abc")
    assert bad_id.status_code == 422
    assert "task_id" in bad_id.json()["error"]["message"]


def test_runs_standalone_as_a_module() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent.demo_api", "--port", str(port), "--api-key", "k"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}" in line
        assert "X-API-Key required" in line
        # The socket listens before the line is printed, so the request cannot race it.
        response = httpx2.get(f"http://127.0.0.1:{port}/members", headers={"X-API-Key": "k"})
        assert response.status_code == 200
        assert len(response.json()["items"]) == 6
    finally:
        proc.terminate()
        proc.wait(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()


def test_the_spec_becomes_eleven_tools_without_warnings() -> None:
    from tools.ingest import ingest_spec

    catalog = ingest_spec(demo_spec(), server="http://127.0.0.1:8765")
    assert catalog.warnings == []
    assert len(catalog) == 11
    effects = {t.name: t.binding.side_effect for t in catalog}
    assert effects["listTasks"] == "safe"
    assert effects["createTask"] == "unsafe"
    assert effects["deleteTask"] != "safe"
    assert set(catalog.security_schemes) == {"api_key"}
