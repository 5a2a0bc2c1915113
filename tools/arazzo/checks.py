"""Checks across the objects of an Arazzo document: what the schema alone cannot say.

Owns unique ids, exclusive step kinds (``operationId`` / ``operationPath`` / ``workflowId``),
``goto``/``retry`` targets, component references, runtime expression syntax and the steps and
workflows expressions name, criteria that compile, and ``dependsOn`` cycles. Each problem is a
(JSON pointer, message) pair; oddities that cannot break a run become warnings.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from tools.arazzo.criteria import compile_criterion
from tools.arazzo.errors import ExpressionError
from tools.arazzo.expressions import embedded, expressions_in, parse
from tools.arazzo.model import (
    Action,
    ArazzoDocument,
    Criterion,
    Parameter,
    Reusable,
    Step,
    Workflow,
)
from tools.model import JSONValue

Problems = list[tuple[str, str]]


def check_document(doc: ArazzoDocument, warnings: list[str]) -> Problems:
    problems: Problems = []
    _unique(
        [(f"/sourceDescriptions/{i}/name", s.name) for i, s in enumerate(doc.sourceDescriptions)],
        "source description",
        problems,
    )
    _unique(
        [(f"{w.pointer}/workflowId", w.workflowId) for w in doc.workflows], "workflow", problems
    )
    for name, schema in doc.components.inputs.items():
        _check_schema(schema, f"/components/inputs/{name}", problems)
    for workflow in doc.workflows:
        _check_workflow(doc, workflow, problems, warnings)
    problems.extend(_cycles(doc))
    return sorted(problems, key=lambda p: _position(p[0]))


def _position(pointer: str) -> list[tuple[int, int, str]]:
    """Document order for pointers: /steps/10 after /steps/9."""
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in pointer.split("/")[1:]]


def _unique(items: list[tuple[str, str]], what: str, problems: Problems) -> None:
    seen: set[str] = set()
    for pointer, value in items:
        if value in seen:
            problems.append((pointer, f"duplicate {what} id {value!r}"))
        seen.add(value)


def _check_schema(schema: JSONValue, pointer: str, problems: Problems) -> None:
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        problems.append((pointer, f"not a valid JSON Schema: {exc.message}"))


def _check_workflow(
    doc: ArazzoDocument, wf: Workflow, problems: Problems, warns: list[str]
) -> None:
    _unique([(f"{s.pointer}/stepId", s.stepId) for s in wf.steps], "step", problems)
    if wf.inputs is not None:
        _check_schema(wf.inputs, f"{wf.pointer}/inputs", problems)
    for i, dep in enumerate(wf.dependsOn):
        _check_workflow_ref(doc, dep, f"{wf.pointer}/dependsOn/{i}", problems)
    _check_params(doc, wf.parameters, f"{wf.pointer}/parameters", None, problems)
    for key, actions in (
        ("successActions", wf.successActions),
        ("failureActions", wf.failureActions),
    ):
        _check_actions(doc, wf, actions, f"{wf.pointer}/{key}", key, problems)
    for step in wf.steps:
        _check_step(doc, wf, step, problems)
    for ptr, text in _expressions(wf):
        _check_expression(doc, wf, text, ptr, problems, warns)


def _check_step(doc: ArazzoDocument, wf: Workflow, step: Step, problems: Problems) -> None:
    kinds = [k for k in ("operationId", "operationPath", "workflowId") if getattr(step, k)]
    if len(kinds) != 1:
        found = " and ".join(kinds) if kinds else "none of them"
        problems.append(
            (
                step.pointer,
                f"a step has exactly one of operationId, operationPath, "
                f"workflowId; step {step.stepId!r} has {found}",
            )
        )
    if step.workflowId:
        _check_workflow_ref(doc, step.workflowId, f"{step.pointer}/workflowId", problems)
        if step.requestBody is not None:
            problems.append((f"{step.pointer}/requestBody", "a workflow step takes no requestBody"))
    if step.operationId and step.operationId.startswith("$"):
        _check_source_ref(doc, step.operationId, f"{step.pointer}/operationId", problems)
    if step.operationPath:
        _check_operation_path(doc, step.operationPath, f"{step.pointer}/operationPath", problems)
    needs_in = not step.workflowId
    _check_params(doc, step.parameters, f"{step.pointer}/parameters", needs_in, problems)
    if needs_in:
        for i, param in enumerate(wf.parameters):
            if isinstance(param, Parameter) and param.in_ is None:
                problems.append(
                    (
                        f"{wf.pointer}/parameters/{i}",
                        f"parameter {param.name!r} needs 'in' (step {step.stepId!r} "
                        "calls an operation)",
                    )
                )
    for i, criterion in enumerate(step.successCriteria):
        _check_criterion(criterion, f"{step.pointer}/successCriteria/{i}", problems)
    _check_actions(doc, wf, step.onSuccess, f"{step.pointer}/onSuccess", "successActions", problems)
    _check_actions(doc, wf, step.onFailure, f"{step.pointer}/onFailure", "failureActions", problems)


def _check_params(
    doc: ArazzoDocument,
    params: list[Parameter | Reusable],
    pointer: str,
    needs_in: bool | None,
    problems: Problems,
) -> None:
    for i, param in enumerate(params):
        where = f"{pointer}/{i}"
        if isinstance(param, Reusable):
            target = _component(doc, param.reference, "parameters", where, problems)
            if target is None:
                continue
            param = target
        if needs_in and param.in_ is None:
            problems.append(
                (
                    where,
                    f"parameter {param.name!r} needs 'in' (path, query, header "
                    "or cookie) when the step calls an operation",
                )
            )


def _component(
    doc: ArazzoDocument, reference: str, kind: str, pointer: str, problems: Problems
) -> Any:
    prefix = f"$components.{kind}."
    if not reference.startswith(prefix):
        problems.append(
            (f"{pointer}/reference", f"expected a reference like {prefix}<name>, got {reference!r}")
        )
        return None
    name = reference[len(prefix) :]
    table: dict[str, Any] = getattr(doc.components, kind)
    if name not in table:
        known = ", ".join(sorted(table)) or "none"
        problems.append((f"{pointer}/reference", f"no components.{kind}.{name} (defined: {known})"))
        return None
    return table[name]


def _check_actions(
    doc: ArazzoDocument,
    wf: Workflow,
    actions: list[Action | Reusable],
    pointer: str,
    kind: str,
    problems: Problems,
) -> None:
    for i, action in enumerate(actions):
        where = f"{pointer}/{i}"
        if isinstance(action, Reusable):
            action = _component(doc, action.reference, kind, where, problems)
            if action is None:
                continue
        if action.type in ("goto", "retry") and action.stepId and action.workflowId:
            problems.append((where, f"action {action.name!r} has both stepId and workflowId"))
        if action.type == "goto" and not (action.stepId or action.workflowId):
            problems.append((where, f"goto action {action.name!r} needs a stepId or workflowId"))
        if action.stepId and wf.step(action.stepId) is None:
            steps = ", ".join(s.stepId for s in wf.steps)
            problems.append(
                (
                    f"{where}/stepId",
                    f"unknown step {action.stepId!r} in workflow "
                    f"{wf.workflowId!r} (steps: {steps})",
                )
            )
        if action.workflowId:
            _check_workflow_ref(doc, action.workflowId, f"{where}/workflowId", problems)
        if action.type == "retry" and action.retryAfter is None:
            problems.append((where, f"retry action {action.name!r} needs retryAfter"))
        for j, criterion in enumerate(action.criteria):
            _check_criterion(criterion, f"{where}/criteria/{j}", problems)


def _check_criterion(criterion: Criterion, pointer: str, problems: Problems) -> None:
    try:
        compile_criterion(criterion)
    except ExpressionError as exc:
        problems.append((f"{pointer}/condition", f"bad condition: {exc}"))


def _check_workflow_ref(doc: ArazzoDocument, ref: str, pointer: str, problems: Problems) -> None:
    if ref.startswith("$"):
        _check_source_ref(doc, ref, pointer, problems, want="arazzo")
    elif doc.workflow(ref) is None:
        known = ", ".join(w.workflowId for w in doc.workflows)
        problems.append((pointer, f"unknown workflow {ref!r} (workflows: {known})"))


def _check_source_ref(
    doc: ArazzoDocument, ref: str, pointer: str, problems: Problems, want: str | None = None
) -> None:
    parts = ref.split(".", 2)
    if len(parts) != 3 or parts[0] != "$sourceDescriptions" or not parts[2]:
        problems.append((pointer, f"expected $sourceDescriptions.<name>.<id>, got {ref!r}"))
        return
    source = doc.source(parts[1])
    if source is None:
        names = ", ".join(s.name for s in doc.sourceDescriptions)
        problems.append((pointer, f"unknown source description {parts[1]!r} (sources: {names})"))
    elif want and source.type != want:
        problems.append((pointer, f"source {parts[1]!r} is {source.type}, not {want}"))


def _check_operation_path(doc: ArazzoDocument, path: str, pointer: str, problems: Problems) -> None:
    ref, sep, fragment = path.partition("#")
    found = embedded(ref)
    if not found or ref != "{" + found[0] + "}" or not sep or not fragment.startswith("/"):
        problems.append(
            (pointer, f"expected '{{$sourceDescriptions.<name>.url}}#/paths/...', got {path!r}")
        )
        return
    name = found[0].removeprefix("$sourceDescriptions.").removesuffix(".url")
    if found[0] != f"$sourceDescriptions.{name}.url":
        problems.append((pointer, f"expected {{$sourceDescriptions.<name>.url}}, got {ref!r}"))
    elif doc.source(name) is None:
        problems.append((pointer, f"unknown source description {name!r}"))


def _expressions(wf: Workflow) -> Iterator[tuple[str, str]]:
    """(pointer, expression) for every runtime expression a workflow holds outside criteria."""
    for name, value in wf.outputs.items():
        yield from _output(value, f"{wf.pointer}/outputs/{name}")
    for i, param in enumerate(wf.parameters):
        yield from _values(param.value, f"{wf.pointer}/parameters/{i}/value")
    for step in wf.steps:
        for i, param in enumerate(step.parameters):
            yield from _values(param.value, f"{step.pointer}/parameters/{i}/value")
        for name, value in step.outputs.items():
            yield from _output(value, f"{step.pointer}/outputs/{name}")
        body = step.requestBody
        if body is not None:
            yield from _values(body.payload, f"{step.pointer}/requestBody/payload")
            for i, rep in enumerate(body.replacements):
                yield from _values(rep.value, f"{step.pointer}/requestBody/replacements/{i}/value")
        criteria = list(step.successCriteria)
        for action in [*step.onSuccess, *step.onFailure]:
            criteria += action.criteria if isinstance(action, Action) else []
        for criterion in criteria:
            if criterion.context is not None:
                yield step.pointer, criterion.context


def _output(value: str, pointer: str) -> Iterator[tuple[str, str]]:
    yield pointer, value  # an output is always a runtime expression: parse() says if not


def _values(value: JSONValue, pointer: str) -> Iterator[tuple[str, str]]:
    for text in expressions_in(value):
        yield pointer, text


def _check_expression(
    doc: ArazzoDocument,
    wf: Workflow,
    text: str,
    pointer: str,
    problems: Problems,
    warnings: list[str],
) -> None:
    try:
        expr = parse(text)
    except ExpressionError as exc:
        problems.append((pointer, f"bad expression: {exc.reason}: {text!r}"))
        return
    if expr.root == "steps":
        step_id = expr.parts[0]
        if wf.step(step_id) is None:
            problems.append(
                (pointer, f"{text!r} names unknown step {step_id!r} in workflow {wf.workflowId!r}")
            )
        elif not expr.parts[1].startswith("outputs."):
            warnings.append(
                f"{pointer}: {text!r} reads no step output (expected "
                f"$steps.{step_id}.outputs.<name>); it will fail if evaluated"
            )
        else:
            _check_output_name(wf, step_id, expr.parts[1], text, pointer, warnings)
    elif expr.root == "workflows" and doc.workflow(expr.parts[0]) is None:
        problems.append((pointer, f"{text!r} names unknown workflow {expr.parts[0]!r}"))
    elif expr.root == "sourceDescriptions" and doc.source(expr.parts[0]) is None:
        problems.append((pointer, f"{text!r} names unknown source {expr.parts[0]!r}"))


def _check_output_name(
    wf: Workflow, step_id: str, rest: str, text: str, pointer: str, warnings: list[str]
) -> None:
    step = wf.step(step_id)
    name = rest.removeprefix("outputs.")
    if step is not None and name not in step.outputs:
        warnings.append(
            f"{pointer}: {text!r}: step {step_id!r} defines no output {name!r}; "
            "it will fail if evaluated"
        )


def _cycles(doc: ArazzoDocument) -> Problems:
    """``dependsOn`` must not loop: report each cycle once, at the workflow that closes it."""
    problems: Problems = []
    state: dict[str, str] = {}

    def visit(wf: Workflow, trail: list[str]) -> None:
        state[wf.workflowId] = "open"
        for i, dep in enumerate(wf.dependsOn):
            target = doc.workflow(dep)
            if target is None:
                continue
            if state.get(dep) == "open":
                path = [*trail, wf.workflowId]
                loop = " -> ".join([*path[path.index(dep) :], dep])
                problems.append((f"{wf.pointer}/dependsOn/{i}", f"circular dependsOn: {loop}"))
            elif dep not in state:
                visit(target, [*trail, wf.workflowId])
        state[wf.workflowId] = "done"

    for workflow in doc.workflows:
        if workflow.workflowId not in state:
            visit(workflow, [])
    return problems
