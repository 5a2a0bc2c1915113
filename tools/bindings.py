"""The HTTP side of a tool: servers, security, request media type, side effect, responses.

Owns reading these parts of an OpenAPI 3 shaped document (Swagger 2.0 is mapped first by
``tools.swagger2``) into the shared model types. Lenient by design: a malformed entry is
skipped with a warning naming its JSON pointer, never the whole operation.
"""

from __future__ import annotations

import re
from typing import Any, cast, get_args
from urllib.parse import urljoin

from tools.model import (
    BodyKind,
    EncodingRule,
    JSONObject,
    ParamStyle,
    ResponseRef,
    SecurityScheme,
    SecurityType,
    Server,
    ServerVariable,
    SideEffect,
)
from tools.refs import (
    DICT_URI,
    Loc,
    RefError,
    Resolver,
    as_object,
    is_url,
    pointer_join,
    text_at,
)

_TEMPLATE_VAR = re.compile(r"\{([^{}]*)\}")
_STYLES = frozenset(get_args(ParamStyle))
_SECURITY_TYPES = frozenset(get_args(SecurityType))
_SAFE = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_IDEMPOTENT = frozenset({"PUT", "DELETE"})


def read_servers(
    value: Any, spec_uri: str, pointer: str, warnings: list[str]
) -> list[Server] | None:
    """Server objects at ``pointer``; None when absent (the caller falls back a level).

    A relative server URL is resolved against the URL the spec was fetched from. A spec read
    from a file has no such base: the URL stays relative and a call needs ``--server``.
    """
    if not isinstance(value, list) or not value:
        if value is not None and not isinstance(value, list):
            warnings.append(f"{pointer}: servers must be a list of server objects, ignored")
        return None
    out: list[Server] = []
    for i, entry in enumerate(value):
        if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
            warnings.append(f"{pointer_join(pointer, i)}: server without a url string, ignored")
            continue
        url = entry["url"].strip()
        if is_url(spec_uri) and not url.startswith(("http://", "https://", "{")):
            url = urljoin(spec_uri, url)  # relative to where the spec was fetched from
        variables: dict[str, ServerVariable] = {}
        for name, var in as_object(entry.get("variables")).items():
            if not isinstance(var, dict):
                continue
            enum = [str(e) for e in var["enum"]] if isinstance(var.get("enum"), list) else None
            default = var.get("default")
            if default is None:
                warnings.append(
                    f"{pointer_join(pointer, i, 'variables', name)}: server variable "
                    "without a default; using its first enum value or ''"
                )
                default = enum[0] if enum else ""
            variables[str(name)] = ServerVariable(default=str(default), enum=enum or None)
        undefined = [v for v in _TEMPLATE_VAR.findall(url) if v not in variables]
        if undefined:
            # Kept, the literal "{region}" would be sent as a host name; without this server
            # a call says to pass --server instead.
            warnings.append(
                f"{pointer_join(pointer, i)}: server URL {url!r} uses variable "
                f"{undefined[0]!r}, which its 'variables' do not define; server ignored"
            )
            continue
        out.append(Server(url=url, variables=variables, description=text_at(entry, "description")))
    return out or None


def side_effect(method: str, operation: JSONObject) -> SideEffect:
    """safe / idempotent / unsafe from the method and ``x-openai-isConsequential``.

    ``x-openai-isConsequential: true`` marks any call unsafe (needs confirmation).
    ``false`` on a method that changes state makes it "idempotent", not "safe": the spec's
    author says the call is not consequential, so it need not be confirmed like an unsafe one,
    but it still changes data, so it is never reported as read-only. A GET stays safe.
    """
    consequential = operation.get("x-openai-isConsequential")
    if consequential is True:
        return "unsafe"
    if method in _SAFE:
        return "safe"
    if method in _IDEMPOTENT or consequential is False:
        return "idempotent"
    return "unsafe"


