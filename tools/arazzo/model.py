"""The typed Arazzo 1.0.x document model (pydantic), built after the document validated.

Owns the shapes only. Field names follow the spec (camelCase kept where Python allows, ``in``
becomes ``in_``); ``x-`` extensions are kept as extra fields. Every workflow and step records
the JSON pointer it came from, so errors found later (while binding to the sources or while
running) still name the place in the file.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tools.model import JSONObject, JSONValue

ParamIn = Literal["path", "query", "header", "cookie"]


class _Node(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True)


class Info(_Node):
    title: str
    version: str
    summary: str = ""
    description: str = ""


class SourceDescription(_Node):
    name: str
    url: str
    type: Literal["openapi", "arazzo"] = "openapi"


class Parameter(_Node):
    name: str
    in_: ParamIn | None = Field(default=None, alias="in")
    value: JSONValue = None


class Reusable(_Node):
    reference: str
    value: JSONValue = None
    has_value: bool = False  # ``value: null`` is an override too; absence is not


class Criterion(_Node):
    condition: str
    context: str | None = None
    type: str = "simple"  # simple | regex | jsonpath | xpath
    version: str | None = None  # from a Criterion Expression Type Object


class Action(_Node):
    name: str
    type: Literal["end", "goto", "retry"]
    workflowId: str | None = None
    stepId: str | None = None
    retryAfter: float | None = None
    retryLimit: int | None = None
    criteria: list[Criterion] = Field(default_factory=list)
    pointer: str = ""


class Replacement(_Node):
    target: str
    value: JSONValue = None


class RequestBody(_Node):
    contentType: str | None = None
    payload: JSONValue = None
    replacements: list[Replacement] = Field(default_factory=list)


class Step(_Node):
    stepId: str
    description: str = ""
    operationId: str | None = None
    operationPath: str | None = None
    workflowId: str | None = None
    parameters: list[Parameter | Reusable] = Field(default_factory=list)
    requestBody: RequestBody | None = None
    successCriteria: list[Criterion] = Field(default_factory=list)
    onSuccess: list[Action | Reusable] = Field(default_factory=list)
    onFailure: list[Action | Reusable] = Field(default_factory=list)
    outputs: dict[str, str] = Field(default_factory=dict)
    pointer: str = ""


class Workflow(_Node):
    workflowId: str
    summary: str = ""
    description: str = ""
    inputs: JSONObject | bool | None = None
    dependsOn: list[str] = Field(default_factory=list)
    steps: list[Step]
    successActions: list[Action | Reusable] = Field(default_factory=list)
    failureActions: list[Action | Reusable] = Field(default_factory=list)
    outputs: dict[str, str] = Field(default_factory=dict)
    parameters: list[Parameter | Reusable] = Field(default_factory=list)
    pointer: str = ""

    def step(self, step_id: str) -> Step | None:
        return next((s for s in self.steps if s.stepId == step_id), None)


class Components(_Node):
    inputs: dict[str, JSONObject | bool] = Field(default_factory=dict)
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    successActions: dict[str, Action] = Field(default_factory=dict)
    failureActions: dict[str, Action] = Field(default_factory=dict)


class ArazzoDocument(_Node):
    arazzo: str
    info: Info
    sourceDescriptions: list[SourceDescription]
    workflows: list[Workflow]
    components: Components = Field(default_factory=Components)
    # Where the document came from (path or URL) and its raw JSON, for $ref in input schemas.
    location: str = ""
    label: str = ""  # how errors name the file: as the user gave it
    raw: JSONObject = Field(default_factory=dict, repr=False)
    warnings: list[str] = Field(default_factory=list)

    def workflow(self, workflow_id: str) -> Workflow | None:
        return next((w for w in self.workflows if w.workflowId == workflow_id), None)

    def source(self, name: str) -> SourceDescription | None:
        return next((s for s in self.sourceDescriptions if s.name == name), None)
