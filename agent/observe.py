"""What the model sees of a tool's result: the run's result store and compact, valid-JSON views.

Owns the per-run ``ResultStore`` (every result body kept whole under a handle "r1", "r2", ...),
the compact view of a big body, and the ``extract`` tool (a JMESPath query on a stored result).
It must not decide what to call or send anything; the planner asks it for observation text.

Design choices:
- A view is always valid JSON. Big bodies are shrunk structurally (arrays keep their first
  items plus a string marker saying how many were left out, long strings keep a prefix plus a
  marker, wide objects keep their first keys), never cut at a character offset.
- Budgets are in characters of the JSON text (``DEFAULT_VIEW_CHARS`` ~ 2,000 tokens: JSON
  averages about 4 characters per o200k token). Counting characters keeps the per-step overhead
  to microseconds; tiktoken is used where usage is reported, not here.
- A shortened view carries the body's shape (types, array counts), the pagination hints found
  in the headers or the body (Link ``rel=next``, ``next``, ``cursor``, ``page``...) and a note
  telling the model how to ``extract`` the rest by handle.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping

import jmespath
from jmespath.exceptions import JMESPathError

from agent.prompts import render
from tools.model import JSONObject, JSONValue

DEFAULT_VIEW_CHARS = 8_000

# From generous to strict: (items kept per array, characters kept per string, keys per object,
# depth). The first level whose view fits the budget wins.
_LEVELS: tuple[tuple[int, int, int, int], ...] = (
    (10, 400, 60, 8),
    (5, 200, 40, 6),
    (10, 120, 12, 4),  # several items with their telling keys beat two items in full
    (5, 120, 12, 4),
    (3, 80, 8, 3),
    (2, 40, 6, 3),
    (1, 24, 4, 2),
)
# Keys that say which object this is, kept first when an object must lose keys.
_IDENTITY_KEYS = frozenset(
    {
        "id", "number", "name", "title", "login", "key", "slug", "state", "status", "full_name",
        "email", "username", "display_name", "type", "sha", "ref", "version", "label",
    }
)  # fmt: skip
# Keys rarely worth the characters in a shortened view (GitHub repeats a dozen *_url per user).
_NOISE_KEYS = frozenset({"node_id", "gravatar_id", "avatar_url", "etag"})
_NOISE = 3  # rank of such keys
_PAGINATION_KEYS = frozenset(
    {
        "next", "next_page", "nextpage", "next_page_token", "nextpagetoken", "next_cursor",
        "nextcursor", "cursor", "after", "before", "page", "per_page", "page_size", "pagesize",
        "total", "total_count", "totalcount", "total_pages", "totalpages", "last_page",
        "has_more", "hasmore", "has_next", "offset", "limit", "previous", "prev", "count",
        "links", "_links", "paging", "pagination", "meta",
    }
)  # fmt: skip
_PAGINATION_HEADER = re.compile(
    r"^(link|x-total(-count)?|x-(next|prev|page|per-page).*|.*cursor.*)$"
)
_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?([a-zA-Z]+)"?')


def dumps(value: JSONValue) -> str:
    """The JSON text the model is shown: compact separators, non-ASCII kept readable."""
    try:
        return json.dumps(
            value, ensure_ascii=False, separators=(",", ":"), default=str, allow_nan=False
        )
    except ValueError:
        # NaN and Infinity are not JSON, yet a server's body (Python parses them) or JMESPath's
        # to_number('1e999') can hold them: shown as strings so the view stays valid JSON.
        return json.dumps(_finite(value), ensure_ascii=False, separators=(",", ":"), default=str)


def _finite(value: JSONValue) -> JSONValue:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


class ResultStore:
    """Every result of one conversation, kept whole and addressed by handle."""

    def __init__(self) -> None:
        self._items: dict[str, JSONValue] = {}

    def put(self, value: JSONValue) -> str:
        handle = f"r{len(self._items) + 1}"
        self._items[handle] = value
        return handle

    def get(self, handle: str) -> JSONValue:
        """The stored value; ``KeyError`` for an unknown handle."""
        return self._items[handle]

    def handles(self) -> list[str]:
        return list(self._items)

    def __contains__(self, handle: object) -> bool:
        return handle in self._items

    def __len__(self) -> int:
        return len(self._items)


def view(
    payload: JSONObject,
    body: JSONValue,
    *,
    handle: str,
    headers: Mapping[str, str] | None = None,
    limit: int = DEFAULT_VIEW_CHARS,
    extract_tool: str = "extract",
) -> str:
    """``payload`` plus the body (whole when it fits ``limit``, else shrunk) as JSON text.

    ``payload`` holds the fields that always come first (status, handle); it is not shrunk.
    ``extract_tool`` is the name the model calls ``extract`` by (see ``agent.toolview``).
    Pagination found in the headers is shown even with a whole body: a page that fits is
    still only a page (GitHub's 30 issues with ``Link: rel="next"``).
    """
    paged = pagination(headers or {}, None)
    whole = dumps({**payload, **({"pagination": paged} if paged else {}), "body": body})
    if len(whole) <= limit:
        return whole
    head: JSONObject = {
        **payload,
        "truncated": True,
        "note": render("obs_truncated", handle=handle, extract=extract_tool),
    }
    hints = pagination(headers or {}, body)
    if hints:
        head["pagination"] = hints
    # The shape shares the budget with the items: a wide one (GitHub's issue: 40 keys, users
    # nested) is kept shallower so that the body keeps room.
    head["shape"] = next(
        (s for d in (3, 2) if len(dumps(s := shape(body, depth=d))) <= limit // 4),
        shape(body, depth=1),
    )
    for items, chars, keys, depth in _LEVELS:
        text = dumps({**head, "body": trim(body, items, chars, keys, depth)})
        if len(text) <= limit:
            return text
    head["shape"] = shape(body, depth=1)
    return dumps({**head, "body": trim(body, 1, 24, 6, 1)})


def trim(value: JSONValue, items: int, chars: int, keys: int, depth: int) -> JSONValue:
    """A structurally shrunk copy of ``value``; every cut leaves a marker saying what was left."""
    if isinstance(value, str):
        if len(value) <= chars:
            return value
        return f"{value[:chars]}…[+{len(value) - chars} chars]"
    if isinstance(value, list):
        if depth <= 0:
            return f"[…{len(value)} items]"
        kept: list[JSONValue] = [trim(v, items, chars, keys, depth - 1) for v in value[:items]]
        if len(value) > items:
            kept.append(f"…[+{len(value) - items} more items]")
        return kept
    if isinstance(value, dict):
        if depth <= 0:
            return f"{{…{len(value)} keys}}"
        out: JSONObject = {}
        for key in _telling_keys(value, keys):
            out[key] = trim(value[key], items, chars, keys, depth - 1)
        if len(value) > keys:
            out["…"] = f"+{len(value) - keys} more keys"
        return out
    return value


def _telling_keys(obj: JSONObject, keys: int) -> list[str]:
    """Up to ``keys`` most telling keys of ``obj``, in their original order.

    Once an object has to lose keys, links and ids of other systems go first and entirely:
    their room is better spent on more items.
    """
    if len(obj) <= keys:
        return list(obj)
    ranks = {key: _key_rank(key, value) for key, value in obj.items()}
    kept = sorted((k for k in obj if ranks[k] < _NOISE), key=lambda k: ranks[k])[:keys]
    return [key for key in obj if key in kept]


def _key_rank(key: str, value: JSONValue) -> int:
    lower = key.lower()
    if lower in _IDENTITY_KEYS:
        return 0
    if lower in _NOISE_KEYS or lower.endswith(("url", "_link")):
        return _NOISE
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        return _NOISE
    return 2 if isinstance(value, (dict, list)) else 1


def shape(value: JSONValue, depth: int = 3, keys: int = 25) -> JSONValue:
    """The types of ``value`` with array counts: what the model needs to write an expression."""
    if isinstance(value, list):
        first = next((v for v in value if v is not None), None)
        out: JSONObject = {"type": "array", "count": len(value)}
        if first is not None:
            out["items"] = shape(first, depth - 1, keys) if depth > 0 else json_type(first)
        return out
    if isinstance(value, dict):
        if depth <= 0:
            return f"object({len(value)} keys)"
        fields: JSONObject = {k: shape(value[k], depth - 1, keys) for k in list(value)[:keys]}
        if len(value) > keys:
            fields["…"] = f"+{len(value) - keys} more keys"
        return fields
    return json_type(value)


def json_type(value: JSONValue) -> str:
    """The JSON Schema type name of a JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def pagination(headers: Mapping[str, str], body: JSONValue) -> JSONObject:
    """Pagination hints: Link header relations, cursor/page headers, top-level body fields."""
    hints: JSONObject = {}
    for name, value in headers.items():
        lower = name.lower()
        if lower == "link":
            hints.update({rel: url for url, rel in _LINK.findall(value)})
        elif _PAGINATION_HEADER.match(lower):
            hints[lower] = value
    if isinstance(body, dict):
        for key, value in body.items():
            if key.lower() in _PAGINATION_KEYS and len(dumps(value)) <= 400:
                hints[key] = value
    return hints


def extract(
    store: ResultStore, handle: str, expression: str, *, limit: int, tool: str = "extract"
) -> tuple[str, bool]:
    """The observation for ``extract`` and whether the query worked (False: the text says why)."""
    if handle not in store:
        known = ", ".join(store.handles()) or "none yet"
        return render("obs_unknown_handle", handle=handle, handles=known, extract=tool), False
    try:
        result = jmespath.search(expression, store.get(handle))
    except JMESPathError as exc:
        return render("obs_extract_error", error=_one_line(str(exc)), extract=tool), False
    except RecursionError:  # jmespath's parser recurses per nesting level
        error = "the expression is nested too deeply"
        return render("obs_extract_error", error=error, extract=tool), False
    except (ValueError, OverflowError) as exc:  # e.g. an index of 5000 digits
        return render("obs_extract_error", error=_one_line(str(exc))[:200], extract=tool), False
    payload: JSONObject = {"handle": handle, "expression": expression}
    if len(dumps(result)) + 60 > limit:
        # Big enough to be shortened: keep it whole under its own handle so the model can
        # narrow it down further.
        new = store.put(result)
        shown = view({**payload, "handle": new}, result, handle=new, limit=limit, extract_tool=tool)
        return shown, True
    return dumps({**payload, "result": result}), True


def _one_line(text: str) -> str:
    return " ".join(text.split())
