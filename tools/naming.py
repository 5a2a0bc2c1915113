"""Names and descriptions a model sees: tool names, argument names, trimmed descriptions.

Owns the rules, all deterministic (the same spec always gives the same names):
- A tool is named after its ``operationId``, else ``<method>_<path>``; characters outside
  ``[a-zA-Z0-9_-]`` become ``_``. A name over 64 characters keeps its first 55 and gets
  ``_`` + 8 hex digits of the full name's sha1, so it stays readable and unique.
- Clashes get ``_2``, ``_3`` ... in document order, with a warning when an operationId moved.
- Argument names use ``[a-zA-Z0-9_.-]`` (the property-name subset every provider accepts).
- Descriptions are summary then description, as plain text (markdown emphasis, links,
  blockquotes, admonitions and HTML tags removed: they cost tokens and tell a model nothing),
  whitespace collapsed, cut to a budget at a sentence end when one is near the budget, else at
  a word boundary, with an ellipsis.
"""

from __future__ import annotations

import hashlib
import re

MAX_NAME = 64
DESCRIPTION_BUDGET = 300
_TOOL_BAD = re.compile(r"[^a-zA-Z0-9_-]+")
_ARG_BAD = re.compile(r"[^a-zA-Z0-9_.-]+")
_SPACE = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")
_MARKUP = (
    (re.compile(r"\[([^\]]*)\]\([^)\s]*\)"), r"\1"),  # [text](url) -> text
    (re.compile(r"\[!(?:NOTE|TIP|IMPORTANT|WARNING|CAUTION)\]", re.IGNORECASE), ""),
    (re.compile(r"^[ \t]*>[ \t]?", re.MULTILINE), ""),  # blockquote markers
    (re.compile(r"</?[a-zA-Z][^<>]*>"), " "),  # HTML tags
    (re.compile(r"\*\*|__"), ""),  # bold
)


def plain_text(text: str) -> str:
    for pattern, replacement in _MARKUP:
        text = pattern.sub(replacement, text)
    return _SPACE.sub(" ", text).strip()


def _shorten(name: str, limit: int = MAX_NAME) -> str:
    if len(name) <= limit:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]  # noqa: S324 - naming, not security
    return f"{name[: limit - 9].rstrip('_-')}_{digest}"


def tool_base_name(operation_id: object, method: str, path: str) -> str:
    """The name before de-duplication."""
    if isinstance(operation_id, str):
        name = _TOOL_BAD.sub("_", operation_id.strip()).strip("_")
        if name:
            return _shorten(name)
    words = [w for w in re.split(r"[/{}]+", path) if w]
    name = _TOOL_BAD.sub("_", "_".join([method.lower(), *words])).strip("_")
    return _shorten(name or method.lower())


class NameRegistry:
    """Hands out unique names: the base, else ``base_2``, ``base_3`` ... (all within 64)."""

    def __init__(self) -> None:
        self._used: set[str] = set()

    def claim(self, base: str) -> str:
        name, n = base, 1
        while name in self._used:
            n += 1
            suffix = f"_{n}"
            name = _shorten(base, MAX_NAME - len(suffix)) + suffix
        self._used.add(name)
        return name

    def __contains__(self, name: str) -> bool:
        return name in self._used


def claim_tool_name(
    names: NameRegistry,
    operation_id: object,
    method: str,
    path: str,
    pointer: str,
    warnings: list[str],
) -> str:
    """The operation's unique tool name; a warning when its operationId had to be renamed.

    Workflows (Arazzo) and users address operations by operationId: say which one moved.
    """
    base = tool_base_name(operation_id, method, path)
    name = names.claim(base)
    if name != base and isinstance(operation_id, str):
        warnings.append(
            f"{pointer}: operationId {operation_id!r} is not unique; this operation's tool is "
            f"named {name!r}"
        )
    return name


def arg_name(wire_name: str) -> str:
    """A property name for a parameter (its wire name is kept in the binding)."""
    name = _ARG_BAD.sub("_", wire_name).strip("_")
    if not name:
        digest = hashlib.sha1(wire_name.encode()).hexdigest()[:8]  # noqa: S324
        name = f"param_{digest}"
    return _shorten(name)


def describe(summary: object, description: object, budget: int = DESCRIPTION_BUDGET) -> str:
    """Summary and description as one short text for the model."""
    parts: list[str] = []
    for text in (summary, description):
        if isinstance(text, str):
            clean = plain_text(text)
            if clean and not any(clean in p or p.rstrip(".") in clean[: len(p)] for p in parts):
                parts.append(clean)
    if len(parts) == 2 and not parts[0].endswith((".", "!", "?", ":")):
        parts[0] += "."
    return trim(" ".join(parts), budget)


def trim(text: str, budget: int = DESCRIPTION_BUDGET) -> str:
    if len(text) <= budget:
        return text
    window = text[: budget - 1]
    ends = [m.end() for m in _SENTENCE_END.finditer(window)]
    if ends and ends[-1] >= budget // 2:
        return window[: ends[-1]]
    cut = window.rsplit(" ", 1)[0] if " " in window else window
    return cut.rstrip(" ,;:") + "…"
