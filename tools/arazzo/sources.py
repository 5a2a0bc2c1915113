"""Binding a workflow to its OpenAPI sources: which tool each step calls, with which arguments.

Owns loading each ``sourceDescriptions`` entry as a ``Catalog`` (relative paths against the
Arazzo file, URLs as they are, or a path/URL the user substitutes with ``--source``), finding
the operation of each step (``operationId``, ``$sourceDescriptions.<name>.<operationId>``,
``operationPath``), and mapping Arazzo parameters (name + ``in``) and the request body onto the
tool's argument names (sanitized names, wire names in ``ArgBinding.wire_name``, the body under
``BodyBinding.arg``).

Binding happens before anything is sent, for every workflow a run can reach, so a document
that names an unknown operation or parameter fails with its pointer instead of half-running.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urljoin

from tools.arazzo.errors import WorkflowDocumentError
from tools.arazzo.expressions import embedded
from tools.arazzo.model import ArazzoDocument, Parameter, Reusable, Step, Workflow
from tools.catalog import Catalog
from tools.model import ArgBinding, JSONValue, Tool
from tools.refs import is_url

CatalogLoader = Callable[[str, str | None], Catalog]  # (location, server) -> catalog


@dataclass(frozen=True)
class BoundStep:
    source: str  # source description name
    tool: Tool


@dataclass(frozen=True)
class ParamValue:
    name: str
    location: str | None  # None for workflow inputs
    value: JSONValue  # not yet evaluated (may hold expressions)
    pointer: str


def source_location(doc: ArazzoDocument, name: str, overrides: Mapping[str, str]) -> str:
    """Where source ``name`` is read from: an override, else its url against the document's."""
    if name in overrides:
        return overrides[name]
    source = doc.source(name)
    assert source is not None
    url = source.url
    if is_url(url) or os.path.isabs(url):
        return url
    if is_url(doc.location):
        return urljoin(doc.location, url)
    base = os.path.dirname(doc.location) if doc.location.startswith("/") else os.getcwd()
    return os.path.normpath(os.path.join(base, url.removeprefix("file://")))


def load_sources(
    doc: ArazzoDocument,
    loader: CatalogLoader,
    *,
    overrides: Mapping[str, str] | None = None,
    servers: Mapping[str, str] | None = None,
    names: Iterable[str] | None = None,
) -> dict[str, Catalog]:
    """A catalog for each OpenAPI source (only ``names`` when given)."""
    overrides, servers = overrides or {}, servers or {}
    for key in [*overrides, *servers]:
        if doc.source(key) is None:
            known = ", ".join(s.name for s in doc.sourceDescriptions)
            raise WorkflowDocumentError(
                doc.label,
                [
                    (
                        "/sourceDescriptions",
                        f"no source description named {key!r} (sources: {known})",
                    )
                ],
            )
    wanted = set(names) if names is not None else None
    catalogs: dict[str, Catalog] = {}
    for i, source in enumerate(doc.sourceDescriptions):
        if source.type != "openapi" or (wanted is not None and source.name not in wanted):
            continue
        location = source_location(doc, source.name, overrides)
        try:
            catalogs[source.name] = loader(location, servers.get(source.name))
        except WorkflowDocumentError:
            raise
        except Exception as exc:  # SpecError, OSError, network: all say the source is unusable
            raise WorkflowDocumentError(
                doc.label,
                [
                    (
                        f"/sourceDescriptions/{i}/url",
                        f"source {source.name!r} cannot be loaded from {location}: {exc}",
                    )
                ],
            ) from None
    return catalogs


def sources_used(doc: ArazzoDocument, workflows: Iterable[Workflow]) -> set[str]:
    """Names of the sources the steps of these workflows call into."""
    used: set[str] = set()
    openapi = [s.name for s in doc.sourceDescriptions if s.type == "openapi"]
    for wf in workflows:
        for step in wf.steps:
            if step.operationId and step.operationId.startswith("$sourceDescriptions."):
                used.add(step.operationId.split(".")[1])
            elif step.operationPath:
                used.add(_path_source(step.operationPath))
            elif step.operationId:
                used.update(openapi)
    return used


def _path_source(path: str) -> str:
    found = embedded(path.partition("#")[0])
    return found[0].removeprefix("$sourceDescriptions.").removesuffix(".url") if found else ""


