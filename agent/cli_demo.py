"""``baton demo``: the whole loop offline: the demo API, its spec, a model, the shell.

Owns starting the bundled demo API (``agent.demo_api``) on a free 127.0.0.1 port, pointing
the bundled ``specs/demo.yaml`` at it (``--server``), opening the configured model or the
bundled local one, and either opening the shell with suggested tasks or, with ``--task``,
running one task without a shell (for CI and scripts):

    baton demo                                  # the shell, on the demo API
    baton demo --task "list the team members"   # one task, then exit (0 done, 1 failed)
    baton demo --task "close task 3" --yes      # side effects allowed without asking

The demo API is started with a fresh random API key which Baton receives through
``BATON_AUTH_API_KEY`` (unless that is already set), so credentials are exercised for real and
never shown: ``/auth`` reports it as set.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets

from rich.console import Console
from rich.text import Text

from agent.cli import UsageError
from agent.cli_chat import OpenedModel, add_model_arguments, open_shell_model, until_terminated
from agent.demo_api import DemoServer
from agent.errors import AgentError
from agent.local_model import LocalModel
from agent.resources import demo_spec
from agent.shell import Approve, Shell, ShellOptions
from agent.terminal import SafeConsole

KEY_ENV = "BATON_AUTH_API_KEY"  # the demo spec's security scheme is named api_key

# Simple, single-call tasks first: what a 135M local model has a chance with. Measured with
# SmolLM2-135M: it picks the right tool for the first three (its arguments and its answers
# are often poor); the rest need a more capable model.
SUGGESTED_TASKS = (
    "list the projects",
    "list the team members",
    "get task 3",
    "list the open tasks labelled bug",
    "add a comment 'on it' to task 1",
    "find the three newest open bug tasks and comment a short summary on the newest one",
)


def configure(parser: argparse.ArgumentParser) -> None:
    add_model_arguments(parser)
    parser.add_argument("--task", metavar="TEXT", help="run this one task and exit (no shell)")
    parser.add_argument(
        "--yes", action="store_true", help="with --task: allow side effects without asking"
    )
    parser.add_argument(
        "--port", type=int, default=0, help="port of the demo API (default: a free one)"
    )


def run(args: argparse.Namespace) -> int:
    if args.yes and not args.task:
        raise UsageError("--yes goes with --task; the shell asks before each side effect")
    return asyncio.run(until_terminated(_demo(args)))


async def _demo(args: argparse.Namespace) -> int:
    console = SafeConsole(highlight=False)
    key = os.environ.get(KEY_ENV) or secrets.token_urlsafe(18)
    os.environ[KEY_ENV] = key
    try:
        server = DemoServer(args.port, api_key=key)
    except OSError as exc:
        raise UsageError(f"cannot start the demo API on port {args.port}: {exc.strerror}") from exc
    with server:
        approve: Approve = "ask" if args.task is None else ("yes" if args.yes else "no")
        options = ShellOptions(specs=[str(demo_spec())], server=server.base_url, approve=approve)
        shell = Shell(options, console=console)
        shell.set_model(open_shell_model(args.model))
        await _warm_up(shell)
        try:
            if args.task is not None:
                return await _one_task(shell, args.task)
            _introduce(console, server.base_url)
            return await shell.loop()
        finally:
            await shell.aclose()


async def _one_task(shell: Shell, task: str) -> int:
    if shell.model is None:
        raise UsageError(shell.no_model_text().splitlines()[0])
    shell.console.print(Text(f"task: {task}", style="bold"))
    result = await shell.run_task(task)
    if result is None or not result.ok:
        return 1
    return 0


async def _warm_up(shell: Shell) -> None:
    """Start the local model's server now, so the first task does not wait for it."""
    if not isinstance(shell.model, LocalModel):
        return
    try:
        with shell.console.status("starting the local model …"):
            await shell.model.start()
    except AgentError as exc:
        await shell.model.aclose()
        shell.set_model(OpenedModel(None, error=f"no model: {exc}"))


def _introduce(console: Console, base_url: str) -> None:
    console.print(
        Text(f"Demo API (team tasks) running on {base_url}; spec: specs/demo.yaml", style="bold")
    )
    console.print("Try one of these (simple ones first; the local model is tiny):")
    for task in SUGGESTED_TASKS:
        console.print(f"  • {task}", markup=False)