def read_security(
    value: Any, pointer: str, warnings: list[str]
) -> list[dict[str, list[str]]] | None:
    """A security requirement list; None when absent or malformed (inherit the root's)."""
    if not isinstance(value, list):
        if value is not None:
            warnings.append(f"{pointer}: security must be a list, ignored")
        return None
    out: list[dict[str, list[str]]] = []
    for entry in value:
        if isinstance(entry, dict):
            out.append(
                {
                    str(k): [str(s) for s in v] if isinstance(v, list) else []
                    for k, v in entry.items()
                }
            )
    return out


def check_security_names(
    requirements: list[dict[str, list[str]]] | None,
    pointer: str,
    known: frozenset[str] | None,
    warnings: list[str],
) -> None:
    """Warn about requirements naming a scheme the spec does not define (``known``)."""
    if known is None or not requirements:
        return
    for i, requirement in enumerate(requirements):
        for name in requirement:
            if name not in known:
                warnings.append(
                    f"{pointer_join(pointer, i, name)}: security scheme {name!r} is not defined "
                    "in the spec; calls needing it cannot be authenticated"
                )


def read_security_schemes(
    schemes: Any, resolver: Resolver, loc: Loc, warnings: list[str]
) -> dict[str, SecurityScheme]:
    out: dict[str, SecurityScheme] = {}
    if not isinstance(schemes, dict):
        return out
    for name, raw in schemes.items():
        where = pointer_join(loc[1], name)
        try:
            node, _ = resolver.deref(raw, (loc[0], where))
        except RefError as exc:
            warnings.append(f"{where}: security scheme skipped: {exc.message}")
            continue
        scheme = _security_scheme(str(name), node)
        if scheme is None:
            warnings.append(f"{where}: security scheme of unsupported type skipped")
        else:
            out[str(name)] = scheme
    return out


def _security_scheme(name: str, node: Any) -> SecurityScheme | None:
    if not isinstance(node, dict) or node.get("type") not in _SECURITY_TYPES:
        return None
    kind = cast(SecurityType, node["type"])
    location = node.get("in") if node.get("in") in ("header", "query", "cookie") else None
    token_url = None
    scopes: list[str] = []
    for flow_name, flow in as_object(node.get("flows")).items():
        if not isinstance(flow, dict):
            continue
        if flow_name == "clientCredentials" and isinstance(flow.get("tokenUrl"), str):
            token_url = flow["tokenUrl"]
        if isinstance(flow.get("scopes"), dict):
            scopes.extend(s for s in flow["scopes"] if s not in scopes)
    scheme = node.get("scheme")
    return SecurityScheme(
        name=name,
        type=kind,
        scheme=scheme.lower() if isinstance(scheme, str) else None,
        bearer_format=node.get("bearerFormat")
        if isinstance(node.get("bearerFormat"), str)
        else None,
        param_name=node.get("name") if isinstance(node.get("name"), str) else None,
        location=location,
        token_url=token_url,
        scopes=scopes,
        description=text_at(node, "description"),
    )


def media_kind(media_type: str) -> BodyKind | None:
    """The body kind of a media type, None for ones a JSON argument cannot express."""
    base = media_type.split(";", 1)[0].strip().lower()
    if base == "application/json" or base.endswith(("+json", "/json")) or base == "*/*":
        return "json"
    if base == "application/x-www-form-urlencoded":
        return "form"
    if base.startswith("multipart/"):
        return "multipart"
    if base.startswith("text/") or base.endswith(("/xml", "+xml")):
        return "text"
    return "binary"


_PREFERENCE: dict[str, int] = {"json": 0, "form": 1, "multipart": 2, "text": 3, "binary": 4}


