"""``baton call SPEC TOOL [--args JSON] [--server URL] [--dry-run] [--yes]``: one validated call.

Owns the command line around ``Executor.call``: reading the arguments, printing the result as
JSON (``status``, ``headers``, ``body``, ``attempts``, ``elapsed_ms``, plus ``warnings`` and
``binary`` when present) or, with ``--dry-run``, the prepared request (``method``, ``url``,
``headers`` with secrets redacted, ``body``, ``media_type``) without sending anything.
``--timeout SECONDS`` is one deadline for the whole call, retries and waits included.
``--args`` is strict JSON: ``NaN`` and ``Infinity``, which Python's json reads, are refused.

Exit status (DESIGN.md): 2 for bad input, with one ``error:`` line naming what is wrong (bad
``--args`` JSON, invalid arguments, unknown tool, missing credentials, bad spec, a host the
policy refuses, as ``baton run`` does); 1 when the call did not succeed: a side effect not
approved (there is no one to ask here, so the error says to pass ``--yes``), a transport
failure after retries, a redirect to a host the policy refuses (the API's doing, not the
user's), or an HTTP status of 400 and above (the JSON is printed first: a status
is a result, the exit code lets scripts notice it); 0 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import math
import sys
from pathlib import Path

from agent.cli import UsageError
from tools.cache import load_catalog
from tools.call import CallResult, PreparedRequest
from tools.catalog import Catalog
from tools.errors import CallError, SideEffectDeniedError
from tools.executor import Executor, ExecutorSettings
from tools.model import JSONObject, JSONValue
from tools.policy import Policy


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="SPEC", help="spec file or URL (JSON/YAML)")
    parser.add_argument("tool", metavar="TOOL", help="tool name, as `baton tools` lists it")
    parser.add_argument(
        "--args",
        default="{}",
        metavar="JSON",
        help="arguments as a JSON object; @FILE reads them from a file, @- from stdin",
    )
    parser.add_argument("--server", metavar="URL", help="send to this server instead of the spec's")
    parser.add_argument("--dry-run", action="store_true", help="print the request, send nothing")
    parser.add_argument("--yes", action="store_true", help="approve a call that changes data")
    parser.add_argument(
        "--timeout",
        type=float,
        default=ExecutorSettings.total_timeout,
        metavar="SECONDS",
        help="give up after this long, retries and waits included (default: %(default)gs)",
    )
    parser.add_argument(
        "--files-root",
        metavar="DIR",
        type=Path,
        help="directory multipart file parts may come from",
    )


def run(args: argparse.Namespace) -> int:
    settings = _settings(args.timeout)
    arguments = parse_arguments(args.args)
    catalog = load_catalog(args.spec, server=args.server)
    policy = Policy(approve_side_effects=args.yes)
    try:
        outcome = asyncio.run(_call(catalog, args, arguments, policy, settings))
    except (SideEffectDeniedError, CallError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    _print(render(outcome))
    if isinstance(outcome, CallResult) and outcome.status >= 400:
        return 1
    return 0


def _settings(timeout: float) -> ExecutorSettings:
    """``--timeout`` is the whole call's deadline; no single connect or read may outlast it."""
    if not (math.isfinite(timeout) and timeout > 0):
        raise UsageError(f"--timeout must be a positive number of seconds, got {timeout:g}")
    base = ExecutorSettings()
    return dataclasses.replace(
        base,
        total_timeout=timeout,
        connect_timeout=min(base.connect_timeout, timeout),
        read_timeout=min(base.read_timeout, timeout),
    )


async def _call(
    catalog: Catalog,
    args: argparse.Namespace,
    arguments: JSONObject,
    policy: Policy,
    settings: ExecutorSettings,
) -> CallResult | PreparedRequest:
    async with Executor(
        catalog, policy=policy, server=args.server, files_root=args.files_root, settings=settings
    ) as executor:
        return await executor.call(args.tool, arguments, dry_run=args.dry_run)


def parse_arguments(text: str) -> JSONObject:
    """The ``--args`` value as a JSON object (``@FILE`` and ``@-`` read it from a file/stdin)."""
    source = "--args"
    if text.startswith("@"):
        source = text[1:]
        try:
            text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read --args from {source}: {exc.strerror or exc}") from exc

    def refuse(name: str) -> JSONValue:
        # Python's json reads NaN/Infinity/-Infinity; JSON has no such values, and a body
        # holding one would be sent as something no server parses as JSON.
        raise UsageError(f"{source} is not valid JSON: {name} is not a JSON value")

    try:
        value = json.loads(text, parse_constant=refuse)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{source} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    if not isinstance(value, dict):
        raise UsageError(f"{source} must be a JSON object of arguments, got {type(value).__name__}")
    return value


def render(outcome: CallResult | PreparedRequest) -> JSONObject:
    if isinstance(outcome, PreparedRequest):
        return {
            "method": outcome.method,
            "url": outcome.url,
            "headers": outcome.headers,
            "body": outcome.body,
            "media_type": outcome.media_type,
        }
    out: JSONObject = {
        "status": outcome.status,
        "headers": outcome.headers,
        "body": outcome.body,
        "attempts": [a.model_dump(exclude={"kind", "tool"}) for a in outcome.attempts],
        "elapsed_ms": outcome.elapsed_ms,
    }
    if outcome.warnings:
        out["warnings"] = outcome.warnings
    if outcome.binary is not None:
        out["binary"] = outcome.binary.model_dump()
    return out


def _print(value: JSONValue) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")
