"""Re-record the demo suite's cassettes: ``python -m evals.record_demo [SUITE_DIR]``.

Each case runs on a fresh demo API (so one case's changes never leak into another's
recording) with its plan from ``evals.demo_plans`` served over the Chat Completions protocol,
and both the API traffic and the model traffic are written as HAR files.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from agent.demo_api import DemoServer
from evals.case import load_suite
from evals.demo_plans import plan_for
from evals.runner import RunOptions, run_case
from evals.scripted_chat import ChatCompletionsTransport

SUITE = Path(__file__).parent / "suites" / "demo"


async def record(suite: Path = SUITE) -> int:
    failures = 0
    for case in load_suite(suite):
        with DemoServer() as server:
            options = RunOptions(
                record=True,
                server=server.base_url,
                model_transport=ChatCompletionsTransport(plan_for(case.name)),
            )
            score = await run_case(case, options)
        status = "ok" if score.passed else "FAILED: " + "; ".join(score.reasons)
        failures += not score.passed
        print(f"{case.name}: {status}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(record(Path(sys.argv[1]) if len(sys.argv) > 1 else SUITE)))
