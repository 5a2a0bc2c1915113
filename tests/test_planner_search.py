"""Search over a big catalog: GitHub's 1,223 operations in a few thousand tokens per turn."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx2
import pytest

from agent.agent import Agent
from agent.messages import Message
from agent.testing import FunctionModel, FunctionResult, tool_call
from agent.tokens import count_tool_tokens
from agent.toolview import DEFAULT_BUDGET_TOKENS, SEARCH_TOOL
from tests.conftest import corpus_path
from tools.cache import load_catalog
from tools.catalog import Catalog
from tools.model import JSONObject

pytestmark = pytest.mark.corpus

ISSUES = [{"number": n, "title": f"bug {n}", "state": "open"} for n in range(1, 4)]


@pytest.fixture(scope="module")
def github() -> Catalog:
    return load_catalog(corpus_path("github", "api.github.com.3.0.json"))


def by_route(catalog: Catalog, method: str, path: str) -> str:
    return next(t.name for t in catalog if (t.binding.method, t.binding.path) == (method, path))


def github_api(request: httpx2.Request) -> httpx2.Response:
    if request.url.path == "/repos/octocat/hello-world/issues":
        return httpx2.Response(200, json=ISSUES)
    return httpx2.Response(404, json={"message": "Not Found"})


async def test_the_model_searches_then_calls_what_it_found(github: Catalog) -> None:
    list_issues = by_route(github, "GET", "/repos/{owner}/{repo}/issues")

    def model(messages: list[Message], tools: list[JSONObject]) -> FunctionResult:
        last = messages[-1]
        if last.role == "user":
            return tool_call(SEARCH_TOOL, {"query": "list issues in a repository"})
        if last.name == SEARCH_TOOL:
            found = json.loads(last.content or "")["operations"]
            name = next(o["name"] for o in found if o["http"] == "GET /repos/{owner}/{repo}/issues")
            return tool_call(name, {"owner": "octocat", "repo": "hello-world"})
        return f"{len(json.loads(last.content or '')['body'])} open issues"

    double = FunctionModel(model, model="gpt-4o")
    agent = Agent(github, model=double, transport=httpx2.MockTransport(github_api))
    result = await agent.run("How many open issues does octocat/hello-world have?")
    assert result.answer == "3 open issues", result.error
    assert count_tool_tokens(github.to_openai()) > 50 * DEFAULT_BUDGET_TOKENS  # all: ~314k
    for request in double.requests:
        assert SEARCH_TOOL in request.tool_names
        assert count_tool_tokens(request.tools) <= DEFAULT_BUDGET_TOKENS
    assert list_issues in double.requests[1].tool_names  # found -> in view the next turn
    assert [s.tool for s in result.calls] == [SEARCH_TOOL, list_issues]


async def test_a_tool_called_by_exact_name_comes_into_view(github: Catalog) -> None:
    get_repo = by_route(github, "GET", "/repos/{owner}/{repo}")
    turns: Iterator[FunctionResult] = iter(
        [tool_call(get_repo, {"owner": "octocat", "repo": "nope"}), "not found"]
    )
    double = FunctionModel(lambda messages, tools: next(turns), model="gpt-4o")
    agent = Agent(github, model=double, transport=httpx2.MockTransport(github_api))
    result = await agent.run("Describe something unrelated to any operation name")
    assert result.calls[0].result is not None
    assert result.calls[0].result.status == 404
    assert get_repo in double.requests[1].tool_names


async def test_a_small_model_sees_two_tools(github: Catalog) -> None:
    double = FunctionModel(lambda messages, tools: "ok", model="smollm2-135m-instruct")
    agent = Agent(github, model=double, transport=httpx2.MockTransport(github_api))
    await agent.run("list the issues of a repository")
    (request,) = double.requests
    assert len(request.tool_names) == 2
    assert SEARCH_TOOL not in request.tool_names
