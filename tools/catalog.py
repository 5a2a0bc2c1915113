"""The catalog: every tool of one or more API descriptions, by name, searchable, exportable.

Owns lookup (with "did you mean" suggestions), ranked search (delegated to ``tools.search``,
index built once on first use), the exports a model or a client needs (OpenAI ``tools`` array,
MCP tool list, JSON for the disk cache), merging several specs into one catalog, and the lazy
lookup of a declared response's schema. It never parses a spec (``tools.ingest`` does) and
never sends a request.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tools.errors import UnknownToolError
from tools.model import JSONObject, ResponseRef, SecurityScheme, Tool
from tools.search import SearchIndex, ToolBrief, brief_of

SchemaResolver = Callable[[str], JSONObject | None]
ToolLoader = Callable[[], Tool]

# Bumped whenever the JSON layout of ``to_json`` changes; ``from_json`` refuses other versions.
CATALOG_FORMAT = "baton.catalog/1"


@dataclass(frozen=True)
class SearchHit:
    tool: Tool
    score: float


class Catalog:
    """An ordered, name-unique collection of tools plus what a call needs besides them."""

    def __init__(
        self,
        tools: Iterable[Tool],
        *,
        security_schemes: Mapping[str, SecurityScheme] | None = None,
        title: str = "",
        source: str = "",
        spec_hash: str = "",
        warnings: Iterable[str] = (),
        schema_resolver: SchemaResolver | None = None,
    ) -> None:
        self._names: list[str] = []  # catalog order
        self._tools: dict[str, Tool] = {}  # materialized tools
        # Tools known only by their brief until first use (cached catalogs, see from_briefs).
        self._lazy: dict[str, tuple[ToolBrief, ToolLoader]] = {}
        for tool in tools:
            self._add(tool.name, title)
            self._tools[tool.name] = tool
        self._schemes: dict[str, SecurityScheme] = dict(security_schemes or {})
        self._title = title
        self._source = source
        self._spec_hash = spec_hash
        self._warnings = list(warnings)
        self._schema_resolver = schema_resolver
        # One resolver per tool: a merged catalog routes each tool to its own spec's document.
        self._resolvers: dict[str, SchemaResolver] = {}
        self._resolved: dict[tuple[str, str], JSONObject | None] = {}
        self._index: SearchIndex | None = None

    def _add(self, name: str, title: str) -> None:
        if name in self._tools or name in self._lazy:
            raise ValueError(f"duplicate tool name {name!r} in catalog {title!r}")
        self._names.append(name)

    @classmethod
    def from_briefs(
        cls,
        entries: Iterable[tuple[ToolBrief, ToolLoader]],
        *,
        security_schemes: Mapping[str, SecurityScheme] | None = None,
        title: str = "",
        source: str = "",
        spec_hash: str = "",
        warnings: Iterable[str] = (),
        schema_resolver: SchemaResolver | None = None,
    ) -> Catalog:
        """A catalog whose tools are built on first use; listing and search need only briefs."""
        catalog = cls(
            (),
            security_schemes=security_schemes,
            title=title,
            source=source,
            spec_hash=spec_hash,
            warnings=warnings,
            schema_resolver=schema_resolver,
        )
        for brief, load in entries:
            catalog._add(brief.name, title)
            catalog._lazy[brief.name] = (brief, load)
        return catalog

    # -- plain accessors -------------------------------------------------------------------
    @property
    def title(self) -> str:
        return self._title

    @property
    def source(self) -> str:
        return self._source

    @property
    def spec_hash(self) -> str:
        return self._spec_hash

    @property
    def warnings(self) -> list[str]:
        return list(self._warnings)

    @property
    def security_schemes(self) -> dict[str, SecurityScheme]:
        return dict(self._schemes)

    @property
    def schema_resolver(self) -> SchemaResolver | None:
        """The spec's pointer -> schema resolver (None for merged or resolver-less catalogs)."""
        return self._schema_resolver

    def __len__(self) -> int:
        return len(self._names)

    def __iter__(self) -> Iterator[Tool]:
        return (self.get(name) for name in list(self._names))

    def __contains__(self, name: object) -> bool:
        return name in self._tools or name in self._lazy

    def __repr__(self) -> str:
        return f"<Catalog {self._title or self._source!r}: {len(self)} tools>"

    def names(self) -> list[str]:
        return list(self._names)

    def get(self, name: str) -> Tool:
        tool = self._tools.get(name)
        if tool is not None:
            return tool
        if name not in self._lazy:
            raise UnknownToolError(name, self.suggest(name))
        tool = self._lazy[name][1]()
        del self._lazy[name]
        self._tools[name] = tool
        return tool

    def brief(self, name: str) -> ToolBrief:
        """Name, method, path, side effect, summary... of a tool, without building its schemas."""
        if name in self._lazy:
            return self._lazy[name][0]
        return brief_of(self.get(name))

    def entries(self) -> list[tuple[ToolBrief, ToolLoader]]:
        """(brief, loader) of every tool in order, building none: what ``merge`` works on."""
        out: list[tuple[ToolBrief, ToolLoader]] = []
        for name in self._names:
            if name in self._lazy:
                out.append(self._lazy[name])
            else:
                tool = self._tools[name]
                out.append((brief_of(tool), functools.partial(_same, tool)))
        return out

    def suggest(self, name: str, limit: int = 3) -> list[str]:
        """Names close to ``name`` (spelling first, then the best search matches)."""
        close = difflib.get_close_matches(name, self._names, n=limit, cutoff=0.6)
        if len(close) < limit:
            for hit in self.search(name, limit=limit):
                if hit.tool.name not in close:
                    close.append(hit.tool.name)
        return close[:limit]

    # -- search ----------------------------------------------------------------------------
    def search(self, query: str, limit: int = 10) -> list[SearchHit]:
        if self._index is None:  # built on first use: most CLI runs never search
            self._index = SearchIndex([self.brief(name) for name in self._names])
        found = self._index.search(query, limit)
        return [SearchHit(self.get(self._names[doc]), score) for doc, score in found]

    # -- exports ---------------------------------------------------------------------------
    def _select(self, names: Iterable[str] | None) -> list[Tool]:
        return list(self) if names is None else [self.get(n) for n in names]

    def to_openai(
        self, names: Iterable[str] | None = None, *, strict: bool = False
    ) -> list[JSONObject]:
        """The Chat Completions ``tools`` array, exactly as it is sent to the model."""
        out: list[JSONObject] = []
        for tool in self._select(names):
            function: JSONObject = {"name": tool.name, "description": tool.description}
            # Strict mode only where the ingester could express the schema for it; a tool
            # without a strict variant is still offered, non-strict.
            if strict and tool.strict_parameters is not None:
                function["parameters"] = tool.strict_parameters
                function["strict"] = True
            else:
                function["parameters"] = tool.parameters
            out.append({"type": "function", "function": function})
        return out

    def to_mcp(self, names: Iterable[str] | None = None) -> list[JSONObject]:
        """MCP ``tools/list`` entries: name, description, inputSchema and behaviour hints."""
        out: list[JSONObject] = []
        for tool in self._select(names):
            side_effect = tool.binding.side_effect
            annotations: JSONObject = {
                "readOnlyHint": side_effect == "safe",
                "idempotentHint": side_effect != "unsafe",
                "destructiveHint": tool.binding.method == "DELETE",
                "openWorldHint": True,
            }
            if tool.summary:
                annotations["title"] = tool.summary
            out.append(
                {
                    "name": tool.name,
                    "description": tool.description,
                    "inputSchema": tool.parameters,
                    "annotations": annotations,
                }
            )
        return out

    def to_json(self) -> JSONObject:
        """A JSON-ready dict of the whole catalog (the resolver is not data and is dropped)."""
        tools = [t.model_dump(mode="json", exclude_defaults=True) for t in self]
        return {**self.metadata_json(), "tools": tools}

    def metadata_json(self) -> JSONObject:
        """Everything but the tools, JSON-ready: shared by ``to_json`` and the cache's header,
        so that the two layouts cannot drift apart."""
        return {
            "format": CATALOG_FORMAT,
            "title": self._title,
            "source": self._source,
            "spec_hash": self._spec_hash,
            "warnings": list(self._warnings),
            "security_schemes": {
                k: v.model_dump(mode="json", exclude_defaults=True)
                for k, v in self._schemes.items()
            },
        }

    @classmethod
    def from_json(
        cls, data: Mapping[str, Any], *, schema_resolver: SchemaResolver | None = None
    ) -> Catalog:
        """Rebuild a catalog from ``to_json`` output, validating every tool."""
        if data.get("format") != CATALOG_FORMAT:
            raise ValueError(
                f"not a Baton catalog of format {CATALOG_FORMAT!r}: got {data.get('format')!r}"
            )
        tools = (Tool.model_validate(t) for t in data["tools"])
        return cls(tools, **metadata_from_json(data), schema_resolver=schema_resolver)

    # -- responses -------------------------------------------------------------------------
    def response_schema(
        self, tool: str, status: int, media_type: str | None = None
    ) -> JSONObject | None:
        """The declared schema of ``tool``'s response for ``status``, or None if undeclared.

        OpenAPI precedence: the exact status code wins over a range ("2XX"), which wins over
        "default". Built on first use through the spec's resolver, then remembered.
        """
        ref = choose_response(self.get(tool).binding.responses, status, media_type)
        resolver = self._resolver_for(tool)
        if ref is None or ref.pointer is None or resolver is None:
            return None
        key = (tool, ref.pointer)
        if key not in self._resolved:
            self._resolved[key] = resolver(ref.pointer)
        return self._resolved[key]

    # -- merging ---------------------------------------------------------------------------
    @classmethod
    def merge(cls, catalogs: Sequence[Catalog]) -> Catalog:
        """One catalog over several specs. A name found in more than one spec is prefixed
        with a short name of its spec in every spec that has it; unique names stay as they are.
        """
        if len(catalogs) == 1:
            return catalogs[0]
        from tools.catalog_merge import merge_catalogs

        parts = merge_catalogs(catalogs)
        merged = cls.from_briefs(
            parts.entries,
            security_schemes=parts.security_schemes,
            title=" + ".join(c.title or c.source for c in catalogs),
            source=" ".join(c.source for c in catalogs),
            spec_hash=hashlib.sha256(" ".join(c.spec_hash for c in catalogs).encode()).hexdigest(),
            warnings=[w for c in catalogs for w in c.warnings],
        )
        merged._resolvers = parts.resolvers
        return merged

    def _resolver_for(self, name: str) -> SchemaResolver | None:
        return self._resolvers.get(name, self._schema_resolver)


