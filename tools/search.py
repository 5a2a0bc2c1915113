"""Ranked text search over a catalog's tools: BM25F-style scoring, built once, lazily.

Owns tokenization (camelCase, snake_case, kebab-case and paths split into words, a light
stemmer, a few API abbreviations folded together) and the inverted index. It knows tools only
through the fields it reads; it never builds or changes a tool.

Why hand-written: the scoring is ~60 lines, the index for Microsoft Graph's 11k operations
builds in well under a second, and a library (rank_bm25, whoosh, tantivy) would add a
dependency without doing better on short operation texts.

Fields are weighted by repeating their terms (a simplified BM25F): a word in the name or the
summary says more about what an operation does than one in a long description.
"""

from __future__ import annotations

import functools
import heapq
import math
import re
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from tools.model import Tool

FIELD_WEIGHTS: dict[str, float] = {
    "name": 3.0,
    "summary": 3.0,
    "tags": 2.0,
    "path": 1.5,
    "params": 1.0,
    "description": 1.0,
}
# Length normalization per field: names and paths vary little in length and a longer one is
# not less relevant; descriptions vary a lot.
FIELD_B: dict[str, float] = {
    "name": 0.5,
    "summary": 0.75,
    "tags": 0.3,
    "path": 0.5,
    "params": 0.75,
    "description": 0.75,
}
_K1 = 1.2
_MAX_ENUM = 20
_OVERLAP_WEIGHT = 2.0

_WORD = re.compile(r"[A-Za-z0-9]+")
# "listForRepo" -> list, For, Repo; "HTTPServer" -> HTTP, Server; "v2Api" -> v, 2, Api
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_STOP_WORDS = (
    "a an and are as at be by can do does for from how i in into is it its me my of on or our "
    "please that the their them this to us using via what when which who with you your"
)
_STOP = frozenset(_STOP_WORDS.split())
# Real APIs spell the same noun both ways ("repo" in paths, "repository" in summaries);
# users do too. Fold each pair onto one form, applied to documents and queries alike.
_ALIASES: dict[str, str] = {
    "repository": "repo",
    "repositories": "repo",
    "organization": "org",
    "organisation": "org",
    "organisations": "org",
    "organizations": "org",
    "configuration": "config",
    "configurations": "config",
    "information": "info",
    "authentication": "auth",
    "authorization": "auth",
    "application": "app",
    "applications": "app",
    "identifier": "id",
    "parameters": "param",
    "parameter": "param",
    "environment": "env",
    "environments": "env",
    "statistics": "stat",
    "stats": "stat",
    "remove": "delete",
    "fetch": "get",
    "retrieve": "get",
    "modify": "update",
    "edit": "update",
    "add": "create",
    "new": "create",
}


