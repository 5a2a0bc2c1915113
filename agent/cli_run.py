"""``baton run TASK --spec SPEC...``: one task, start to finish, without the shell.

Owns the command's arguments and output; the work is ``Agent.run``. There is no one to ask
for approval, so side effects are denied unless ``--yes`` approves them all. Output: the answer
on stdout and a short summary of the calls on stderr (so ``baton run ... > answer.txt`` keeps
only the answer), or with ``--json`` the whole ``RunResult`` as JSON on stdout. Every run is
saved in the run store (``--no-save`` skips it) so ``baton workflow export RUN`` can use it.

Exit status: 0 answered; 1 the run failed (a limit, a model error); 2 bad input (an unreadable
spec, no usable model configuration, missing credentials, a host the policy refuses), with one
``error: ...`` line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys

from agent.agent import Agent, RunResult
from agent.cli import UsageError
from agent.errors import ModelConfigError
from agent.planner import Limits
from agent.runstore import RunStore, RunStoreError
from agent.transcript import ToolCallStep
from tools.errors import CredentialsError, HostNotAllowedError, SpecError
from tools.policy import Policy

# Errors that say the command was given something unusable, not that the task failed.
_BAD_INPUT = (CredentialsError, HostNotAllowedError, SpecError)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("task", help="what to do, in plain words")
    parser.add_argument(
        "--spec", action="append", required=True, metavar="SPEC",
        help="an OpenAPI description (path or URL); repeat for several APIs",
    )  # fmt: skip
    parser.add_argument("--model", help="model name (default: $BATON_MODEL or the local model)")
    parser.add_argument("--server", metavar="URL", help="send every call to this base URL")
    parser.add_argument("--yes", action="store_true", help="approve calls that change data")
    parser.add_argument("--json", action="store_true", help="print the whole run as JSON")
    parser.add_argument("--max-turns", type=int, default=Limits().max_turns, metavar="N")
    parser.add_argument("--no-save", action="store_true", help="do not save the run")


def run(args: argparse.Namespace) -> int:
    if not args.task.strip():
        raise UsageError("the task is empty")
    if args.max_turns < 1:
        raise UsageError("--max-turns must be at least 1")
    result = asyncio.run(_run(args))
    if args.json:
        sys.stdout.write(json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n")
    else:
        _print_summary(result)
    return exit_status(result)


def exit_status(result: RunResult) -> int:
    """0 answered; 2 when the run stopped on bad input (credentials, hosts); else 1."""
    if result.ok:
        return 0
    cause = result.exception.__cause__ if result.exception is not None else None
    return 2 if isinstance(cause, _BAD_INPUT) else 1


async def _run(args: argparse.Namespace) -> RunResult:
    from agent.config import open_model  # lazy: keeps `baton --help` fast

    store = None if args.no_save else RunStore()
    if store is not None:
        try:
            store.check()  # a broken store is found before the model spends tokens
        except RunStoreError as exc:
            raise UsageError(f"{exc} (pass --no-save to run without saving)") from exc
    try:
        model = open_model(args.model)
    except ModelConfigError as exc:
        raise UsageError(str(exc)) from exc
    try:
        agent = Agent(
            args.spec,
            model=model,
            server=args.server,
            policy=Policy(approve_side_effects=args.yes),
            limits=Limits(max_turns=args.max_turns),
            run_store=store,
        )
        async with agent:
            return await agent.run(args.task)
    finally:
        await model.aclose()


# C0 controls but newline and tab, DEL, and C1 controls (0x9b is an 8-bit CSI).
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_safe(text: str) -> str:
    """``text`` with control characters shown as ``\\uXXXX`` escapes.

    Tool names, errors and answers come from the model and, through it, from API responses;
    printed raw, an ESC sequence can retitle, clear or repaint the user's terminal.
    """
    return _CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _print_summary(result: RunResult) -> None:
    for step in result.calls:
        sys.stderr.write(f"  {terminal_safe(_describe(step))}\n")
    usage = result.usage
    sys.stderr.write(
        f"run {result.transcript.run_id}: {len(result.calls)} call(s), "
        f"{usage.total_tokens} tokens\n"
    )
    if result.ok:
        answer = result.answer or ""
        # Piped, the answer is the model's text exactly; on a terminal, made harmless.
        sys.stdout.write((terminal_safe(answer) if sys.stdout.isatty() else answer) + "\n")
    else:
        sys.stderr.write(f"error: {terminal_safe(str(result.error))}\n")


def _describe(step: ToolCallStep) -> str:
    if step.result is not None:
        request = step.attempts[-1] if step.attempts else None
        where = f"{request.method} {request.url}" if request else step.tool
        return f"{step.tool}: {where} -> {step.result.status} ({step.elapsed_ms:.0f} ms)"
    if step.request is not None:
        return f"{step.tool}: {step.request.method} {step.request.url} (dry run, not sent)"
    return f"{step.tool}: {step.error_type or 'done'}"
