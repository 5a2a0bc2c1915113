"""Replay throughput: cases per second for a 3-step case with recorded model turns.

The case is the demo suite's ``bug-summary`` (list, comment, answer: three model turns, two API
calls), replayed from its HAR cassettes through the whole engine (OpenAI client, planner,
executor, observations, scoring). Baseline, measured in the same run: pushing the same HAR
entries (model and API) through bare ``httpx2.AsyncClient``s over the replay transport, i.e.
the cost of the HTTP plumbing alone. The ratio is what Baton's engine adds per case.
Run: ``.venv/bin/python bench/bench_evals.py [N]``.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx2  # noqa: E402

from evals.case import load_suite  # noqa: E402
from evals.cassette import Cassette, ReplayTransport  # noqa: E402
from evals.runner import RunOptions, run_case, run_cases  # noqa: E402

SUITE = ROOT / "evals" / "suites" / "demo"


async def _baseline_once(cassettes: list[Path]) -> None:
    for path in cassettes:
        cassette = Cassette.load(path)
        replay = ReplayTransport(cassette)
        async with httpx2.AsyncClient(transport=replay) as client:
            for entry in cassette.entries:
                req = entry["request"]
                post = req.get("postData") or {}
                headers = {"content-type": post["mimeType"]} if post else {}
                await client.request(
                    req["method"],
                    req["url"],
                    content=str(post.get("text", "")).encode(),
                    headers=headers,
                )
        assert not replay.off_script


async def main(n: int) -> None:
    case = next(c for c in load_suite(SUITE) if c.name == "bug-summary")
    assert case.cassette is not None
    assert case.model.cassette is not None
    warm = await run_case(case)  # loads the catalog cache and tiktoken once
    assert warm.passed, warm.reasons

    started = time.perf_counter()
    for _ in range(n):
        await run_case(case, RunOptions())
    engine = (time.perf_counter() - started) / n

    started = time.perf_counter()
    scores = await run_cases(
        [case.model_copy(update={"name": f"c{i}"}) for i in range(n)], RunOptions(concurrency=8)
    )
    concurrent = (time.perf_counter() - started) / n
    assert all(s.passed for s in scores)

    started = time.perf_counter()
    for _ in range(n):
        await _baseline_once([case.cassette, case.model.cassette])
    baseline = (time.perf_counter() - started) / n

    print(f"replay of a 3-step case ({n} runs)")
    print(f"  Baton, sequential      {1 / engine:8.1f} cases/s  ({engine * 1000:.1f} ms/case)")
    print(
        f"  Baton, 8 at a time     {1 / concurrent:8.1f} cases/s  ({concurrent * 1000:.1f} ms/case)"
    )
    print(f"  bare httpx2 replay     {1 / baseline:8.1f} cases/s  ({baseline * 1000:.1f} ms/case)")
    print(f"  ratio Baton/baseline   {engine / baseline:8.1f}x per case")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 50))