def bind_step(doc: ArazzoDocument, step: Step, catalogs: Mapping[str, Catalog]) -> BoundStep:
    """The tool a step calls; WorkflowDocumentError (with the step's pointer) if none."""
    if step.operationPath:
        return _by_path(doc, step, catalogs)
    op = step.operationId or ""
    where = f"{step.pointer}/operationId"
    if op.startswith("$sourceDescriptions."):
        _, name, op = op.split(".", 2)
        pool = {name: catalogs[name]} if name in catalogs else {}
    else:
        pool = dict(catalogs)
    hits = [(n, t) for n, c in pool.items() for t in c if t.operation_id == op]
    if len(hits) == 1:
        return BoundStep(*hits[0])
    if len(hits) > 1:
        names = ", ".join(n for n, _ in hits)
        raise _fail(
            doc,
            where,
            f"operationId {op!r} is in several sources ({names}); write it as "
            f"$sourceDescriptions.<name>.{op}",
        )
    ids = [t.operation_id for c in pool.values() for t in c if t.operation_id]
    close = difflib.get_close_matches(op, ids, n=3, cutoff=0.6)
    close += [i for i in ids if i.lower() == op.lower() and i not in close]
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise _fail(doc, where, f"unknown operation {op!r} in {', '.join(pool) or 'no source'}{hint}")


def _by_path(doc: ArazzoDocument, step: Step, catalogs: Mapping[str, Catalog]) -> BoundStep:
    path = step.operationPath or ""
    name, fragment = _path_source(path), path.partition("#")[2]
    where = f"{step.pointer}/operationPath"
    if name not in catalogs:
        raise _fail(doc, where, f"source {name!r} is not an OpenAPI description")
    tools = list(catalogs[name])
    exact = [t for t in tools if t.pointer == fragment]
    if exact:
        return BoundStep(name, exact[0])
    under = [t for t in tools if t.pointer.startswith(fragment + "/")]
    if len(under) == 1:  # a path item with one operation: the spec's own examples do this
        return BoundStep(name, under[0])
    if under:
        methods = ", ".join(t.binding.method.lower() for t in under)
        raise _fail(
            doc, where, f"{fragment} has several operations ({methods}); add one to the pointer"
        )
    raise _fail(doc, where, f"no operation at {fragment} in source {name!r}")


def step_parameters(doc: ArazzoDocument, wf: Workflow, step: Step) -> list[ParamValue]:
    """The step's parameters: the workflow's, overridden (never removed) by the step's."""
    merged: dict[tuple[str, str | None], ParamValue] = {}
    for pointer, params in (
        (f"{wf.pointer}/parameters", wf.parameters),
        (f"{step.pointer}/parameters", step.parameters),
    ):
        for i, param in enumerate(params):
            value = _resolve_param(doc, param, f"{pointer}/{i}")
            key = (value.name, None if step.workflowId else value.location)
            merged[key] = value
    return list(merged.values())


def _resolve_param(doc: ArazzoDocument, param: Parameter | Reusable, pointer: str) -> ParamValue:
    if isinstance(param, Reusable):
        name = param.reference.removeprefix("$components.parameters.")
        target = doc.components.parameters[name]  # existence checked when the document loaded
        value = param.value if param.has_value else target.value
        return ParamValue(target.name, target.in_, value, pointer)
    return ParamValue(param.name, param.in_, param.value, pointer)


def argument_for(doc: ArazzoDocument, bound: BoundStep, param: ParamValue) -> ArgBinding:
    """The tool argument an Arazzo parameter (name + in) lands in."""
    tool = bound.tool
    for arg in tool.binding.args:
        same = (
            arg.wire_name.lower() == param.name.lower()
            if param.location == "header"
            else (arg.wire_name == param.name)
        )
        if same and arg.location == param.location:
            return arg
    declared = ", ".join(f"{a.wire_name} ({a.location})" for a in tool.binding.args) or "none"
    hint = ""
    if param.location == "header" and param.name.lower() == "authorization":
        hint = "; credentials come from BATON_AUTH_<SCHEME> variables, not from the document"
    raise _fail(
        doc,
        f"{param.pointer}/name",
        f"operation {tool.operation_id or tool.name} has no "
        f"{param.location} parameter {param.name!r} (declared: {declared}){hint}",
    )


def check_binding(doc: ArazzoDocument, wf: Workflow, step: Step, bound: BoundStep) -> None:
    for param in step_parameters(doc, wf, step):
        argument_for(doc, bound, param)
    if step.requestBody is not None and bound.tool.binding.body is None:
        raise _fail(
            doc,
            f"{step.pointer}/requestBody",
            f"operation {bound.tool.operation_id or bound.tool.name} takes no request body",
        )


def bind_all(
    doc: ArazzoDocument, workflows: Iterable[Workflow], catalogs: Mapping[str, Catalog]
) -> dict[str, BoundStep]:
    """Bind every operation step of ``workflows`` (by step pointer); all problems at once."""
    bound: dict[str, BoundStep] = {}
    problems: list[tuple[str, str]] = []
    for wf in workflows:
        for step in wf.steps:
            if step.workflowId:
                continue
            try:
                found = bind_step(doc, step, catalogs)
                check_binding(doc, wf, step, found)
            except WorkflowDocumentError as exc:
                problems.extend(exc.problems)
                continue
            bound[step.pointer] = found
    if problems:
        raise WorkflowDocumentError(doc.label, problems)
    return bound


def _fail(doc: ArazzoDocument, pointer: str, message: str) -> WorkflowDocumentError:
    return WorkflowDocumentError(doc.label, [(pointer, message)])
