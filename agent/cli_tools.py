"""``baton tools SPEC... [--search TEXT] [--format table|openai|json] [--server URL]``.

Owns listing the tools of one or more specs (merged into one catalog, as the agent sees them):
a rich table for people, ``openai`` for the exact ``tools`` array the model receives, ``json``
for the catalog itself. Start-up is kept lean on purpose (GitHub's 1,223 tools must list in
under a second as a whole process): rich is imported only for the table, and nothing here
imports the openai SDK.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence

from pydantic_core import to_json

from agent.cli import UsageError
from tools.cache import load_catalog
from tools.catalog import Catalog
from tools.search import ToolBrief

FORMATS = ("table", "openai", "json")
COLUMNS = ("name", "method", "path", "side effect", "summary")
# Above this many rows the table is printed as plain aligned text (see _print_plain_table).
RICH_MAX_ROWS = 300


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("specs", nargs="+", metavar="SPEC", help="spec file or URL (JSON/YAML)")
    parser.add_argument("--search", metavar="TEXT", help="rank tools by relevance to TEXT")
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format")
    parser.add_argument("--server", metavar="URL", help="override the specs' servers")
    parser.add_argument("--limit", type=int, metavar="N", help="show at most N tools")
    parser.add_argument(
        "--strict", action="store_true", help="openai format: strict-mode schemas where possible"
    )
    parser.add_argument("--no-cache", action="store_true", help="ingest without the disk cache")


def run(args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit < 1:
        raise UsageError(f"--limit must be at least 1, got {args.limit}")
    catalog = Catalog.merge(
        [load_catalog(s, server=args.server, use_cache=not args.no_cache) for s in args.specs]
    )
    names = select(catalog, args.search, args.limit)
    if args.format == "openai":
        _print_json(catalog.to_openai(names, strict=args.strict))
    elif args.format == "json":
        _print_json(_subset(catalog, names).to_json())
    elif not names and args.search:
        sys.stderr.write(f"no tool matches {args.search!r} among {len(catalog)} tools\n")
    else:
        _print_table(catalog, names, searched=bool(args.search))
    return 0


def select(catalog: Catalog, query: str | None, limit: int | None) -> list[str]:
    """Names of the tools to show: the best matches for ``query`` (10 unless ``limit``), else
    all. Names, not tools: a cached catalog builds a tool's schemas only when they are printed.
    """
    if query:
        return [hit.tool.name for hit in catalog.search(query, limit=limit or 10)]
    names = catalog.names()
    return names if limit is None else names[:limit]


def _subset(catalog: Catalog, names: Sequence[str]) -> Catalog:
    if len(names) == len(catalog):
        return catalog
    return Catalog(
        [catalog.get(name) for name in names],
        security_schemes=catalog.security_schemes,
        title=catalog.title,
        source=catalog.source,
        spec_hash=catalog.spec_hash,
        warnings=catalog.warnings,
    )


def _print_json(data: object) -> None:
    # pydantic-core's Rust encoder: json.dumps with indent falls back to the pure-Python
    # encoder, which alone took ~0.4 s of a 0.8 s run on GitHub's catalog.
    sys.stdout.flush()
    sys.stdout.buffer.write(to_json(data, indent=2) + b"\n")
    sys.stdout.buffer.flush()


def _print_table(catalog: Catalog, names: Sequence[str], *, searched: bool) -> None:
    title = f"{catalog.title or catalog.source}: {len(names)} of {len(catalog)} tools"
    briefs = [catalog.brief(name) for name in names]
    rows = [(b.name, b.method, b.path, b.side_effect, _headline(b)) for b in briefs]
    if len(rows) <= RICH_MAX_ROWS:
        _print_rich_table(title, rows)
    else:
        _print_plain_table(title, rows)
    if not searched:  # skipped operations, on stderr so the table itself stays clean
        for warning in catalog.warnings:
            sys.stderr.write(f"warning: {warning}\n")


def _headline(brief: ToolBrief) -> str:
    """The summary, or the first line of the description when the spec gives no summary."""
    if brief.summary:
        return brief.summary
    lines = brief.description.strip().splitlines()
    return lines[0] if lines else ""


def _print_rich_table(title: str, rows: Sequence[tuple[str, ...]]) -> None:
    from rich.console import Console  # lazy: rich costs ~0.1 s to import
    from rich.table import Table

    table = Table(title=title)
    for column in COLUMNS:
        table.add_column(column, overflow="fold" if column != "summary" else "ellipsis")
    for row in rows:
        table.add_row(*row)
    Console(emoji=False, highlight=False).print(table, markup=False)


def _print_plain_table(title: str, rows: Sequence[tuple[str, ...]]) -> None:
    """Aligned columns without rich: rich needs ~1 s to lay out GitHub's 1,223 rows, which
    alone would break the one-second budget of the whole command."""
    widths = [max(len(column), *(len(row[i]) for row in rows)) for i, column in enumerate(COLUMNS)]
    room: int | None = None
    if sys.stdout.isatty():  # on a terminal, cut the summary at the edge instead of wrapping
        room = max(20, shutil.get_terminal_size().columns - sum(widths[:-1]) - 2 * len(widths))
    out = [title, ""]
    for row in [COLUMNS, tuple("-" * w for w in widths), *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=False)]
        summary = row[-1] if room is None or len(row[-1]) <= room else row[-1][: room - 1] + "…"
        out.append("  ".join([*cells, summary]).rstrip())
    sys.stdout.write("\n".join(out) + "\n")
