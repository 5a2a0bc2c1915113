"""Importer for RestBench-style datasets: ``[{"query": ..., "solution": ["GET /path", ...]}]``.

Each query becomes a case that runs a live model against the spec with no recorded responses,
so only the call path is scored (RestBench's correct-path rule). Gold steps are mapped from
``METHOD /path`` to the spec's tool names through the catalog; a step the spec does not have is
a clear error naming the query and the step.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from evals.case import CaseError
from tools.cache import load_catalog
from tools.catalog import Catalog


def _tool_for(catalog: Catalog, step: str) -> str | None:
    method, _, path = step.strip().partition(" ")
    for tool in catalog:
        if tool.binding.method == method.upper() and tool.binding.path == path.strip():
            return tool.name
    return None


def _slug(text: str, index: int) -> str:
    words = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return f"{index:03d}-{words[:40].rstrip('-')}"


def import_restbench(dataset: Path, spec: Path, out_dir: Path) -> list[Path]:
    """Write one case file per query under ``out_dir/cases`` and a ``suite.yaml``."""
    try:
        items: Any = json.loads(dataset.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CaseError(f"{dataset}: cannot read the dataset: {exc}") from exc
    if not isinstance(items, list):
        raise CaseError(f"{dataset}: expected a JSON list of {{query, solution}} objects")
    catalog = load_catalog(str(spec))
    cases_dir = out_dir / "cases"
    cases_dir.mkdir(parents=True, exist_ok=True)
    suite = {"specs": [str(spec.resolve())], "model": {"mode": "live"}}
    (out_dir / "suite.yaml").write_text(yaml.safe_dump(suite, sort_keys=False), "utf-8")
    written = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or "query" not in item or "solution" not in item:
            raise CaseError(f"{dataset}#/{index}: needs `query` and `solution`")
        gold = []
        for step_index, step in enumerate(item["solution"]):
            name = _tool_for(catalog, str(step))
            if name is None:
                raise CaseError(
                    f"{dataset}#/{index}/solution/{step_index}: {step!r} is not an operation "
                    f"of {spec}"
                )
            gold.append(name)
        case = {
            "name": _slug(str(item["query"]), index),
            "task": item["query"],
            "expect": {"path": gold},
        }
        path = cases_dir / f"{case['name']}.yaml"
        path.write_text(yaml.safe_dump(case, sort_keys=False, allow_unicode=True), "utf-8")
        written.append(path)
    return written
