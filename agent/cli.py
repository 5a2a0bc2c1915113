"""The ``baton`` command: argument parsing and dispatch to one module per subcommand.

Subcommand modules are imported lazily so that ``baton tools`` does not pay for the openai SDK
or the shell at start-up (GitHub's catalog must load cold in under a second as a whole
process). ``eval`` lives in ``evals.cli`` because evals sit above agent in the layering; it is
named here by module path only, never imported at module level.

Exit status: 0 done; 1 the task or a check failed; 2 bad usage or bad input, with one
``error: ...`` line on stderr and no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn, Protocol

from agent.errors import AgentError, ModelConfigError
from tools.errors import ToolsError

# name -> (module, one-line help). Each module defines ``configure(parser)`` and
# ``run(args) -> int``.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "tools": ("agent.cli_tools", "list the tools generated from API descriptions"),
    "call": ("agent.cli_call", "make one validated call to a tool"),
    "run": ("agent.cli_run", "run one task with the model, no shell"),
    "chat": ("agent.cli_chat", "open the interactive shell"),
    "demo": ("agent.cli_demo", "the whole loop offline: demo API, local model, shell"),
    "eval": ("evals.cli", "run eval suites or cases"),
    "workflow": ("agent.cli_workflow", "run or export Arazzo workflows"),
}


class UsageError(Exception):
    """Bad usage or input detected by a subcommand; reported as ``error: ...``, exit 2."""


class _Subcommand(Protocol):
    def configure(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse prints usage plus a message and exits 2; keep one clear line instead.
        sys.stderr.write(f"error: {message}\n")
        raise SystemExit(2)


def _load(name: str) -> _Subcommand:
    module: _Subcommand = importlib.import_module(SUBCOMMANDS[name][0])
    return module


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = _Parser(prog="baton", description="Orchestrate HTTP APIs from natural language.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    wanted = next((a for a in argv if not a.startswith("-")), None)
    for name, (_, help_text) in SUBCOMMANDS.items():
        child = sub.add_parser(name, help=help_text, description=help_text)
        if name == wanted:  # configure only the chosen subcommand: keeps start-up lazy
            _load(name).configure(child)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser(argv)
        args = parser.parse_args(argv)
        return _load(args.command).run(args)
    except (UsageError, ToolsError, ModelConfigError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    except AgentError as exc:  # the model provider failed or a run limit ended the task
        sys.stderr.write(f"error: {exc}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130


if __name__ == "__main__":
    # Run as ``python -m agent.cli`` this module is ``__main__``; call the imported module's
    # ``main`` so subcommands raising ``agent.cli.UsageError`` are caught by the same class.
    from agent.cli import main as cli_main

    sys.exit(cli_main())