def stem(word: str) -> str:
    """A deliberately light suffix stripper: plurals, -ed, -ing, then a final -e.

    Consistency matters more than linguistics: "update", "updates", "updated" and "updating"
    must all meet on one key.
    """
    if len(word) <= 3 or word.isdigit():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if word.endswith("ing") and len(word) > 5:
        word = word[:-3]
    elif word.endswith("ed") and len(word) > 5:
        word = word[:-2]
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Split ``text`` into normalized search terms (lower case, stemmed, no stop words)."""
    out: list[str] = []
    for word in _WORD.findall(text):
        out.extend(_word_terms(word))
    return out


# API texts repeat the same few thousand words; memoizing per word makes indexing Microsoft
# Graph's 11k operations several times faster.
@functools.lru_cache(maxsize=1 << 16)
def _word_terms(word: str) -> tuple[str, ...]:
    terms: list[str] = []
    for part in _CAMEL.findall(word):
        low = part.lower()
        if low in _STOP:
            continue
        low = _ALIASES.get(low, low)
        terms.append(_ALIASES.get(stem(low), stem(low)))
    return tuple(terms)


class ToolBrief(NamedTuple):
    """What listing and searching need to know of a tool, without its schemas.

    A cached catalog holds only these until a tool is used, so that searching or listing
    Microsoft Graph's 11k operations never parses 100 MB of argument schemas.
    """

    name: str
    operation_id: str
    method: str
    path: str
    side_effect: str
    summary: str
    description: str
    tags: tuple[str, ...]
    # wire names of the parameters, the body's top-level fields, then short enums' values
    params: tuple[str, ...]


def brief_of(tool: Tool) -> ToolBrief:
    binding = tool.binding
    params: list[str] = [arg.wire_name for arg in binding.args]
    props = tool.parameters.get("properties")
    props = props if isinstance(props, dict) else {}
    body = props.get(binding.body.arg) if binding.body is not None else None
    body_props = body.get("properties") if isinstance(body, dict) else None
    if isinstance(body_props, dict):
        params.extend(body_props)
    # Enum values say what a tool can do: "mark a task done" is an update whose status enum
    # holds "done". Only short enums: Graph's $select lists hundreds of field names.
    for schema in [*props.values(), *(body_props or {}).values()]:
        values = schema.get("enum") if isinstance(schema, dict) else None
        if isinstance(values, list) and len(values) <= _MAX_ENUM:
            params.extend(v for v in values if isinstance(v, str))
    return ToolBrief(
        name=tool.name,
        operation_id=tool.operation_id or "",
        method=binding.method,
        path=binding.path,
        side_effect=binding.side_effect,
        summary=tool.summary,
        description=tool.description,
        tags=tuple(tool.tags),
        params=tuple(params),
    )


def tool_fields(brief: ToolBrief) -> dict[str, str]:
    """The text of each searchable field of one tool."""
    return {
        "name": f"{brief.name} {brief.operation_id}",
        "summary": brief.summary,
        "tags": " ".join(brief.tags),
        "path": brief.path,
        "params": " ".join(brief.params),
        "description": brief.description,
    }


class SearchIndex:
    """BM25F: per-field length normalization, weighted field frequencies, one BM25 saturation.

    Normalizing each field by its own average length matters here: a long description must
    not drown the short name and summary, where an exact match says the most.
    """

    def __init__(self, briefs: Sequence[ToolBrief]) -> None:
        docs = [{f: tokenize(text) for f, text in tool_fields(b).items()} for b in briefs]
        self._count = len(docs)
        avg = {f: sum(len(d[f]) for d in docs) / (self._count or 1) or 1.0 for f in FIELD_WEIGHTS}
        # term -> {doc: pseudo-frequency}; the query-independent part is computed once here.
        self._postings: dict[str, dict[int, float]] = {}
        # The terms of each tool's one-line summary (its name when it has none), for the
        # overlap bonus in ``search``.
        self._headlines = [frozenset(d["summary"] or d["name"]) for d in docs]
        for doc, fields in enumerate(docs):
            for field, terms in fields.items():
                if not terms:
                    continue
                weight, b = FIELD_WEIGHTS[field], FIELD_B[field]
                per_term = weight / (1.0 - b + b * len(terms) / avg[field])
                for term in terms:
                    posting = self._postings.setdefault(term, {})
                    posting[doc] = posting.get(doc, 0.0) + per_term

    def _idf(self, term: str) -> float:
        df = len(self._postings.get(term, ()))
        return math.log(1.0 + (self._count - df + 0.5) / (df + 0.5))

    def search(self, query: str, limit: int) -> list[tuple[int, float]]:
        """(document index, score) pairs, best first; ties keep catalog order."""
        terms = _unique(tokenize(query))
        if not terms or limit <= 0 or not self._count:
            return []
        scores: dict[int, float] = {}
        for term in terms:
            posting = self._postings.get(term)
            if not posting:
                continue
            idf = self._idf(term)
            for doc, tf in posting.items():
                scores[doc] = scores.get(doc, 0.0) + idf * tf * (_K1 + 1.0) / (tf + _K1)
        # BM25 saturates: on big APIs dozens of tools contain every query word. What separates
        # "Create a pull request" from "Create a pull request stack" is how exactly the summary
        # says what was asked: add the Jaccard overlap of the query and the summary terms.
        wanted = frozenset(terms)
        bonus = _OVERLAP_WEIGHT * sum(self._idf(t) for t in terms) / len(terms)
        for doc in scores:
            headline = self._headlines[doc]
            if headline:
                overlap = len(wanted & headline) / len(wanted | headline)
                scores[doc] += bonus * overlap
        best = heapq.nsmallest(limit, scores.items(), key=lambda item: (-item[1], item[0]))
        return [(doc, round(score, 6)) for doc, score in best]


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
