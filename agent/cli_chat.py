"""``baton chat [--spec SPEC...] [--model NAME] [--server URL]``: the interactive shell.

Owns the command's arguments and opening the model for the shell: ``script:PATH`` plays a
model script (``agent.script_model``, for tests driving the real process), anything else goes
through ``agent.config.open_model`` (OPENAI_API_KEY / OPENAI_BASE_URL / BATON_MODEL, falling
back to the bundled local model). A model that cannot be opened is not fatal: the shell starts
without one, says why, and the manual commands work. A spec that cannot be loaded is fatal
(exit 2 with ``error: ...``) because the user named it explicitly.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path

from agent.errors import AgentError
from agent.llm import ModelClient
from agent.script_model import ScriptFileModel, script_path
from agent.shell import Shell, ShellOptions


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        metavar="NAME",
        help="model name (default: $BATON_MODEL, else the configured or local model); "
        "script:PATH plays a model script",
    )


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--spec",
        action="append",
        default=[],
        metavar="SPEC",
        help="an OpenAPI/Swagger file or URL (repeat for several)",
    )
    add_model_arguments(parser)
    parser.add_argument(
        "--server", metavar="URL", help="send calls to this base URL instead of the spec's servers"
    )
    parser.add_argument(
        "--history", type=Path, metavar="FILE", help="history file (default: in $BATON_HOME)"
    )


@dataclass(frozen=True)
class OpenedModel:
    client: ModelClient | None
    error: str | None = None  # why there is no model, for the user
    description: str = ""  # where the model comes from (never a key)


def open_shell_model(name: str | None) -> OpenedModel:
    """The model for a shell, or None and the reason (shown to the user) when there is none.

    No I/O: a local model's server starts on its first request.
    """
    path = script_path(name or os.environ.get("BATON_MODEL"))
    try:
        if path is not None:
            model = ScriptFileModel.load(path)
            return OpenedModel(model, description=f"model script {path}")
        from agent.config import client_for, resolve_model_settings  # lazy: openai SDK import

        settings = resolve_model_settings(name)
        return OpenedModel(client_for(settings), description=settings.describe())
    except AgentError as exc:
        return OpenedModel(None, error=f"no model: {exc}")


def run(args: argparse.Namespace) -> int:
    return asyncio.run(until_terminated(_chat(args)))


async def until_terminated(job: Coroutine[object, object, int]) -> int:
    """Run ``job``; SIGTERM or SIGHUP (terminal closed) cancel it so its cleanup runs.

    Without this, ``kill`` or a closed terminal would skip the ``finally`` blocks and leave
    the local model's server (a child process) running.
    """
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    assert main is not None
    for signum in (signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(signum, main.cancel)
    try:
        return await job
    except asyncio.CancelledError:
        return 128 + signal.SIGTERM
    finally:
        for signum in (signal.SIGTERM, signal.SIGHUP):
            loop.remove_signal_handler(signum)


async def _chat(args: argparse.Namespace) -> int:
    options = ShellOptions(specs=list(args.spec), server=args.server, history=args.history)
    shell = Shell(options)  # loads the specs first: a bad spec fails before a model starts
    shell.set_model(open_shell_model(args.model))
    try:
        return await shell.loop()
    finally:
        await shell.aclose()
