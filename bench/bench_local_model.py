"""The bundled local model's latency: server start-up and tool-calling turns, by thread count.

For each thread count given (default: 1 and 2): start ``llama_cpp.server`` with SmolLM2-135M
through ``LocalModelServer``, then send the same one-tool request ``--turns`` times through
``local_client`` (the path Baton uses) and report the first turn (cold prompt cache) and the
median of the rest. Also records whether each turn was a well-formed call to the tool. The
load average is printed because llama.cpp's threads spin at barriers: on a shared machine the
thread count matters more than anything else.

Run: ``.venv/bin/python bench/bench_local_model.py [--threads 1 2] [--turns 5]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.local_model import (  # noqa: E402
    LocalModelServer,
    LocalModelSettings,
    local_client,
    local_model_available,
)
from agent.messages import Message  # noqa: E402
from tools.model import JSONObject  # noqa: E402

TOOL: JSONObject = {
    "type": "function",
    "function": {
        "name": "get_pet",
        "description": "Find a pet in the store by its id",
        "parameters": {
            "type": "object",
            "properties": {"petId": {"type": "integer", "description": "id of the pet"}},
            "required": ["petId"],
        },
    },
}
ASK = [
    Message(role="system", content="You answer by calling the available function."),
    Message(role="user", content="Show me pet number 7."),
]


def _well_formed(arguments: str) -> bool:
    try:
        return isinstance(json.loads(arguments).get("petId"), int)
    except (ValueError, AttributeError):
        return False


async def measure(threads: int, turns: int) -> None:
    started = time.monotonic()
    async with LocalModelServer(LocalModelSettings(n_threads=threads)) as server:
        startup = time.monotonic() - started
        async with local_client(server.base_url) as model:
            times: list[float] = []
            good = 0
            for _ in range(turns):
                t0 = time.monotonic()
                turn = await model.complete(ASK, [TOOL])
                times.append(time.monotonic() - t0)
                calls = turn.message.tool_calls
                good += (
                    bool(calls) and calls[0].name == "get_pet" and _well_formed(calls[0].arguments)
                )
    warm = statistics.median(times[1:]) if len(times) > 1 else float("nan")
    print(
        f"threads={threads}: start-up {startup:.2f} s, first turn {times[0]:.2f} s, "
        f"warm median {warm:.2f} s, well-formed get_pet calls {good}/{turns}, "
        f"prompt {turn.usage.prompt_tokens} tokens, load average {os.getloadavg()[0]:.2f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--turns", type=int, default=5)
    args = parser.parse_args()
    if not local_model_available():
        print("the local model is not installed: make setup-local")
        return 1
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} before")
    for threads in args.threads:
        asyncio.run(measure(threads, args.turns))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
