"""Planner benchmarks: tools-in-view tokens for GitHub's API and per-step overhead.

1. Tokens of tools sent per turn for GitHub's 1,223 operations (from ../shared/corpus), with the
   default budget, versus sending every tool (the baseline, measured in the same run): the
   first turn of a few tasks, and the turn after a ``search_operations`` call.
2. Planner overhead per step, excluding model and HTTP time: a model double that calls a tool
   on every turn, the bundled demo spec, an in-memory transport; the time spent inside the
   model and the transport is measured and subtracted from the run's wall time.

Run: ``.venv/bin/python bench/bench_planner.py`` (prints a table; the README quotes it).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.agent import Agent  # noqa: E402
from agent.llm import TextSink  # noqa: E402
from agent.messages import Message, ModelTurn, Usage  # noqa: E402
from agent.planner import Limits  # noqa: E402
from agent.testing import FunctionModel, calls, tool_call  # noqa: E402
from agent.tokens import count_tool_tokens  # noqa: E402
from agent.toolview import ToolView  # noqa: E402
from tools.cache import load_catalog  # noqa: E402
from tools.catalog import Catalog  # noqa: E402
from tools.model import JSONObject  # noqa: E402

GITHUB = ROOT.parent / "shared" / "corpus" / "github" / "api.github.com.3.0.json"
# task -> (the query a model would search with, the operation that does it)
TASKS = {
    "list open issues of octocat/hello-world": (
        "list issues repository",
        "GET /repos/{owner}/{repo}/issues",
    ),
    "star the repository octocat/hello-world": (
        "star repository",
        "PUT /user/starred/{owner}/{repo}",
    ),
    "get the latest release of cli/cli": (
        "latest release",
        "GET /repos/{owner}/{repo}/releases/latest",
    ),
    "create a gist with a file": ("create gist", "POST /gists"),
    "list pull requests of octocat/hello-world": (
        "list pull requests",
        "GET /repos/{owner}/{repo}/pulls",
    ),
}


def bench_tools_in_view() -> None:
    if not GITHUB.exists():
        print(f"skipped tools-in-view: {GITHUB} not found")
        return
    catalog = load_catalog(GITHUB)
    started = time.perf_counter()
    every = count_tool_tokens(catalog.to_openai())
    print(f"GitHub: {len(catalog)} operations; every tool = {every:,} tokens per turn "
          f"(counted in {time.perf_counter() - started:.1f} s)")  # fmt: skip
    print(f"{'task':45} {'turn 1':>7} {'after search':>13} {'ratio':>6} {'in view (1st/2nd)':>18}")
    for task, (query, route) in TASKS.items():
        view = ToolView(catalog, model_name="gpt-4o")
        view.focus(task)
        first_names = view.names()
        first = count_tool_tokens(view.tools(first_names))
        view.search(query)
        names = view.names()
        after = count_tool_tokens(view.tools(names))
        hit = f"{_has(catalog, first_names, route)}/{_has(catalog, names, route)}"
        ratio = every / max(first, after)
        print(f"{task[:45]:45} {first:>7,} {after:>13,} {ratio:>5.0f}x {hit:>18}")


def _has(catalog: Catalog, names: list[str], route: str) -> str:
    wanted = [t.name for t in catalog if f"{t.binding.method} {t.binding.path}" == route]
    return "yes" if set(wanted) & set(names) else "no"


class TimedModel:
    """Wraps a model double and adds up the time spent inside it."""

    def __init__(self, inner: FunctionModel) -> None:
        self.inner = inner
        self.model = inner.model
        self.seconds = 0.0

    async def complete(
        self, messages: Sequence[Message], tools: Sequence[JSONObject], *,
        on_text: TextSink | None = None,
    ) -> ModelTurn:  # fmt: skip
        started = time.perf_counter()
        try:
            return await self.inner.complete(messages, tools, on_text=on_text)
        finally:
            self.seconds += time.perf_counter() - started

    async def aclose(self) -> None:
        await self.inner.aclose()


async def one_run(steps: int, parallel: int) -> tuple[float, float, float]:
    http_seconds = 0.0
    tasks = [
        {"id": i, "title": f"task {i}", "status": "open", "tags": ["a", "b"]} for i in range(40)
    ]

    def handler(request: httpx2.Request) -> httpx2.Response:
        nonlocal http_seconds
        started = time.perf_counter()
        response = httpx2.Response(200, json=tasks)
        http_seconds += time.perf_counter() - started
        return response

    usage = Usage(prompt_tokens=1_000, completion_tokens=20)  # a real model reports usage

    def script(messages: list[Message], tools: list[JSONObject]) -> ModelTurn:
        turns = sum(1 for m in messages if m.role == "assistant")
        if turns >= steps:
            return ModelTurn(message=Message(role="assistant", content="done"), usage=usage)
        return calls(*[tool_call("listTasks", {}) for _ in range(parallel)], usage=usage)

    model = TimedModel(FunctionModel(script))
    agent = Agent(
        ROOT / "specs" / "demo.yaml", model=model, transport=httpx2.MockTransport(handler),
        server="http://127.0.0.1:8765", limits=Limits(max_turns=steps + 1),
    )  # fmt: skip
    started = time.perf_counter()
    result = await agent.run("list the tasks again and again")
    wall = time.perf_counter() - started
    await agent.aclose()
    assert result.ok, result.error
    overhead = wall - model.seconds - http_seconds
    return overhead / steps * 1000, model.seconds / steps * 1000, wall / steps * 1000


def bench_overhead() -> None:
    print(f"\n{'steps':>5} {'calls/step':>10} {'planner ms/step':>16} {'model double ms':>16}")
    for steps, parallel in ((20, 1), (50, 1), (20, 4)):
        runs = [asyncio.run(one_run(steps, parallel)) for _ in range(3)]
        overhead = statistics.median(r[0] for r in runs)
        model = statistics.median(r[1] for r in runs)
        print(f"{steps:>5} {parallel:>10} {overhead:>16.2f} {model:>16.2f}")


if __name__ == "__main__":
    bench_tools_in_view()
    bench_overhead()
