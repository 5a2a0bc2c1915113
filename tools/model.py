"""The typed tool model every layer shares: what one API operation becomes.

Owns the data shapes only (pydantic, persisted in the catalog cache). It must not know how a
spec is parsed (``ingest``) or how a call is sent (``executor``).

Design choices recorded here:
- Parameters are top-level properties of the tool's argument object; the request body, when
  there is one, is the single property named by ``BodyBinding.arg`` (``"body"`` unless a
  parameter already took that name). Keeping the body whole avoids collisions between body
  fields and parameters and maps 1:1 onto the spec's request schema.
- Argument names are sanitized to ``^[a-zA-Z0-9_.-]{1,64}$`` (the portable subset every
  provider accepts for property names); the name sent on the wire is kept in ``wire_name``.
"""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field

# Raw JSON crosses layer boundaries under these aliases, never as bare ``Any`` everywhere.
JSONValue: TypeAlias = Any
JSONObject: TypeAlias = dict[str, Any]

ParamLocation = Literal["path", "query", "header", "cookie"]
ParamStyle = Literal[
    "simple", "label", "matrix", "form", "spaceDelimited", "pipeDelimited", "deepObject"
]
SideEffect = Literal["safe", "idempotent", "unsafe"]
BodyKind = Literal["json", "form", "multipart", "text", "binary"]
SecurityType = Literal["apiKey", "http", "oauth2", "openIdConnect", "mutualTLS"]

TOOL_NAME_PATTERN = r"^[a-zA-Z0-9_-]{1,64}$"
ARG_NAME_PATTERN = r"^[a-zA-Z0-9_.-]{1,64}$"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ArgBinding(_Frozen):
    """How one parameter argument travels on the wire."""

    name: str  # property name in Tool.parameters
    wire_name: str  # parameter name as the spec declares it
    location: ParamLocation
    style: ParamStyle
    explode: bool
    required: bool
    allow_reserved: bool = False
    # A parameter declared with ``content`` instead of ``schema`` is serialized with this media
    # type (JSON text for application/json) and then percent-encoded like any value.
    content_type: str | None = None


class EncodingRule(_Frozen):
    """OpenAPI Encoding Object for one property of a form or multipart body."""

    content_type: str | None = None
    style: ParamStyle | None = None
    explode: bool | None = None
    allow_reserved: bool = False
    headers: dict[str, str] = Field(default_factory=dict)


class BodyBinding(_Frozen):
    arg: str  # property name in Tool.parameters holding the body
    media_type: str  # exact media type from the spec, e.g. "application/json"
    kind: BodyKind
    required: bool
    encoding: dict[str, EncodingRule] = Field(default_factory=dict)


class ServerVariable(_Frozen):
    default: str
    enum: list[str] | None = None


class Server(_Frozen):
    url: str  # may hold {variables}; already resolved against the spec's location
    variables: dict[str, ServerVariable] = Field(default_factory=dict)
    description: str = ""


class SecurityScheme(_Frozen):
    """One entry of ``components.securitySchemes`` (or Swagger 2.0 ``securityDefinitions``)."""

    name: str  # the key in securitySchemes; credentials env vars derive from it
    type: SecurityType
    scheme: str | None = None  # http: "basic", "bearer", ... (lower-cased)
    bearer_format: str | None = None
    param_name: str | None = None  # apiKey: header/query/cookie name
    location: Literal["header", "query", "cookie"] | None = None  # apiKey
    token_url: str | None = None  # oauth2 clientCredentials flow
    scopes: list[str] = Field(default_factory=list)
    description: str = ""


class ResponseRef(_Frozen):
    """Where a declared response's schema lives, built lazily (GitHub's are huge)."""

    status: str  # "200", "2XX", "default"
    media_type: str | None = None
    pointer: str | None = None  # JSON pointer of the schema in the source document


class HttpBinding(_Frozen):
    method: str  # upper case
    path: str  # template, e.g. "/repos/{owner}/{repo}/issues"
    servers: list[Server]
    args: list[ArgBinding] = Field(default_factory=list)
    body: BodyBinding | None = None
    # Alternatives (OR) of requirements (AND of schemes -> scopes). [] means no auth;
    # an empty dict among the alternatives means auth is optional.
    security: list[dict[str, list[str]]] = Field(default_factory=list)
    side_effect: SideEffect
    responses: list[ResponseRef] = Field(default_factory=list)


class Tool(_Frozen):
    name: str = Field(pattern=TOOL_NAME_PATTERN)
    description: str
    parameters: JSONObject  # one JSON Schema object (draft 2020-12) with local $defs
    # The OpenAI strict-mode variant (every property required, optional ones nullable,
    # additionalProperties false) or None when strict mode cannot express the schema.
    strict_parameters: JSONObject | None = None
    binding: HttpBinding
    operation_id: str | None = None
    summary: str = ""
    tags: list[str] = Field(default_factory=list)
    deprecated: bool = False
    source: str = ""  # the spec this tool came from (path, URL or title)
    pointer: str = ""  # JSON pointer of the operation in that spec, e.g. "/paths/~1pets/get"

    def arg(self, name: str) -> ArgBinding | None:
        return next((a for a in self.binding.args if a.name == name), None)
