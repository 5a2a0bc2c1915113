"""Request bodies of Arazzo steps: payload templates, runtime expressions, replacements.

Owns turning a Request Body Object into the value of the tool's body argument: an object
payload has its expressions evaluated in place (types kept); a string payload is a template
whose ``{$...}`` parts are filled in; for JSON media types the template is parsed so that
``"{$inputs.customer}"`` becomes the customer object, not its text; a form string becomes a
field map. Replacements then set values at JSON pointers (or XPath for XML text).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from urllib.parse import parse_qsl

import elementpath

from tools.arazzo.errors import ExpressionError
from tools.arazzo.expressions import (
    MISSING,
    Scope,
    embedded,
    evaluate,
    evaluate_value,
    looks_like_expression,
    render,
    to_text,
)
from tools.arazzo.model import RequestBody
from tools.model import JSONValue

_PLACEHOLDER = re.compile(r'("?)\{(\$[^{}\s]+)\}("?)')


def build_body(body: RequestBody, media_type: str, scope: Scope) -> JSONValue:
    """The body argument for a step (``media_type``: contentType, else the operation's)."""
    payload = body.payload
    if isinstance(payload, str) and not looks_like_expression(payload):
        value = _template(payload, media_type.lower(), scope)
    else:
        value = evaluate_value(payload, scope)
    for rep in body.replacements:
        new = evaluate_value(rep.value, scope)
        if isinstance(value, str):  # XML (or other text): the target is an XPath
            value = _set_xpath(value, rep.target, new)
        elif rep.target.startswith("/"):
            value = set_pointer(value, rep.target, new)
        else:
            raise ExpressionError(rep.target, "a replacement target is a JSON pointer ('/...')")
    return None if value is MISSING else value


def _template(text: str, media: str, scope: Scope) -> JSONValue:
    if "json" in media:
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            # Unquoted placeholders ({"id": {$inputs.id}}): fill in JSON text, then parse.
            filled = _fill_json(text, scope)
            try:
                return json.loads(filled)
            except json.JSONDecodeError as exc:
                raise ExpressionError("payload", f"not JSON once filled in: {exc}") from None
        return evaluate_value(parsed, scope)
    if "x-www-form-urlencoded" in media:
        return dict(parse_qsl(_fill(text, scope), keep_blank_values=True))
    return render(text, scope) if "{$" in text else text


def _fill(text: str, scope: Scope) -> str:
    for expr in embedded(text):
        text = text.replace("{" + expr + "}", to_text(evaluate(expr, scope)), 1)
    return text


def _fill_json(text: str, scope: Scope) -> str:
    """Fill a JSON template that only parses once filled in, keeping value types.

    ``"{$x}"`` (quoted alone) and ``{$x}`` after ``:``, ``,`` or ``[`` become the JSON of the
    value; a placeholder inside a longer string becomes its escaped text.
    """
    out: list[str] = []
    pos = 0
    for match in _PLACEHOLDER.finditer(text):
        value = evaluate(match.group(2), scope)
        before = text[pos : match.start()]
        whole = match.group(1) == '"' and match.group(3) == '"'
        lead = before.rstrip()[-1:] if before.strip() else "".join(out).rstrip()[-1:]
        if whole or (not match.group(1) and lead in (":", ",", "[")):
            piece = "null" if value is MISSING else json.dumps(value)
        else:
            piece = match.group(1) + json.dumps(to_text(value))[1:-1] + match.group(3)
        out += [before, piece]
        pos = match.end()
    out.append(text[pos:])
    return "".join(out)


def set_pointer(doc: JSONValue, pointer: str, value: JSONValue) -> JSONValue:
    """A copy of ``doc`` with ``value`` at ``pointer`` (the parent must exist; '-' appends)."""
    tokens = [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]
    root = json.loads(json.dumps(doc))
    node = root
    for token in tokens[:-1]:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise ExpressionError(pointer, f"the payload has nothing at {token!r}")
    last = tokens[-1]
    if isinstance(node, dict):
        node[last] = value
    elif isinstance(node, list) and last == "-":
        node.append(value)
    elif isinstance(node, list) and last.isdigit() and int(last) <= len(node):
        node[int(last) : int(last) + 1] = [value]
    else:
        raise ExpressionError(pointer, "the payload cannot hold a value there")
    return root


def _set_xpath(text: str, path: str, value: JSONValue) -> str:
    try:
        root = ET.fromstring(text)  # noqa: S314 - the document's own payload template
    except ET.ParseError as exc:
        raise ExpressionError(path, f"an XPath target needs an XML payload: {exc}") from None
    found = elementpath.select(root, path)
    elements = [e for e in found if isinstance(e, ET.Element)] if isinstance(found, list) else []
    if not elements:
        raise ExpressionError(path, "the XPath target selects no element of the payload")
    for element in elements:
        element.text = to_text(value)
    return ET.tostring(root, encoding="unicode")
