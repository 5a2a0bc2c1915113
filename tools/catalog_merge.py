"""Merging several catalogs into one: name clashes and security-scheme clashes.

Owns only the renaming rules; ``Catalog.merge`` builds the result. Rules, all deterministic
(catalog order, then tool order):

- A tool name used by more than one spec is prefixed with a short label of its spec
  (``github_get_user``) in every spec that has it, so no spec wins silently. Names that stay
  unique keep their name. The result still matches ``^[a-zA-Z0-9_-]{1,64}$``.
- Two specs' security schemes with the same name and the same definition are shared; with
  different definitions, the later ones are prefixed and their tools' requirements rewritten
  (the credentials variable name derives from the scheme name, so it changes with it).
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from tools.catalog import Catalog, SchemaResolver, ToolLoader
from tools.model import SecurityScheme, Tool
from tools.search import ToolBrief

_MAX_NAME = 64  # OpenAI's limit on a function name
_PREFIX_LEN = 16


@dataclass
class MergedParts:
    entries: list[tuple[ToolBrief, ToolLoader]] = field(default_factory=list)
    security_schemes: dict[str, SecurityScheme] = field(default_factory=dict)
    resolvers: dict[str, SchemaResolver] = field(default_factory=dict)


def _prefixes(catalogs: Sequence[Catalog]) -> list[str]:
    out: list[str] = []
    for i, catalog in enumerate(catalogs):
        prefix = spec_prefix(catalog, i)
        if prefix in out:
            prefix = f"{prefix}{i + 1}"
        out.append(prefix)
    return out


def _merge_schemes(catalog: Catalog, prefix: str, parts: MergedParts) -> dict[str, str]:
    """Add ``catalog``'s schemes to ``parts``; return the renames it needed."""
    renames: dict[str, str] = {}
    for name, scheme in catalog.security_schemes.items():
        existing = parts.security_schemes.get(name)
        if existing is None or existing == scheme:
            parts.security_schemes[name] = scheme
            continue
        new = prefixed_name(prefix, name)
        renames[name] = new
        parts.security_schemes[new] = scheme.model_copy(update={"name": new})
    return renames


def _rename_security(tool: Tool, renames: dict[str, str]) -> Tool:
    if not renames:
        return tool
    security = [
        {renames.get(scheme, scheme): scopes for scheme, scopes in alternative.items()}
        for alternative in tool.binding.security
    ]
    binding = tool.binding.model_copy(update={"security": security})
    return tool.model_copy(update={"binding": binding})


def merge_catalogs(catalogs: Sequence[Catalog]) -> MergedParts:
    """Renamed entries of every catalog; no tool is built (cached catalogs stay lazy)."""
    counts = Counter(name for catalog in catalogs for name in catalog.names())
    taken = {name for name, n in counts.items() if n == 1}
    parts = MergedParts()
    for catalog, prefix in zip(catalogs, _prefixes(catalogs), strict=True):
        renames = _merge_schemes(catalog, prefix, parts)
        for brief, load in catalog.entries():
            name = brief.name
            if counts[name] > 1:
                name = _free(prefixed_name(prefix, brief.name), taken)
                taken.add(name)
            if name != brief.name or renames:
                load = functools.partial(_renamed, load, name, renames)
            parts.entries.append((brief._replace(name=name), load))
            resolver = catalog._resolver_for(brief.name)
            if resolver is not None:
                parts.resolvers[name] = resolver
    return parts


def _renamed(load: ToolLoader, name: str, renames: dict[str, str]) -> Tool:
    tool = _rename_security(load(), renames)
    return tool if tool.name == name else tool.model_copy(update={"name": name})


def _free(candidate: str, taken: set[str]) -> str:
    """``candidate`` or, if a unique name of another spec already has it, a numbered variant."""
    n = 2
    name = candidate
    while name in taken:
        suffix = f"_{n}"
        name = candidate[: _MAX_NAME - len(suffix)] + suffix
        n += 1
    return name


def prefixed_name(prefix: str, name: str) -> str:
    """``prefix_name`` cut to 64 characters; a cut name keeps a hash so it stays unique."""
    full = f"{prefix}_{name}"
    if len(full) <= _MAX_NAME:
        return full
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]  # noqa: S324 - a name, not security
    return f"{full[: _MAX_NAME - 9]}_{digest}"


def spec_prefix(catalog: Catalog, index: int) -> str:
    """A short, name-safe label for a catalog: its title, else its file name, else specN."""
    label = catalog.title or re.sub(r"\.(json|ya?ml)$", "", catalog.source.rsplit("/", 1)[-1])
    words = re.findall(r"[A-Za-z0-9]+", label.lower())
    slug = "_".join(
        w for w in words if w not in {"api", "openapi", "the", "rest", "v1", "v2", "v3"}
    )
    return slug[:_PREFIX_LEN].strip("_") or f"spec{index + 1}"