def _same(tool: Tool) -> Tool:
    return tool


def metadata_from_json(data: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments of ``Catalog``/``from_briefs`` read back from ``metadata_json``."""
    return {
        "security_schemes": {
            k: SecurityScheme.model_validate(v) for k, v in data["security_schemes"].items()
        },
        "title": data["title"],
        "source": data["source"],
        "spec_hash": data["spec_hash"],
        "warnings": data["warnings"],
    }


def choose_response(
    refs: Sequence[ResponseRef], status: int, media_type: str | None = None
) -> ResponseRef | None:
    """Pick the ResponseRef for ``status``: exact code, then "2XX" range, then "default"."""
    code = str(status)
    for wanted in (code, f"{code[0]}XX", "default"):
        candidates = [r for r in refs if r.status.upper() == wanted.upper()]
        if candidates:
            return _choose_media(candidates, media_type)
    return None


def _base_media(media_type: str | None) -> str:
    return (media_type or "").split(";", 1)[0].strip().lower()


def _choose_media(refs: list[ResponseRef], media_type: str | None) -> ResponseRef:
    wanted = _base_media(media_type)
    if wanted:
        for ref in refs:
            if _base_media(ref.media_type) == wanted:
                return ref
        for ref in refs:  # a declared range such as "application/*" or "*/*"
            declared = _base_media(ref.media_type)
            if declared.endswith("/*") and (declared == "*/*" or wanted.startswith(declared[:-1])):
                return ref
    for ref in refs:  # no match or nothing asked: JSON is what Baton parses best
        base = _base_media(ref.media_type)
        if base == "application/json" or base.endswith("+json"):
            return ref
    return refs[0]