def choose_media(content: JSONObject) -> tuple[str, str, BodyKind] | None:
    """(content key, media type sent, kind): JSON first, then forms, multipart, text, bytes.

    ``*/*`` is sent as JSON (application/json) when a schema other than a binary string is
    given, since a JSON argument is what the model can produce; otherwise as raw bytes.
    """
    best: tuple[int, int, str, BodyKind] | None = None
    for media_type in content:
        kind = media_kind(media_type)
        if kind is None:
            continue
        exact = 0 if media_type.split(";")[0].strip().lower() == "application/json" else 1
        if media_type.strip() == "*/*":
            exact = 2
            media_obj = content[media_type]
            schema = media_obj.get("schema") if isinstance(media_obj, dict) else None
            if not isinstance(schema, dict) or schema.get("format") == "binary" or not schema:
                kind = "binary"
        rank = (_PREFERENCE[kind], exact, media_type, kind)
        if best is None or rank[:2] < best[:2]:
            best = rank
    if best is None:
        return None
    key, kind = best[2], best[3]
    if key.strip() == "*/*":
        return key, "application/json" if kind == "json" else "application/octet-stream", kind
    return key, key, kind


def encoding_rules(value: Any) -> dict[str, EncodingRule]:
    out: dict[str, EncodingRule] = {}
    if not isinstance(value, dict):
        return out
    for prop, rule in value.items():
        if not isinstance(rule, dict):
            continue
        style = rule.get("style") if rule.get("style") in _STYLES else None
        headers = as_object(rule.get("headers"))
        out[str(prop)] = EncodingRule(
            content_type=rule.get("contentType")
            if isinstance(rule.get("contentType"), str)
            else None,
            style=style,
            explode=rule.get("explode") if isinstance(rule.get("explode"), bool) else None,
            allow_reserved=rule.get("allowReserved") is True,
            headers={str(h): _header_hint(v) for h, v in headers.items()},
        )
    return out


def _header_hint(header: Any) -> str:
    """An encoding header's fixed value when the spec gives one (a default), else ''."""
    if isinstance(header, dict):
        schema = header.get("schema")
        if isinstance(schema, dict) and isinstance(schema.get("default"), str | int | float):
            return str(schema["default"])
    return ""


def read_responses(
    responses: Any,
    loc: Loc,
    resolver: Resolver,
    main_uri: str,
    produces: list[str] | None,
) -> list[ResponseRef]:
    """ResponseRefs with JSON pointers of each schema.

    A schema in another file of a multi-file spec is ``<file>#<pointer>``, the file relative
    to the main document's folder (so a cached catalog does not depend on where it was made).
    """
    out: list[ResponseRef] = []
    if not isinstance(responses, dict):
        return out
    for status, raw in responses.items():
        status_s = str(status).upper()
        if status_s == "DEFAULT":
            status_s = "default"
        if not (status_s == "default" or (len(status_s) == 3 and status_s[0] in "12345")):
            continue
        try:
            node, where = resolver.deref(raw, (loc[0], pointer_join(loc[1], status_s)))
        except RefError:
            continue
        if not isinstance(node, dict):
            continue
        label = "" if where[0] in (main_uri, DICT_URI) else resolver.store.label(where[0])
        refs = _response_refs(status_s, node, where[1], label, produces)
        out.extend(refs or [ResponseRef(status=status_s)])
    return out


def _response_refs(
    status: str, node: JSONObject, where: str, label: str, produces: list[str] | None
) -> list[ResponseRef]:
    def ref(pointer: str) -> str:
        return f"{label}#{pointer}" if label else pointer

    if produces is not None:  # Swagger 2.0: one schema, media types from `produces`
        if "schema" not in node:
            return []
        pointer = ref(pointer_join(where, "schema"))
        return [
            ResponseRef(status=status, media_type=m, pointer=pointer)
            for m in (produces or ["application/json"])
        ]
    content = node.get("content")
    if not isinstance(content, dict):
        return []
    return [
        ResponseRef(
            status=status,
            media_type=str(media),
            pointer=ref(pointer_join(where, "content", media, "schema"))
            if isinstance(obj, dict) and "schema" in obj
            else None,
        )
        for media, obj in content.items()
    ]
