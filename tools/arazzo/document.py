"""Loading an Arazzo document: parse, check against Baton's schema, check it makes sense.

Owns turning a file (JSON or YAML) or a dict into a typed ``ArazzoDocument``, checked: first
its structure (``tools.arazzo.schema``), then what needs several objects at once (unique ids,
targets, references, expressions, cycles: ``tools.arazzo.checks``). Checks that need the
OpenAPI sources (does the operation exist, does it take that parameter) live in
``tools.arazzo.sources``.

Every problem is reported with the file and the JSON pointer of the offending value, all of
them at once (``WorkflowDocumentError.problems``); the message names the first.
Oddities that cannot break a run (an output nobody defines) become warnings.
"""

from __future__ import annotations

import os

from jsonschema import Draft202012Validator

from tools.arazzo.checks import Problems, check_document
from tools.arazzo.errors import WorkflowDocumentError
from tools.arazzo.model import ArazzoDocument
from tools.arazzo.schema import ARAZZO_SCHEMA
from tools.errors import SpecError
from tools.loader import fetch_url, parse_bytes, read_file
from tools.model import JSONObject
from tools.refs import is_url

_VALIDATOR = Draft202012Validator(ARAZZO_SCHEMA)


def load_arazzo(source: str | os.PathLike[str] | JSONObject, *, label: str = "") -> ArazzoDocument:
    """Read and check an Arazzo document; WorkflowDocumentError lists what is wrong."""
    if isinstance(source, dict):
        raw, location = source, label or "<dict>"
    else:
        text = os.fspath(source)
        if is_url(text):
            data = fetch_url(text, timeout=10.0, max_bytes=16_000_000)
            location = text
        else:
            location = os.path.abspath(text)
            try:
                data = read_file(location, max_bytes=16_000_000)
            except SpecError as exc:
                raise SpecError(exc.message, source=text) from None
        raw = parse_bytes(data, location)
        label = label or text
    label = label or location
    if not isinstance(raw, dict):
        raise WorkflowDocumentError(label, [("", "an Arazzo document is a JSON/YAML object")])
    problems = _kind_problems(raw) or _schema_problems(raw)
    if problems:
        raise WorkflowDocumentError(label, problems)
    document = ArazzoDocument.model_validate(
        {**_normalized(raw), "location": location, "label": label, "raw": raw}
    )
    warnings: list[str] = []
    problems = check_document(document, warnings)
    if problems:
        raise WorkflowDocumentError(label, problems)
    return document.model_copy(update={"warnings": warnings})


def _kind_problems(raw: JSONObject) -> Problems:
    """One clear line for a document that is not Arazzo 1.0 at all."""
    if "arazzo" not in raw:
        other = next((k for k in ("openapi", "swagger", "asyncapi") if k in raw), None)
        what = f"an {other} document" if other else "not an Arazzo document"
        return [("", f"{what}: an Arazzo document starts with 'arazzo: 1.0.x'")]
    version = str(raw["arazzo"])
    if not version.startswith("1.0."):
        return [("/arazzo", f"Arazzo {version} is not supported: Baton runs Arazzo 1.0.x")]
    return []


def _schema_problems(raw: JSONObject) -> Problems:
    errors = sorted(_VALIDATOR.iter_errors(raw), key=lambda e: list(map(str, e.absolute_path)))
    problems: Problems = []
    for error in errors:
        pointer = "".join(
            f"/{str(p).replace('~', '~0').replace('/', '~1')}" for p in error.absolute_path
        )
        message = error.message
        if error.validator == "additionalProperties":
            extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
            names = ", ".join(repr(k) for k in extra if not k.startswith("x-"))
            message = f"unknown field {names} (only x- extensions may be added)"
        problems.append((pointer, message))
    return problems


# -- normalization: the typed model takes one shape per concept ------------------------------
def _normalized(raw: JSONObject) -> JSONObject:
    doc = dict(raw)
    doc["workflows"] = [_workflow(w, f"/workflows/{i}") for i, w in enumerate(raw["workflows"])]
    comps = dict(raw.get("components") or {})
    for kind in ("successActions", "failureActions"):
        comps[kind] = {
            k: _action(a, f"/components/{kind}/{k}") for k, a in (comps.get(kind) or {}).items()
        }
    doc["components"] = comps
    return doc


def _workflow(raw: JSONObject, pointer: str) -> JSONObject:
    wf = dict(raw, pointer=pointer)
    wf["steps"] = [_step(s, f"{pointer}/steps/{j}") for j, s in enumerate(raw["steps"])]
    for key in ("successActions", "failureActions"):
        wf[key] = _actions(raw.get(key), f"{pointer}/{key}")
    wf["parameters"] = [_reusable(p) for p in raw.get("parameters") or []]
    return wf


def _step(raw: JSONObject, pointer: str) -> JSONObject:
    step = dict(raw, pointer=pointer)
    step["successCriteria"] = [_criterion(c) for c in raw.get("successCriteria") or []]
    step["onSuccess"] = _actions(raw.get("onSuccess"), f"{pointer}/onSuccess")
    step["onFailure"] = _actions(raw.get("onFailure"), f"{pointer}/onFailure")
    step["parameters"] = [_reusable(p) for p in raw.get("parameters") or []]
    return step


def _actions(raw: list[JSONObject] | None, pointer: str) -> list[JSONObject]:
    return [
        _reusable(a) if "reference" in a else _action(a, f"{pointer}/{i}")
        for i, a in enumerate(raw or [])
    ]


def _action(raw: JSONObject, pointer: str) -> JSONObject:
    return dict(raw, pointer=pointer, criteria=[_criterion(c) for c in raw.get("criteria") or []])


def _criterion(raw: JSONObject) -> JSONObject:
    kind = raw.get("type", "simple")
    if isinstance(kind, dict):
        return dict(raw, type=kind["type"], version=kind["version"])
    return dict(raw)


def _reusable(raw: JSONObject) -> JSONObject:
    return dict(raw, has_value="value" in raw) if "reference" in raw else dict(raw)
