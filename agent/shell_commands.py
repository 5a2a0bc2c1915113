"""The shell's slash commands: one function per command, dispatched by name.

Owns what each command does with the session (``agent.shell.Shell``) and how it reports
mistakes (one red line naming the tool, argument or file; the shell stays). It never prints a
credential: ``/auth`` names the variables and says whether each is set, nothing more.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

from agent.errors import AgentError
from agent.shell_render import call_result, describe_tool, prepared_request, tools_table, trace_tree
from tools.call import PreparedRequest
from tools.credentials import FILE_VARIABLE, variables_for
from tools.errors import ToolsError

if TYPE_CHECKING:
    from agent.shell import Shell

Command = Callable[["Shell", str], Awaitable[bool | None]]

MAX_LISTED = 100

COMMANDS: dict[str, str] = {
    "/tools": "list the tools, or search them: /tools [TEXT]",
    "/describe": "show a tool's description and argument schema: /describe TOOL",
    "/call": "call a tool yourself: /call TOOL {json arguments}",
    "/trace": "the last run as a tree of steps and HTTP attempts",
    "/specs": "the loaded API descriptions",
    "/spec": "load another API description: /spec add PATH|URL",
    "/model": "show the model, or switch: /model [NAME]",
    "/auth": "which credentials are set for each security scheme (never their values)",
    "/save": "export the last run as an Arazzo workflow: /save FILE",
    "/reset": "forget the conversation and 'always' approvals",
    "/help": "this list",
    "/exit": "leave the shell (Ctrl-D too)",
}


async def dispatch(shell: Shell, line: str) -> bool:
    """Run one slash command line. Returns False when the shell should exit."""
    name, rest = _split(line)
    handler = _HANDLERS.get(name)
    if handler is None:
        close = [c for c in COMMANDS if c.startswith(name[:3])] if len(name) > 1 else []
        hint = f"; did you mean {', '.join(close)}?" if close else "; /help lists them"
        _error(shell, f"unknown command {name}{hint}")
        return True
    try:
        keep = await handler(shell, rest.strip())
    except (ToolsError, AgentError) as exc:
        _error(shell, str(exc))
        return True
    except Exception as exc:  # a command's failure must not end the session
        _error(shell, f"{type(exc).__name__}: {exc}")
        return True
    return keep is not False


def _split(text: str) -> tuple[str, str]:
    """First word and the rest; any whitespace separates (multi-line input has newlines)."""
    parts = text.split(None, 1)
    return (parts[0], parts[1]) if len(parts) == 2 else (text.strip(), "")


def _error(shell: Shell, message: str) -> None:
    shell.console.print(Text(f"error: {message}", style="red"))


async def _tools(shell: Shell, arg: str) -> None:
    if not arg:
        names = shell.catalog.names()
        title = f"{len(names)} tools"
        if len(names) > MAX_LISTED:  # GitHub has 1,223: a search is more use than a scroll
            title += f", the first {MAX_LISTED} (search with /tools TEXT)"
        # Only the listed tools are built: a cached catalog builds each on first use, and
        # Graph's 11k would take seconds to show a hundred.
        tools = [shell.catalog.get(name) for name in names[:MAX_LISTED]]
        shell.console.print(tools_table(tools, title=title))
        return
    hits = shell.catalog.search(arg, limit=15)
    if not hits:
        shell.console.print(f"no tool matches {arg!r}", markup=False)
        return
    shell.console.print(tools_table(hits, title=f"tools matching {arg!r}"))


async def _describe(shell: Shell, arg: str) -> None:
    if not arg:
        _error(shell, "usage: /describe TOOL")
        return
    shell.console.print(describe_tool(shell.catalog.get(arg.split()[0])))


async def _call(shell: Shell, arg: str) -> None:
    name, raw = _split(arg)
    if not name:
        _error(shell, "usage: /call TOOL {json arguments}")
        return
    shell.catalog.get(name)  # unknown tool: the error suggests close names
    try:
        args = json.loads(raw) if raw.strip() else {}
    except json.JSONDecodeError as exc:
        _error(shell, f"/call {name}: arguments are not JSON: {exc.msg} at column {exc.colno}")
        return
    if not isinstance(args, dict):
        _error(shell, f"/call {name}: arguments must be a JSON object")
        return
    outcome = await shell.executor.call(name, args)  # Ctrl-C: the shell cancels the command
    if isinstance(outcome, PreparedRequest):
        shell.console.print(prepared_request(outcome, title=f"dry run of {name}: not sent"))
    else:
        shell.console.print(call_result(outcome))


async def _trace(shell: Shell, arg: str) -> None:
    if shell.last is None:
        shell.console.print("no run yet: type a task first")
        return
    shell.console.print(trace_tree(shell.last))


async def _specs(shell: Shell, arg: str) -> None:
    if not shell.catalogs:
        shell.console.print("no spec loaded: /spec add PATH|URL")
        return
    table = Table(title="specs", title_justify="left")
    for column in ("source", "title", "tools", "warnings"):
        table.add_column(column)
    for source, catalog in zip(shell.specs, shell.catalogs, strict=True):
        table.add_row(source, catalog.title, str(len(catalog)), str(len(catalog.warnings)))
    shell.console.print(table)
    if shell.server:
        shell.console.print(f"server: {shell.server} (--server)", markup=False)


async def _spec(shell: Shell, arg: str) -> None:
    verb, source = _split(arg)
    if verb != "add" or not source.strip():
        _error(shell, "usage: /spec add PATH|URL")
        return
    path = shlex.split(source)[0]
    catalog = await asyncio.to_thread(lambda: shell.add_spec(os.path.expanduser(path)))
    note = f", {len(catalog.warnings)} warnings" if catalog.warnings else ""
    shell.console.print(
        f"loaded {catalog.title or path}: {len(catalog)} tools{note}; "
        f"{len(shell.catalog)} tools in all (the conversation starts anew)",
        markup=False,
    )


async def _model(shell: Shell, arg: str) -> None:
    if arg:
        from agent.cli_chat import open_shell_model

        old = shell.model
        opened = open_shell_model(arg)
        if opened.client is None:
            _error(shell, opened.error or f"cannot open model {arg}")
            return
        shell.set_model(opened)
        if old is not None:
            await old.aclose()
    if shell.model is None:
        shell.console.print(shell.no_model_text(), style="yellow", markup=False)
        return
    info = f" ({shell.model_info})" if shell.model_info else ""
    shell.console.print(f"model: {shell.model.model}{info}", markup=False)


async def _auth(shell: Shell, arg: str) -> None:
    schemes = shell.catalog.security_schemes
    if not schemes:
        shell.console.print("the loaded specs declare no security schemes")
        return
    table = Table(title="credentials (values are never shown)", title_justify="left")
    for column in ("scheme", "type", "variable", "state"):
        table.add_column(column)
    for scheme in schemes.values():
        kind = scheme.type + (f" {scheme.scheme}" if scheme.scheme else "")
        if scheme.type == "apiKey":
            kind += f" ({scheme.location} {scheme.param_name})"
        for variable in variables_for(scheme):
            state = Text("set", style="green") if os.environ.get(variable) else Text("unset")
            table.add_row(scheme.name, kind, variable, state)
    shell.console.print(table)
    path = os.environ.get(FILE_VARIABLE)
    if path:
        shell.console.print(f"credentials file: {path} (${FILE_VARIABLE})", markup=False)


async def _save(shell: Shell, arg: str) -> None:
    if not arg:
        _error(shell, "usage: /save FILE  (.yaml, or .json)")
        return
    if shell.last is None:
        _error(shell, "no run to save yet: run a task first")
        return
    from agent.export import save_workflow  # lazy: only /save needs the exporter

    last, catalogs = shell.last, list(shell.catalogs)
    path = await asyncio.to_thread(lambda: save_workflow(last, catalogs, os.path.expanduser(arg)))
    shell.console.print(
        f"saved the last run as an Arazzo workflow: {path}; "
        f"replay it with: baton workflow run {path}",
        markup=False,
    )


async def _reset(shell: Shell, arg: str) -> None:
    shell.reset()
    shell.console.print("conversation forgotten; 'always' approvals cleared")


async def _help(shell: Shell, arg: str) -> None:
    table = Table(show_header=False, box=None)
    for name, help_text in COMMANDS.items():
        table.add_row(Text(name, style="bold"), help_text)
    shell.console.print(table)
    shell.console.print(
        "Anything else is a task for the model. Enter sends; Esc Enter or a trailing \\ "
        "adds a line; Tab completes; Ctrl-C stops a task; Ctrl-D leaves.",
        markup=False,
    )


async def _exit(shell: Shell, arg: str) -> bool:
    return False


_HANDLERS: dict[str, Command] = {
    "/tools": _tools,
    "/describe": _describe,
    "/call": _call,
    "/trace": _trace,
    "/specs": _specs,
    "/spec": _spec,
    "/model": _model,
    "/auth": _auth,
    "/save": _save,
    "/reset": _reset,
    "/help": _help,
    "/exit": _exit,
    "/quit": _exit,
}
