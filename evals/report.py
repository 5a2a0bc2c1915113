"""Eval reports: JSON, JUnit XML, the terminal table, and the baseline gate.

The JSON report is ``SuiteScore`` as JSON (its JSON Schema is ``SuiteScore.model_json_schema()``).
The JUnit file has one ``testcase`` per case, a ``failure`` element carrying the reasons, so CI
systems show eval results like tests. A baseline file holds minimum suite scores; falling below
any of them fails the run.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from rich.console import Console
from rich.table import Table

from evals.scoring import SuiteScore


def write_json(score: SuiteScore, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(score.model_dump_json(indent=2) + "\n", encoding="utf-8")


def junit_xml(score: SuiteScore, suite_name: str = "baton-eval") -> str:
    failures = sum(not c.passed for c in score.cases)
    root = ET.Element(
        "testsuite",
        name=suite_name,
        tests=str(len(score.cases)),
        failures=str(failures),
        errors="0",
        time=f"{score.total_latency_ms / 1000:.3f}",
    )
    for case in score.cases:
        node = ET.SubElement(
            root,
            "testcase",
            classname=suite_name,
            name=case.name,
            time=f"{case.latency_ms / 1000:.3f}",
        )
        if not case.passed:
            failure = ET.SubElement(node, "failure", message=case.reasons[0][:200])
            failure.text = "\n".join(case.reasons)
        props = ET.SubElement(node, "system-out")
        props.text = json.dumps(
            {"calls": case.calls, "extra_calls": case.extra_calls, "tokens": case.tokens}
        )
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


def write_junit(score: SuiteScore, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(junit_xml(score) + "\n", encoding="utf-8")


BASELINE_KEYS = ("success_rate", "correct_path_rate")


class BaselineError(ValueError):
    """The baseline file is unreadable or not an object of numbers; names the file."""


def load_baseline(path: Path) -> dict[str, float]:
    """Read a baseline before any case runs, so a bad file fails fast and clearly."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BaselineError(f"{path}: cannot read the baseline: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise BaselineError(f"{path}: the baseline is not valid JSON: {exc}") from exc
    keys = (*BASELINE_KEYS, "mean_extra_calls")
    if not isinstance(data, dict) or not all(
        isinstance(data.get(k, 0), int | float) and not isinstance(data.get(k), bool) for k in keys
    ):
        raise BaselineError(
            f"{path}: the baseline must be an object of numbers ({', '.join(keys)})"
        )
    return {k: float(data[k]) for k in keys if k in data}


def below_baseline(score: SuiteScore, data: dict[str, float]) -> list[str]:
    """Which suite scores fall below the baseline's minimums (``mean_extra_calls`` is a max)."""
    problems = [
        f"{key} {getattr(score, key)} < baseline {data[key]}"
        for key in BASELINE_KEYS
        if key in data and getattr(score, key) < float(data[key])
    ]
    if "mean_extra_calls" in data and score.mean_extra_calls > float(data["mean_extra_calls"]):
        problems.append(
            f"mean_extra_calls {score.mean_extra_calls} > baseline {data['mean_extra_calls']}"
        )
    return problems


def render_table(score: SuiteScore, console: Console) -> None:
    table = Table(title="Baton eval", show_lines=False)
    for column in ("case", "result", "path", "extra", "steps", "tokens", "model", "ms"):
        table.add_column(column, justify="left" if column in ("case", "result") else "right")
    for c in score.cases:
        verdict = "[green]pass[/]" if c.passed else f"[red]fail[/] {c.reasons[0][:60]}"
        table.add_row(
            c.name,
            verdict,
            "ok" if c.correct_path else "no",
            str(c.extra_calls),
            str(c.steps),
            str(c.tokens),
            str(c.model_calls),
            f"{c.latency_ms:.0f}",
        )
    console.print(table)
    console.print(
        f"success {score.success_rate:.0%}  correct path {score.correct_path_rate:.0%}  "
        f"mean extra calls {score.mean_extra_calls}  tokens {score.total_tokens}  "
        f"model calls {score.total_model_calls}"
    )
