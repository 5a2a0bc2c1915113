"""Snapshot of the tools generated from every bundled spec in specs/ (including ones added later).

A spec is any JSON/YAML file under specs/ whose top level declares ``openapi`` or ``swagger``
(multi-file parts are not specs). Regenerate after an intended change with
``BATON_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/test_ingest_snapshots.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.conftest import ROOT, SPECS
from tools.ingest import ingest_spec
from tools.loader import parse_bytes

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("BATON_UPDATE_SNAPSHOTS") == "1"


def bundled_specs() -> list[Path]:
    found = []
    for path in sorted(SPECS.rglob("*")):
        if path.suffix not in (".yaml", ".yml", ".json"):
            continue
        doc = parse_bytes(path.read_bytes(), str(path))
        if isinstance(doc, dict) and ("openapi" in doc or "swagger" in doc):
            found.append(path)
    return found


def snapshot_path(spec: Path) -> Path:
    return SNAPSHOTS / (spec.relative_to(SPECS).as_posix().replace("/", "__") + ".json")


def render(spec: Path) -> dict[str, Any]:
    catalog = ingest_spec(spec)
    rel = spec.relative_to(ROOT).as_posix()
    tools = []
    for tool in catalog:
        data = tool.model_dump(mode="json")
        data["source"] = rel
        tools.append(data)
    return {
        "title": catalog.title,
        "warnings": catalog.warnings,
        "security_schemes": {
            k: v.model_dump(mode="json") for k, v in catalog.security_schemes.items()
        },
        "tools": tools,
    }


SPEC_FILES = bundled_specs()


def test_specs_folder_has_the_bundled_samples() -> None:
    names = {p.relative_to(SPECS).as_posix() for p in SPEC_FILES}
    assert {"petstore.yaml", "library-3.1.yaml", "swagger2-store.yaml"} <= names
    assert "multifile/openapi.yaml" in names
    assert "multifile/components/person.yaml" not in names


@pytest.mark.parametrize("spec", SPEC_FILES, ids=lambda p: p.relative_to(SPECS).as_posix())
def test_tools_match_snapshot(spec: Path) -> None:
    rendered = render(spec)
    for tool in rendered["tools"]:
        Draft202012Validator.check_schema(tool["parameters"])
        if tool["strict_parameters"] is not None:
            Draft202012Validator.check_schema(tool["strict_parameters"])
    text = json.dumps(rendered, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    target = snapshot_path(spec)
    if UPDATE:
        SNAPSHOTS.mkdir(exist_ok=True)
        target.write_text(text, encoding="utf-8")
    if not target.exists():
        pytest.fail(
            f"no snapshot for {spec.relative_to(ROOT)}; create it with "
            "BATON_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/test_ingest_snapshots.py"
        )
    assert json.loads(target.read_text(encoding="utf-8")) == json.loads(text), (
        f"tools of {spec.relative_to(ROOT)} changed; review, then regenerate with "
        "BATON_UPDATE_SNAPSHOTS=1"
    )


def test_every_snapshot_belongs_to_a_spec() -> None:
    expected = {snapshot_path(p).name for p in SPEC_FILES}
    stale = sorted(p.name for p in SNAPSHOTS.glob("*.json") if p.name not in expected)
    assert not stale, f"snapshots without a spec in specs/ (delete them): {stale}"
