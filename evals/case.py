"""Eval cases and suites: the YAML format, loading, and suite defaults.

A case says what to ask, against which specs, with which recorded traffic, how the model's
turns are supplied, and what must be true afterwards. A suite is a folder holding
``suite.yaml`` (defaults shared by its cases) and ``cases/*.yaml``. Relative paths in a case
(specs, cassettes) resolve against the file that names them. The format is documented in the
README with a complete example.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evals.faults import Fault
from tools.errors import SpecError
from tools.loader import parse_bytes

ModelMode = Literal["replay", "live"]


class CaseError(Exception):
    """A case or suite file is unreadable or invalid; names the file and the field."""


class ModelSource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: ModelMode = "replay"
    cassette: Path | None = None  # HAR of the model's HTTP traffic (replay/record)
    name: str | None = None  # model name for live runs (else BATON_MODEL / the local model)


class ArgCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tool: str
    subset: dict[str, Any] | None = None  # every key/value here must appear in the arguments
    expr: str | None = None  # JMESPath over the arguments that must be truthy


class JsonCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str  # JMESPath over the answer parsed as JSON
    equals: Any = None


class AnswerCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contains: list[str] = Field(default_factory=list)  # case-insensitive substrings
    regex: list[str] = Field(default_factory=list)
    json_path: list[JsonCheck] = Field(default_factory=list, alias="json")


class Expect(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: list[str] = Field(default_factory=list)  # gold operations, in order (subsequence)
    forbidden: list[str] = Field(default_factory=list)  # operations that must not be called
    args: list[ArgCheck] = Field(default_factory=list)
    answer: AnswerCheck = Field(default_factory=AnswerCheck)
    max_steps: int | None = None
    max_tokens: int | None = None
    max_extra_calls: int | None = None


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    task: str
    specs: list[Path]
    server: str | None = None
    # Credentials as the environment variables Baton reads (BATON_AUTH_<SCHEME>...), with
    # placeholder values. Recording scrubs them; replay presents them again so auth is
    # exercised. They never touch the process environment, so cases stay independent.
    credentials: dict[str, str] = Field(default_factory=dict)
    cassette: Path | None = None  # HAR of the API traffic; None: path scoring only
    model: ModelSource = Field(default_factory=ModelSource)
    approve_side_effects: bool = True
    faults: list[Fault] = Field(default_factory=list)
    expect: Expect = Field(default_factory=Expect)
    max_turns: int = 12  # model turns before the run is stopped
    source: Path | None = None  # the file this case was read from


def _read_yaml(path: Path) -> dict[str, Any]:
    # The spec loader's parser: one-line errors with line and column, and YAML alias bombs
    # refused (a case file from someone else must not exhaust memory).
    try:
        data = parse_bytes(path.read_bytes(), str(path))
    except FileNotFoundError as exc:
        raise CaseError(f"{path}: not found") from exc
    except OSError as exc:
        raise CaseError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except SpecError as exc:
        raise CaseError(f"{path}: {exc.message}") from exc
    if not isinstance(data, dict):
        raise CaseError(f"{path}: a case or suite file must be a mapping")
    return data


def _resolve(base: Path, value: Any) -> Any:
    return str((base / str(value)).resolve()) if value is not None else None


def _absolutize(data: dict[str, Any], base: Path) -> dict[str, Any]:
    data = dict(data)
    if "specs" in data:
        data["specs"] = [_resolve(base, s) for s in data["specs"]]
    if data.get("cassette") is not None:
        data["cassette"] = _resolve(base, data["cassette"])
    model = data.get("model")
    if isinstance(model, dict) and model.get("cassette") is not None:
        data["model"] = {**model, "cassette": _resolve(base, model["cassette"])}
    return data


def load_case(path: Path, defaults: dict[str, Any] | None = None) -> Case:
    raw = _absolutize(_read_yaml(path), path.parent)
    merged = {**(defaults or {}), **raw}
    merged.setdefault("name", path.stem)
    try:
        return Case.model_validate({**merged, "source": str(path)})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "/".join(str(p) for p in first["loc"])
        raise CaseError(f"{path}#/{where}: {first['msg']}") from exc


def load_suite(folder: Path) -> list[Case]:
    """Every case of a suite folder, with the folder's ``suite.yaml`` defaults applied."""
    defaults_file = folder / "suite.yaml"
    defaults = _absolutize(_read_yaml(defaults_file), folder) if defaults_file.exists() else {}
    files = sorted((folder / "cases").glob("*.yaml")) or sorted(
        p for p in folder.glob("*.yaml") if p.name != "suite.yaml"
    )
    if not files:
        raise CaseError(f"{folder}: no cases found (expected cases/*.yaml)")
    return [load_case(f, defaults) for f in files]


def load_targets(targets: list[Path]) -> list[Case]:
    """Suites (folders) and single case files, in the order given."""
    cases: list[Case] = []
    for target in targets:
        if target.is_dir():
            cases.extend(load_suite(target))
        else:
            suite_defaults = target.parent.parent / "suite.yaml"
            defaults = (
                _absolutize(_read_yaml(suite_defaults), suite_defaults.parent)
                if target.parent.name == "cases" and suite_defaults.exists()
                else {}
            )
            cases.append(load_case(target, defaults))
    names = [c.name for c in cases]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise CaseError(f"duplicate case names: {', '.join(duplicates)}")
    return cases
