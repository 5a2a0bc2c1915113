"""``baton tools``: formats, search, merging, --server, and exit 2 with one error line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agent.cli import main
from agent.cli_tools import RICH_MAX_ROWS
from tests.conftest import ROOT
from tools.cache import load_catalog
from tools.catalog import Catalog


def _operation(op_id: str, summary: str) -> dict[str, Any]:
    return {
        "operationId": op_id,
        "summary": summary,
        "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer"}}],
        "responses": {"200": {"description": "ok"}},
    }


def _write_spec(path: Path, title: str, operations: dict[str, tuple[str, str]]) -> Path:
    paths: dict[str, Any] = {}
    for op_id, (route, summary) in operations.items():
        method = "post" if op_id.startswith("create") else "get"
        paths.setdefault(route, {})[method] = _operation(op_id, summary)
    spec = {
        "openapi": "3.0.3",
        "info": {"title": title, "version": "1"},
        "servers": [{"url": "https://api.example.com"}],
        "paths": paths,
    }
    path.write_text(json.dumps(spec))
    return path


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATON_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def pets(tmp_path: Path) -> Path:
    return _write_spec(
        tmp_path / "pets.json",
        "Pets",
        {
            "listPets": ("/pets", "List all pets"),
            "createPet": ("/pets", "Create a pet"),
            "listOwners": ("/owners", "List pet owners"),
        },
    )


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["tools", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_table_lists_every_tool(pets: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, str(pets))
    assert code == 0
    assert err == ""
    for text in ("listPets", "createPet", "POST", "/owners", "unsafe", "List all pets"):
        assert text in out
    assert "Pets: 3 of 3 tools" in out


def test_large_table_is_printed_as_aligned_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ops = {f"listThing{i}": (f"/things{i}", f"List things {i}") for i in range(RICH_MAX_ROWS + 1)}
    spec = _write_spec(tmp_path / "big.json", "Big", ops)
    code, out, _ = _run(capsys, str(spec))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"Big: {RICH_MAX_ROWS + 1} of {RICH_MAX_ROWS + 1} tools"
    assert lines[2].split() == ["name", "method", "path", "side", "effect", "summary"]
    assert len(lines) == 4 + RICH_MAX_ROWS + 1
    assert lines[-1].split()[:3] == [f"listThing{RICH_MAX_ROWS}", "GET", f"/things{RICH_MAX_ROWS}"]


def test_openai_format_is_exactly_what_the_model_gets(
    pets: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, str(pets), "--format", "openai")
    assert code == 0
    assert json.loads(out) == load_catalog(pets).to_openai()
    code, out, _ = _run(capsys, str(pets), "--format", "openai", "--strict")
    assert json.loads(out) == load_catalog(pets).to_openai(strict=True)


def test_json_format_round_trips_as_a_catalog(
    pets: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, str(pets), "--format", "json")
    assert code == 0
    assert Catalog.from_json(json.loads(out)).names() == ["listPets", "createPet", "listOwners"]


def test_search_ranks_and_limits(pets: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, str(pets), "--search", "owners", "--format", "openai")
    assert code == 0
    assert json.loads(out)[0]["function"]["name"] == "listOwners"
    code, out, _ = _run(
        capsys, str(pets), "--search", "list pets", "--limit", "1", "--format", "json"
    )
    assert [t["name"] for t in json.loads(out)["tools"]] == ["listPets"]


def test_several_specs_are_merged_with_prefixes_on_clashes(
    pets: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shop = _write_spec(tmp_path / "shop.json", "Shop", {"listPets": ("/pets", "Pets for sale")})
    code, out, _ = _run(capsys, str(pets), str(shop), "--format", "openai")
    assert code == 0
    names = [t["function"]["name"] for t in json.loads(out)]
    assert names == ["pets_listPets", "createPet", "listOwners", "shop_listPets"]


def test_server_override_reaches_the_catalog(
    pets: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, str(pets), "--server", "http://127.0.0.1:8080", "--format", "json")
    assert code == 0
    servers = {s["url"] for t in json.loads(out)["tools"] for s in t["binding"]["servers"]}
    assert servers == {"http://127.0.0.1:8080"}


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (None, "no such file"),
        ("openapi: [unclosed", "invalid YAML"),
        ('{"info": {}}', "not an OpenAPI document"),
    ],
)
def test_bad_spec_exits_2_with_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, needle: str
) -> None:
    spec = tmp_path / "bad.yaml"
    if content is not None:
        spec.write_text(content)
    code, out, err = _run(capsys, str(spec))
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith("error: ")
    assert str(spec) in err
    assert needle in err


def test_bad_limit_is_a_usage_error(pets: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, str(pets), "--limit", "0")
    assert code == 2
    assert err == "error: --limit must be at least 1, got 0\n"


def _baton(*argv: str, cache: Path) -> subprocess.CompletedProcess[str]:
    baton = ROOT / ".venv" / "bin" / "baton"
    cmd = [str(baton)] if baton.exists() else [sys.executable, "-m", "agent.cli"]
    env = {**os.environ, "BATON_CACHE_DIR": str(cache)}
    return subprocess.run(
        [*cmd, "tools", *argv], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def test_real_process_prints_tools_and_reports_bad_specs(pets: Path, tmp_path: Path) -> None:
    ok = _baton(str(pets), "--format", "openai", cache=tmp_path / "c")
    assert ok.returncode == 0, ok.stderr
    assert [t["function"]["name"] for t in json.loads(ok.stdout)] == [
        "listPets",
        "createPet",
        "listOwners",
    ]
    bad = _baton(str(tmp_path / "missing.json"), cache=tmp_path / "c")
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr == f"error: {tmp_path / 'missing.json'}: no such file\n"


def test_search_without_hits_says_so(pets: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, str(pets), "--search", "zebra")
    assert (code, out) == (0, "")
    assert err == "no tool matches 'zebra' among 3 tools\n"
    code, out, _ = _run(capsys, str(pets), "--search", "zebra", "--format", "openai")
    assert json.loads(out) == []
