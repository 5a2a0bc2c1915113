"""Swagger 2.0 mapped onto the OpenAPI 3 shapes the rest of the ingester reads.

Owns the translation of the parts that differ: ``host``/``basePath``/``schemes`` become
servers; ``securityDefinitions`` become security schemes; non-body parameters get a ``schema``
built from their own type keywords and a style from ``collectionFormat``; ``in: body`` and
``in: formData`` parameters become one request body (per ``consumes``); response schemas get
the media types of ``produces``. Schemas themselves (``definitions``, ``type: file``,
``x-nullable``) are handled by ``tools.schemas``. The document is never copied or rewritten:
operations are translated one at a time, on the fly.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tools.model import JSONObject, JSONValue
from tools.refs import is_url, text_at

# Parameter keywords that are schema keywords in Swagger 2.0 (the parameter is its own schema).
_SCHEMA_WORDS = (
    "type",
    "format",
    "items",
    "enum",
    "default",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "multipleOf",
    "x-nullable",
)
# collectionFormat -> (style for query, explode). "tsv" has no OpenAPI 3 style: csv is closest.
_COLLECTION = {
    "csv": ("form", False),
    "ssv": ("spaceDelimited", False),
    "tsv": ("form", False),
    "pipes": ("pipeDelimited", False),
    "multi": ("form", True),
}
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


def servers(doc: JSONObject, spec_uri: str) -> list[JSONObject]:
    """OpenAPI 3 server objects from ``schemes``, ``host`` and ``basePath``."""
    base_path = text_at(doc, "basePath").strip("/")
    base_path = "/" + base_path if base_path else ""
    host = text_at(doc, "host")
    schemes = [s for s in doc.get("schemes") or [] if s in ("https", "http", "wss", "ws")]
    if not host and is_url(spec_uri):
        parts = urlsplit(spec_uri)
        host = parts.netloc
        schemes = schemes or [parts.scheme]
    if not host:
        return [{"url": base_path or "/"}]
    # Prefer https when a spec offers both: same API, and credentials must not go in clear.
    ordered = sorted(schemes or ["https"], key=lambda s: s not in ("https", "wss"))
    return [{"url": f"{scheme}://{host.rstrip('/')}{base_path}"} for scheme in ordered]


def security_scheme(definition: JSONObject) -> JSONObject:
    """A Swagger 2.0 security definition as an OpenAPI 3 security scheme object."""
    kind = definition.get("type")
    out: JSONObject = {"description": definition.get("description", "")}
    if kind == "basic":
        out.update(type="http", scheme="basic")
    elif kind == "apiKey":
        out.update(type="apiKey", name=definition.get("name"), **{"in": definition.get("in")})
    elif kind == "oauth2":
        flow = {"application": "clientCredentials", "accessCode": "authorizationCode"}.get(
            str(definition.get("flow")), str(definition.get("flow"))
        )
        body = {
            "tokenUrl": definition.get("tokenUrl"),
            "authorizationUrl": definition.get("authorizationUrl"),
            "scopes": definition.get("scopes") or {},
        }
        out.update(type="oauth2", flows={flow: body})
    else:
        out["type"] = kind
    return out


def parameter(param: JSONObject) -> JSONObject:
    """A non-body Swagger 2.0 parameter in OpenAPI 3 shape (schema + style)."""
    out: JSONObject = {k: param[k] for k in ("name", "in", "required", "description") if k in param}
    schema = {k: param[k] for k in _SCHEMA_WORDS if k in param}
    if param.get("allowEmptyValue") is True:
        out["allowEmptyValue"] = True
    out["schema"] = schema
    if schema.get("type") == "array":
        style, explode = _COLLECTION.get(str(param.get("collectionFormat", "csv")), ("form", False))
        location = param.get("in")
        if location in ("path", "header"):
            style = "simple"
        out["style"], out["explode"] = style, explode
    return out


def form_body(params: list[JSONObject], consumes: list[str]) -> JSONObject:
    """``in: formData`` parameters as one form or multipart request body."""
    properties: JSONObject = {}
    required: list[str] = []
    encoding: JSONObject = {}
    has_file = False
    for param in params:
        name = param.get("name")
        if not isinstance(name, str):
            continue
        schema = {k: param[k] for k in _SCHEMA_WORDS if k in param}
        if isinstance(param.get("description"), str):
            schema["description"] = param["description"]
        if param.get("type") == "file":
            has_file = True
        if schema.get("type") == "array":
            fmt = str(param.get("collectionFormat", "csv"))
            style, explode = _COLLECTION.get(fmt, ("form", False))
            encoding[name] = {"style": style, "explode": explode}
        properties[name] = schema
        if param.get("required") is True:
            required.append(name)
    schema_obj: JSONObject = {"type": "object", "properties": properties}
    if required:
        schema_obj["required"] = required
    media = MULTIPART if has_file or MULTIPART in consumes else FORM
    if FORM in consumes and not has_file and MULTIPART not in consumes:
        media = FORM
    media_obj: JSONObject = {"schema": schema_obj}
    if encoding:
        media_obj["encoding"] = encoding
    return {"content": {media: media_obj}, "required": bool(required)}


def body(param: JSONObject, consumes: list[str]) -> JSONObject:
    """An ``in: body`` parameter as a request body with one entry per consumed media type."""
    media_types = [m for m in consumes if not m.startswith(("multipart/", FORM))] or [
        "application/json"
    ]
    schema: JSONValue = param.get("schema", {})
    out: JSONObject = {
        "content": {m: {"schema": schema} for m in media_types},
        "required": param.get("required") is True,
    }
    if isinstance(param.get("description"), str):
        out["description"] = param["description"]
    return out


def media_list(value: Any) -> list[str]:
    return [m for m in value if isinstance(m, str)] if isinstance(value, list) else []
