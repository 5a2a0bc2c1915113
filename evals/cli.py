"""``baton eval SUITE|CASE... [--model NAME] [--report FILE.json] [--junit FILE.xml] [--record]``.

Runs cases with a progress bar, prints the table, writes the reports, and exits 1 when a case
fails or a score falls below ``--baseline``. Lives in evals (above agent in the layering); the
dispatcher in ``agent.cli`` names this module by path only.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from agent.cli import UsageError
from evals.case import CaseError, load_targets
from evals.report import (
    BaselineError,
    below_baseline,
    load_baseline,
    render_table,
    write_json,
    write_junit,
)
from evals.restbench import import_restbench
from evals.runner import RunOptions, run_cases
from evals.scoring import CaseScore, SuiteScore


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("targets", nargs="*", type=Path, metavar="SUITE|CASE")
    parser.add_argument("--model", help="live model for cases that run live")
    parser.add_argument("--report", type=Path, help="write the JSON report here")
    parser.add_argument("--junit", type=Path, help="write a JUnit XML report here")
    parser.add_argument("--baseline", type=Path, help="JSON of minimum suite scores")
    parser.add_argument("--record", action="store_true", help="run live and write cassettes")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--import-restbench",
        nargs=3,
        type=Path,
        metavar=("DATASET", "SPEC", "OUT_DIR"),
        help="turn a RestBench-style dataset into a suite of live-model cases",
    )


def run(args: argparse.Namespace) -> int:
    if args.import_restbench:
        dataset, spec, out_dir = args.import_restbench
        try:
            written = import_restbench(dataset, spec, out_dir)
        except CaseError as exc:
            raise UsageError(str(exc)) from exc
        print(f"wrote {len(written)} cases to {out_dir / 'cases'}")
        return 0
    if not args.targets:
        raise UsageError("name at least one suite folder or case file")
    try:
        cases = load_targets(list(args.targets))
    except CaseError as exc:
        raise UsageError(str(exc)) from exc
    try:
        baseline = load_baseline(args.baseline) if args.baseline is not None else None
    except BaselineError as exc:
        raise UsageError(str(exc)) from exc
    for output in (args.report, args.junit):  # checked before the suite spends its time
        if output is not None and output.is_dir():
            raise UsageError(f"{output}: is a directory; name a file for the report")
    console = Console(stderr=True)
    options = RunOptions(record=args.record, model=args.model, concurrency=args.concurrency)
    with Progress(
        TextColumn("eval"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("", total=len(cases))

        def done(score: CaseScore) -> None:
            progress.update(task, advance=1, description=score.name)

        try:
            scores = asyncio.run(run_cases(cases, options, on_done=done))
        except CaseError as exc:
            raise UsageError(str(exc)) from exc
    suite = SuiteScore.of(scores)
    render_table(suite, Console())
    try:
        if args.report:
            write_json(suite, args.report)
        if args.junit:
            write_junit(suite, args.junit)
    except OSError as exc:
        raise UsageError(f"{exc.filename}: cannot write the report: {exc.strerror}") from exc
    failed = [c.name for c in scores if not c.passed]
    problems = below_baseline(suite, baseline) if baseline is not None else []
    for problem in problems:
        console.print(f"[red]below baseline:[/] {problem}")
    return 1 if failed or problems else 0
