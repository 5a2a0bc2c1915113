"""XML response bodies as JSON values, parsed with the protections of defusedxml.

Owns turning an XML document into a dict the model can read. It uses the stdlib expat parser
directly (no new dependency) and refuses what defusedxml refuses: any DTD (so no internal
entity expansion, the "billion laughs" bomb, and no external entities or network fetches).
APIs do not need DTDs to send data; a body with one is kept as text by the caller.

Shape (the convention of xmltodict, which readers of XML-as-JSON expect): ``{root: value}``;
an element with only text is its text; otherwise a dict with ``@attr`` keys for attributes,
child tags as keys (a list when a tag repeats) and ``#text`` for text beside children.
Namespace prefixes are kept as written (``ns:tag``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NoReturn
from xml.parsers import expat

from tools.model import JSONObject, JSONValue


class XMLRefusedError(ValueError):
    """The document declares a DTD or entities, which Baton never expands."""


@dataclass
class _Frame:
    tag: str
    node: JSONObject
    texts: list[str] = field(default_factory=list)
    repeated: set[str] = field(default_factory=set)  # child tags that became lists


class _Builder:
    """Builds the dict with an explicit stack: deep documents cannot exhaust recursion."""

    def __init__(self) -> None:
        self.stack: list[_Frame] = []
        self.root: JSONObject | None = None

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        self.stack.append(_Frame(tag, {f"@{k}": v for k, v in attrs.items()}))

    def end(self, tag: str) -> None:
        frame = self.stack.pop()
        text = "".join(frame.texts).strip()
        value: JSONValue
        if frame.node:
            if text:
                frame.node["#text"] = text
            value = frame.node
        else:
            value = text if text else None
        if not self.stack:
            self.root = {frame.tag: value}
            return
        parent = self.stack[-1]
        if frame.tag in parent.repeated:
            parent.node[frame.tag].append(value)
        elif frame.tag in parent.node:
            parent.node[frame.tag] = [parent.node[frame.tag], value]
            parent.repeated.add(frame.tag)
        else:
            parent.node[frame.tag] = value

    def data(self, text: str) -> None:
        if self.stack:
            self.stack[-1].texts.append(text)


def _refuse(*_: Any) -> NoReturn:
    raise XMLRefusedError("the XML declares a DTD or entities, which are refused")


def parse_xml(content: bytes) -> JSONObject:
    """The document as a dict; ``XMLRefusedError`` for DTDs, ``ValueError`` when malformed."""
    builder = _Builder()
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.UnparsedEntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.buffer_text = True
    try:
        parser.Parse(content, True)
    except expat.ExpatError as exc:
        raise ValueError(f"malformed XML: {exc}") from None
    if builder.root is None:
        raise ValueError("malformed XML: no root element")
    return builder.root
